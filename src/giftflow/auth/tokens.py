"""User tokens: HS256 JWTs signed with the platform secret, ``sub`` = user id, short expiry.

Expiry is checked against giftflow's clock (with leeway), not PyJWT's, so tests can move time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

from giftflow.errors import Unauthenticated

ALGORITHM = "HS256"


def mint_user_token(user_id: str, secret: str, now: datetime, ttl_seconds: int = 900) -> str:
    if not secret:
        raise RuntimeError("GIFTFLOW_JWT_SECRET is not set.")
    payload = {
        "sub": user_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify_user_token(token: str, secret: str, now: datetime, leeway_seconds: int = 30) -> str:
    """The user id a valid token speaks for; ``Unauthenticated`` otherwise."""
    if not secret:
        raise Unauthenticated("User tokens are not configured on this server.")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "require": ["sub", "exp"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated("The token is not valid.", reason=type(exc).__name__) from exc
    exp = claims.get("exp")
    if not isinstance(exp, int) or now.timestamp() > exp + leeway_seconds:
        raise Unauthenticated("The token has expired.", reason="expired")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        raise Unauthenticated("The token names no user.")
    return sub
