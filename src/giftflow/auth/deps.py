"""FastAPI dependencies that yield the calling principal."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request

from giftflow.auth.apikeys import KEY_PREFIX, find_api_key
from giftflow.auth.principal import Principal
from giftflow.auth.tokens import verify_user_token
from giftflow.errors import Unauthenticated
from giftflow.http.context import AppContext, get_context


def get_principal(request: Request, ctx: AppContext = Depends(get_context)) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Send 'Authorization: Bearer <API key or user token>'.")
    credential = credential.strip()
    if credential.startswith(KEY_PREFIX):
        with ctx.engine.connect() as conn:
            record = find_api_key(conn, credential)
        if record is None:
            raise Unauthenticated("Unknown or revoked API key.")
        return Principal("api_key", f"apikey:{record.id}", record.scopes)
    user_id = verify_user_token(
        credential, ctx.settings.jwt_secret, ctx.clock.now(), ctx.settings.jwt_leeway_seconds
    )
    return Principal("user", f"user:{user_id}", user_id=user_id)


def require_scope(*any_of: str) -> Callable[[Principal], Principal]:
    def dependency(principal: Principal = Depends(get_principal)) -> Principal:
        principal.require_scope(*any_of)
        return principal

    return dependency


def require_user(principal: Principal = Depends(get_principal)) -> Principal:
    principal.require_user()
    return principal
