"""``Cache-Control: no-store`` on the API's reads unless a route says otherwise.

Wallets, transactions, statements and the back office's lists are one person's or one operator's
data: no browser or proxy should keep a copy (a shared computer's disk cache, a proxy that
caches cookie-authenticated answers). A plain ASGI middleware that looks only at ``GET`` and
``HEAD`` under ``/v1/`` and adds the header to answers that carry no ``Cache-Control`` of their
own (the gift catalog sets ``private, no-cache`` with its ``ETag``; streams set ``no-cache``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/v1/"
NO_STORE = (b"cache-control", b"no-store")


class NoStore:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or not scope["path"].startswith(API_PREFIX)
        ):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append(NO_STORE)
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_no_store)
