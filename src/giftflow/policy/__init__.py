"""GET /v1/policy: the economy policy in force."""
