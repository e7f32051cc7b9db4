"""User tokens: HS256 JWTs signed with the platform secret, ``sub`` = user id, short expiry.

A token must carry ``sub`` (a valid user id, see ``giftflow.ids``), ``iat`` and ``exp``, and its
lifetime ``exp - iat`` may not exceed the configured maximum (``GIFTFLOW_JWT_MAX_TTL_SECONDS``,
15 minutes by default): a leaked long-lived token cannot be revoked, so none is accepted. A token
issued in the future (``iat`` past now plus the leeway) is refused too; otherwise a far-future
``iat`` would stretch a short lifetime into a long one.

Expiry is checked against giftflow's clock (with leeway), not PyJWT's, so tests can move time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import jwt

from giftflow.errors import Unauthenticated
from giftflow.ids import is_user_id

ALGORITHM = "HS256"
DEFAULT_MAX_TTL_SECONDS = 900
REQUIRED_CLAIMS = ("sub", "iat", "exp")


class TokenRequestInvalid(ValueError):
    """``mint_user_token`` was asked for a token it must not sign (bad user id or lifetime)."""


def mint_user_token(
    user_id: str,
    secret: str,
    now: datetime,
    ttl_seconds: int = 900,
    *,
    max_ttl_seconds: int = DEFAULT_MAX_TTL_SECONDS,
) -> str:
    """A signed token for ``user_id`` valid ``ttl_seconds`` from ``now``.

    Raises ``TokenRequestInvalid`` for an invalid user id or a lifetime outside
    ``1..max_ttl_seconds``, and ``RuntimeError`` when no secret is configured.
    """
    if not secret:
        raise RuntimeError("GIFTFLOW_JWT_SECRET is not set.")
    if not is_user_id(user_id):
        raise TokenRequestInvalid(
            f"{user_id!r} is not a valid user id (1-64 characters of A-Z a-z 0-9 _ . -)."
        )
    if ttl_seconds < 1 or ttl_seconds > max_ttl_seconds:
        raise TokenRequestInvalid(
            f"token lifetime must be between 1 and {max_ttl_seconds} seconds, not {ttl_seconds}."
        )
    payload = {
        "sub": user_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def _numeric_date(value: object) -> int | None:
    """An integer NumericDate claim, or None (``bool`` is an ``int`` to Python, not to us)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def verify_user_token(
    token: str,
    secret: str,
    now: datetime,
    leeway_seconds: int = 30,
    *,
    max_ttl_seconds: int,
) -> str:
    """The user id a valid token speaks for; ``Unauthenticated`` otherwise.

    ``max_ttl_seconds`` is the longest lifetime (``exp - iat``) accepted; the caller passes the
    configured ``Settings.jwt_max_ttl_seconds``.
    """
    return verify_user_token_claims(
        token, secret, now, leeway_seconds, max_ttl_seconds=max_ttl_seconds
    )[0]


def verify_user_token_claims(
    token: str,
    secret: str,
    now: datetime,
    leeway_seconds: int = 30,
    *,
    max_ttl_seconds: int,
) -> tuple[str, int, int]:
    """``verify_user_token``, answering ``(sub, iat, exp)`` of the valid token (what
    ``giftflow.auth.tokencache`` remembers)."""
    if not secret:
        raise Unauthenticated("User tokens are not configured on this server.")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "require": list(REQUIRED_CLAIMS),
            },
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated("The token is not valid.", reason=type(exc).__name__) from exc
    exp = _numeric_date(claims.get("exp"))
    iat = _numeric_date(claims.get("iat"))
    if exp is None or iat is None:
        raise Unauthenticated("The token's iat and exp must be integers.", reason="bad_claims")
    if exp <= iat:
        raise Unauthenticated("The token expires before it was issued.", reason="bad_claims")
    if exp - iat > max_ttl_seconds:
        raise Unauthenticated(
            f"The token's lifetime (exp - iat) must be at most {max_ttl_seconds} seconds.",
            reason="lifetime_too_long",
        )
    moment = now.timestamp()
    if iat > moment + leeway_seconds:
        raise Unauthenticated("The token was issued in the future.", reason="issued_in_future")
    if moment > exp + leeway_seconds:
        raise Unauthenticated("The token has expired.", reason="expired")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not is_user_id(sub):
        raise Unauthenticated("The token's sub is not a valid user id.", reason="bad_subject")
    return sub, iat, exp
