"""KYC status and the second factor: TOTP (RFC 6238: 6 digits, 30 s, SHA-1, as every
authenticator app does it) with ten single-use recovery codes.

- ``enrol`` makes a *pending* credential with a new secret (sealed at rest, see ``crypto``) and
  returns it once, as an ``otpauth://`` URI and a QR code. A pending credential may be replaced
  freely; a confirmed (*active*) one only with a current code or a recovery code of it, so a
  stolen user token alone cannot swap the factor.
- ``confirm`` activates the pending credential with a code of it and returns ten recovery codes,
  once; only their argon2id hashes are kept.
- ``verify_second_factor`` is what other features call (payout methods, withdrawals). A TOTP code
  is accepted at the current step or one either side, and only if its step is after the last one
  accepted (a code works once); a recovery code works once. Every failure is counted and
  committed even though the request fails; the fifth locks the factor (and so withdrawals) for
  15 minutes, during which even a right code is refused; a success clears the count.

Recovery codes are compared with argon2 *before* the verification's transaction (that is the
slow part), and the match is then claimed inside it with ``UPDATE … WHERE used_at IS NULL``, so
the row lock is held for microseconds and a racing request cannot use the same code twice.
"""

from __future__ import annotations

import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, cast

import pyotp
import segno
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from giftflow.clock import rfc3339
from giftflow.context import AppContext
from giftflow.db import unit_of_work
from giftflow.earnings.identity import repository
from giftflow.earnings.identity.crypto import Sealer, sealer_for
from giftflow.earnings.identity.repository import Conn, CredentialRow
from giftflow.earnings.identity.schemas import (
    ConfirmedOut,
    EnrolmentOut,
    IdentityOut,
    KycStatus,
    SecondFactorOut,
    VerifiedOut,
)
from giftflow.errors import (
    GiftflowError,
    InvalidTransition,
    SecondFactorInvalid,
    SecondFactorLocked,
    SecondFactorRequired,
    UserNotFound,
)

ISSUER = "giftflow"
DIGITS = 6
PERIOD_SECONDS = 30
VALID_WINDOW = 1  # steps accepted either side of the current one
MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)
RECOVERY_CODE_COUNT = 10
# lowercase letters without i, l and o (read aloud or written down, they are mistaken): 23**12
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz"
RECOVERY_GROUPS, RECOVERY_GROUP_LEN = 3, 4
# OWASP's minimum for argon2id (19 MiB, 2 passes): the codes are random (54 bits), the hash only
# has to make a stolen table useless, not to stretch a weak password.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

CodeKind = Literal["totp", "recovery_code", "malformed"]


def sealer(ctx: AppContext) -> Sealer:
    """The sealer of the configured key (``secrets_unavailable`` without one)."""
    return sealer_for(ctx.settings.secrets_key)


def _seal_context(user_id: str) -> str:
    return f"totp:{user_id}"


# --- codes (pure) --------------------------------------------------------------------------
def new_recovery_code() -> str:
    """``abcd-efgh-jkmn``: twelve random letters from ``secrets``."""
    letters = "".join(
        secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP_LEN)
    )
    return "-".join(
        letters[i : i + RECOVERY_GROUP_LEN] for i in range(0, len(letters), RECOVERY_GROUP_LEN)
    )


def classify(code: str) -> tuple[CodeKind, str]:
    """What a submitted code is, and its canonical form (spaces, hyphens and case ignored)."""
    compact = code.replace(" ", "").replace("-", "").lower()
    if len(compact) == DIGITS and compact.isascii() and compact.isdigit():
        return "totp", compact
    if len(compact) == RECOVERY_GROUPS * RECOVERY_GROUP_LEN and all(
        c in RECOVERY_ALPHABET for c in compact
    ):
        return "recovery_code", compact
    return "malformed", compact


def hash_recovery_code(code: str) -> str:
    return _HASHER.hash(classify(code)[1])


def _hash_matches(code_hash: str, canonical: str) -> bool:
    try:
        return _HASHER.verify(code_hash, canonical)
    except (VerificationError, InvalidHashError):
        return False


def totp_for(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD_SECONDS)


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The step (current ± VALID_WINDOW) whose code is ``code`` and that comes after
    ``last_step``; the latest such step, or None."""
    totp = totp_for(secret)
    current = totp.timecode(now)
    for step in range(current + VALID_WINDOW, current - VALID_WINDOW - 1, -1):
        if last_step is not None and step <= last_step:
            break
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrolment(user_id: str, secret: str) -> EnrolmentOut:
    uri = totp_for(secret).provisioning_uri(name=user_id, issuer_name=ISSUER)
    qr = segno.make(uri, error="m")
    return EnrolmentOut(
        otpauth_uri=uri,
        secret=secret,
        qr_svg=qr.svg_inline(scale=4, title=f"{ISSUER}: {user_id}"),
        qr_data_uri=qr.svg_data_uri(scale=4),
        issuer=ISSUER,
        account_name=user_id,
        digits=DIGITS,
        period_seconds=PERIOD_SECONDS,
    )


# --- views ---------------------------------------------------------------------------------
def _factor_out(row: CredentialRow | None, codes_left: int, now: datetime) -> SecondFactorOut:
    if row is None:
        return SecondFactorOut(
            state="none", confirmed_at=None, recovery_codes_left=0, locked_until=None
        )
    return SecondFactorOut(
        state="active" if row.state == "active" else "pending",
        confirmed_at=rfc3339(row.confirmed_at) if row.confirmed_at else None,
        recovery_codes_left=codes_left if row.state == "active" else 0,
        locked_until=rfc3339(row.locked_until) if row.locked_until and row.locked_at(now) else None,
    )


def status(ctx: AppContext, user_id: str) -> SecondFactorOut:
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        row = repository.credential(conn, user_id)
        left = repository.recovery_codes_left(conn, user_id) if row is not None else 0
    return _factor_out(row, left, now)


def identity(ctx: AppContext, user_id: str) -> IdentityOut:
    """Where a creator stands: KYC (``unverified`` until the platform says otherwise) and the
    second factor."""
    now = ctx.clock.now()
    policy = ctx.policies.in_force(now)
    with ctx.engine.connect() as conn:
        kyc = repository.user_kyc_status(conn, user_id) or "unverified"
        row = repository.credential(conn, user_id)
        left = repository.recovery_codes_left(conn, user_id) if row is not None else 0
    return IdentityOut(
        user_id=user_id,
        kyc_status=cast(KycStatus, kyc),  # PUT /v1/users/{id} lets only the four in
        kyc_required=policy.cashout.kyc_required,
        second_factor=_factor_out(row, left, now),
    )


# --- verification --------------------------------------------------------------------------
def _refuse_unusable(row: CredentialRow | None, now: datetime) -> CredentialRow:
    """The active credential, or the refusal that comes before any code is looked at."""
    if row is None or row.state != "active":
        raise SecondFactorRequired(state="pending" if row is not None else "none")
    if row.locked_until is not None and row.locked_at(now):
        raise _locked(row.locked_until, now)
    return row


def _locked(until: datetime, now: datetime) -> SecondFactorLocked:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return SecondFactorLocked(retry_after_seconds=seconds, locked_until=rfc3339(until))


@dataclass(frozen=True, slots=True)
class Attempt:
    """A submitted code, with what could be worked out before the transaction."""

    kind: CodeKind
    canonical: str
    recovery_hash: str | None  # the stored hash an unused recovery code matched


def prepare(ctx: AppContext, user_id: str, code: str) -> Attempt:
    """Classify the code; for a recovery code, find its hash among the unused ones (argon2,
    outside any transaction). Nothing is decided here: the transaction checks again."""
    kind, canonical = classify(code)
    found: str | None = None
    if kind == "recovery_code":
        now = ctx.clock.now()
        with ctx.engine.connect() as conn:
            row = repository.credential(conn, user_id)
            hashes: list[str] = []
            if row is not None and row.state == "active" and not row.locked_at(now):
                hashes = repository.unused_recovery_hashes(conn, user_id)
        found = next((h for h in hashes if _hash_matches(h, canonical)), None)
    return Attempt(kind, canonical, found)


def _attempt(
    conn: Conn,
    row: CredentialRow,
    attempt: Attempt,
    now: datetime,
    seal: Sealer | None,
) -> GiftflowError | None:
    """Check the code against the locked, active ``row`` and write the outcome (success or a
    counted failure) on ``conn``; returns the refusal to raise once this transaction commits."""
    ok = False
    step = row.last_step
    if attempt.kind == "totp":
        assert seal is not None
        secret = str(seal.open(row.secret_encrypted, _seal_context(row.user_id)))
        found = matching_step(secret, attempt.canonical, now, row.last_step)
        if found is not None:
            ok, step = True, found
    elif attempt.kind == "recovery_code" and attempt.recovery_hash is not None:
        ok = repository.use_recovery_code(conn, row.user_id, attempt.recovery_hash, now)
    if ok:
        repository.record_success(conn, row.user_id, step)
        return None
    failures = row.failures + 1
    if failures >= MAX_FAILURES:
        until = now + LOCK_DURATION
        repository.record_failure(conn, row.user_id, 0, until)
        return _locked(until, now)
    repository.record_failure(conn, row.user_id, failures, None)
    return SecondFactorInvalid(attempts_left=MAX_FAILURES - failures)


def verify(ctx: AppContext, user_id: str, code: str) -> VerifiedOut:
    """Check a code of the user's active second factor, counting a failure (committed even
    though the request fails); ``POST /v1/creator/totp/verify`` and every feature that needs the
    factor come here."""
    attempt = prepare(ctx, user_id, code)
    seal = sealer(ctx) if attempt.kind == "totp" else None
    now = ctx.clock.now()
    with unit_of_work(ctx.engine) as conn:
        row = _refuse_unusable(repository.credential(conn, user_id, lock=True), now)
        failure = _attempt(conn, row, attempt, now, seal)
        left = repository.recovery_codes_left(conn, user_id)
    if failure is not None:
        raise failure  # after the commit: the failure is counted
    method: Literal["totp", "recovery_code"] = "totp" if attempt.kind == "totp" else "recovery_code"
    return VerifiedOut(method=method, recovery_codes_left=left)


def verify_second_factor(ctx: AppContext, user_id: str, code: str) -> None:
    """Accept ``code`` (TOTP or recovery code) once, or raise ``SecondFactorRequired`` (no
    active factor), ``SecondFactorInvalid`` (counted) or ``SecondFactorLocked`` (429)."""
    verify(ctx, user_id, code)


# --- enrolment -----------------------------------------------------------------------------
def enrol(ctx: AppContext, user_id: str, code: str | None) -> EnrolmentOut:
    """Create or replace the user's pending credential; replacing an active one needs a code of
    it (checked, and counted when wrong, like any verification)."""
    seal = sealer(ctx)
    secret = pyotp.random_base32()  # 32 base32 characters: 160 bits, RFC 4226's recommendation
    sealed = seal.seal(secret, _seal_context(user_id))
    attempt = prepare(ctx, user_id, code) if code is not None else None
    now = ctx.clock.now()
    failure: GiftflowError | None = None
    with unit_of_work(ctx.engine) as conn:
        if repository.user_kyc_status(conn, user_id) is None:
            raise UserNotFound(
                f"No user {user_id!r}: the platform creates it first.", users=[user_id]
            )
        row = repository.credential(conn, user_id, lock=True)
        if row is None and not repository.insert_pending(conn, user_id, sealed, now):
            # a racing enrolment inserted one meanwhile: take its lock and decide again
            row = repository.credential(conn, user_id, lock=True)
            assert row is not None
        if row is not None and row.state == "active":
            if attempt is None:
                raise SecondFactorInvalid(
                    "A confirmed second factor exists: send a current code (or a recovery code) "
                    "of it as 'code' to replace it.",
                    reason="code_required",
                )
            failure = _attempt(conn, _refuse_unusable(row, now), attempt, now, seal)
        if row is not None and failure is None:
            repository.replace_pending(conn, user_id, sealed, now)
            repository.delete_recovery_codes(conn, user_id)
    if failure is not None:
        raise failure
    return enrolment(user_id, secret)


def confirm(ctx: AppContext, user_id: str, code: str) -> ConfirmedOut:
    """Activate the pending credential with a current code of it; returns the ten recovery
    codes, this once."""
    seal = sealer(ctx)
    now = ctx.clock.now()
    with ctx.engine.connect() as conn:
        seen = repository.credential(conn, user_id)
    if seen is None:
        raise SecondFactorRequired("Nothing to confirm: enrol first (POST /v1/creator/totp).")
    if seen.state == "active":
        raise InvalidTransition("The second factor is already confirmed.", state="active")
    kind, canonical = classify(code)
    secret = str(seal.open(seen.secret_encrypted, _seal_context(user_id)))
    step = matching_step(secret, canonical, now, seen.last_step) if kind == "totp" else None
    if step is None:
        raise SecondFactorInvalid("The code is not the authenticator's current code.")
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        candidate = new_recovery_code()
        if candidate not in codes:
            codes.append(candidate)
    hashes = [hash_recovery_code(c) for c in codes]  # the slow part, outside the transaction
    with unit_of_work(ctx.engine) as conn:
        row = repository.credential(conn, user_id, lock=True)
        if row is None or row.secret_encrypted != seen.secret_encrypted:
            raise SecondFactorInvalid("The enrolment was replaced meanwhile: scan the new one.")
        if row.state == "active":
            raise InvalidTransition("The second factor is already confirmed.", state="active")
        if row.last_step is not None and step <= row.last_step:
            raise SecondFactorInvalid()
        repository.activate(conn, user_id, step, now)
        repository.replace_recovery_codes(conn, user_id, hashes, now)
        row = repository.credential(conn, user_id)
    assert row is not None
    out = _factor_out(row, RECOVERY_CODE_COUNT, now)
    return ConfirmedOut(**out.model_dump(exclude={"object"}), recovery_codes=codes)


# --- key rotation --------------------------------------------------------------------------
def reseal_all(ctx: AppContext) -> int:
    """Re-seal every second-factor secret under the first key of ``GIFTFLOW_SECRETS_KEY`` (after
    a new key was put first); returns how many changed. Then the old key can be dropped."""
    seal = sealer(ctx)
    changed = 0
    with unit_of_work(ctx.engine) as conn:
        for user_id, token in repository.sealed_secrets(conn, lock=True):
            if not seal.is_current(token):
                repository.set_secret(conn, user_id, seal.reseal(token))
                changed += 1
    return changed
