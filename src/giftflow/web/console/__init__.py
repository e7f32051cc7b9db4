"""The web console: server-rendered pages whose scripts call the same ``/v1`` API as any app."""
