"""One error base class and every stable error code giftflow answers with.

Each error carries a stable machine-readable ``code``, an HTTP ``status``, a human ``message`` and
optional ``details``. The API maps every ``GiftflowError`` to
``{"error": {"code", "message", "details"}}`` in one handler; ``docs/errors.md`` lists the codes.
"""

from __future__ import annotations

from typing import Any, ClassVar


class GiftflowError(Exception):
    """Base of every error giftflow reports to a caller."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Internal error."

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details: dict[str, Any] = details
        super().__init__(self.message)

    def to_body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}

    def headers(self) -> dict[str, str]:
        return {}


# --- input ---------------------------------------------------------------------------------
class ValidationFailed(GiftflowError):
    code, status, default_message = "validation_error", 422, "The request is not valid."


class UnknownAsset(GiftflowError):
    code, status, default_message = "unknown_asset", 422, "Unknown asset."


class InvalidAmount(GiftflowError):
    code, status, default_message = "invalid_amount", 422, "The amount is not valid."


class InvalidAccount(GiftflowError):
    code, status, default_message = "invalid_account", 422, "The account path is not valid."


class InvalidPolicy(GiftflowError):
    code, status, default_message = "invalid_policy", 422, "The economy policy is not valid."


class InvalidJson(GiftflowError):
    code, status = "invalid_json", 400
    default_message = "The body is not valid JSON (syntax, a duplicate key, or nested too deep)."


class UnsupportedMediaType(GiftflowError):
    code, status = "unsupported_media_type", 415
    default_message = "Send the body as JSON, with 'Content-Type: application/json'."


class RequestTooLarge(GiftflowError):
    code, status, default_message = "request_too_large", 413, "The request body is too large."


class AmountLimitExceeded(GiftflowError):
    code, status = "amount_limit_exceeded", 422
    default_message = "The amount, or the balance it would leave, passes the asset's maximum."


class AccountReserved(GiftflowError):
    code, status = "account_reserved", 422
    default_message = "This account belongs to a ledger mechanism and cannot be used directly."


class CoinsNotTransferable(GiftflowError):
    code, status = "coins_not_transferable", 422
    default_message = "Coins cannot be moved from one user to another."


class UserNotFound(GiftflowError):
    code, status = "user_not_found", 422
    default_message = "No such user: the platform must create it first (PUT /v1/users/{id})."


# --- auth ----------------------------------------------------------------------------------
class Unauthenticated(GiftflowError):
    code, status, default_message = "unauthenticated", 401, "Missing or invalid credentials."

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(GiftflowError):
    code, status, default_message = "forbidden", 403, "These credentials may not do this."


class CsrfFailed(GiftflowError):
    code, status = "csrf_failed", 403
    default_message = "Send the console's CSRF token in X-CSRF-Token (or the form's csrf field)."


class NotFound(GiftflowError):
    code, status, default_message = "not_found", 404, "No such resource."


# --- idempotency ---------------------------------------------------------------------------
class IdempotencyKeyRequired(GiftflowError):
    code, status = "idempotency_key_required", 400
    default_message = "This request moves value and needs an Idempotency-Key header."


class IdempotencyKeyReused(GiftflowError):
    code, status = "idempotency_key_reused", 409
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyKeyInFlight(GiftflowError):
    code, status = "idempotency_key_in_flight", 409
    default_message = "A request with this Idempotency-Key is still being processed."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


# --- ledger --------------------------------------------------------------------------------
class InsufficientFunds(GiftflowError):
    code, status, default_message = "insufficient_funds", 409, "The balance is too low."


class UnbalancedTransaction(GiftflowError):
    code, status, default_message = "unbalanced_transaction", 422, "The transaction is unbalanced."


class AlreadyReversed(GiftflowError):
    code, status, default_message = "already_reversed", 409, "This transaction was reversed."


class NotReversible(GiftflowError):
    code, status, default_message = "not_reversible", 409, "This transaction cannot be reversed."


class PendingTransferNotPending(GiftflowError):
    code, status = "pending_transfer_not_pending", 409
    default_message = "The pending transfer was already posted or voided."


class PendingTransferExpired(GiftflowError):
    code, status, default_message = "pending_transfer_expired", 409, "The pending transfer expired."


class PendingTransferNotExpired(GiftflowError):
    code, status = "pending_transfer_not_expired", 409
    default_message = "The pending transfer has not expired yet."


class PendingTransferSubmitted(GiftflowError):
    code, status = "pending_transfer_submitted", 409
    default_message = "The pending transfer was submitted to an outside party; it cannot expire."


class WriterOverloaded(GiftflowError):
    code, status = "overloaded", 503
    default_message = "The ledger writer is at capacity; retry shortly."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class WriterUnavailable(GiftflowError):
    code, status, default_message = "unavailable", 503, "The ledger writer is not running."

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "2"}


# --- wallet and payments -------------------------------------------------------------------
class NoPriceList(GiftflowError):
    code, status = "no_price_list", 422
    default_message = "The policy has no price list for this region, channel and currency."


class UnknownPack(GiftflowError):
    code, status, default_message = "unknown_pack", 422, "No coin pack of this size is sold."


class UnknownProvider(GiftflowError):
    code, status = "unknown_provider", 422
    default_message = "This payment provider is not configured (sandbox, stripe, appstore)."


class PaymentDeclined(GiftflowError):
    code, status, default_message = "payment_declined", 402, "The payment was declined."


class RefundNotAllowed(GiftflowError):
    code, status = "refund_not_allowed", 409
    default_message = "This purchase cannot be refunded (see details.reason)."


class AccountFrozen(GiftflowError):
    code, status = "account_frozen", 409
    default_message = "Spending is frozen until a chargeback on this account is settled."


class CapExceeded(GiftflowError):
    code, status = "cap_exceeded", 409
    default_message = "This would pass a spending cap (see details.rule and details.resets_at)."


class AgeRestricted(GiftflowError):
    code, status = "age_restricted", 409
    default_message = "Users below the policy's minimum age cannot do this."


class PurchasesDisabled(GiftflowError):
    code, status = "purchases_disabled", 409
    default_message = "A guardian has turned purchases off for this account."


class ItemUnavailable(GiftflowError):
    code, status, default_message = "item_unavailable", 409, "This item is not on sale."


# --- LIVE gifting ------------------------------------------------------------------------------
class UnknownGift(GiftflowError):
    code, status, default_message = "unknown_gift", 422, "No such gift in the catalog."


class GiftUnavailable(GiftflowError):
    code, status = "gift_unavailable", 409
    default_message = "This gift is not available here or now (see details.reason)."


class LiveNotActive(GiftflowError):
    code, status, default_message = "live_not_active", 409, "This live has ended."


class CreatorNotEligible(GiftflowError):
    code, status = "creator_not_eligible", 409
    default_message = "The creator cannot receive gifts (see details.reason)."
    # details.reason → the message a person reads (the reason stays the stable field)
    REASONS: ClassVar[dict[str, str]] = {
        "frozen": "the creator's account is frozen",
        "followers": "the creator has fewer followers than the policy requires "
        "(details.followers_needed)",
        "age_unknown": "the creator's date of birth is not known",
        "under_age": "the creator is under the policy's minimum age to receive gifts",
        "user_not_found": "the creator is not a user of the platform",
    }

    def __init__(self, message: str | None = None, **details: Any) -> None:
        reason = self.REASONS.get(str(details.get("reason")))
        if message is None and reason is not None:
            message = f"The creator cannot receive gifts: {reason}."
        super().__init__(message, **details)


class SelfGift(GiftflowError):
    code, status, default_message = "self_gift", 409, "You cannot send a gift to yourself."


class SubscribersOnly(GiftflowError):
    code, status = "subscribers_only", 409
    default_message = "This live is for the creator's subscribers only."


class RecipientNotInLive(GiftflowError):
    code, status = "recipient_not_in_live", 409
    default_message = "The recipient is neither the live's host nor one of its co-hosts."


class NoSubscriptionPlan(GiftflowError):
    code, status = "no_subscription_plan", 409
    default_message = "This creator offers no subscription (or the policy disables them)."


class LiveAlreadyActive(GiftflowError):
    code, status = "live_already_active", 409
    default_message = "This creator already has a live in progress (see details.live_id)."


# --- creator earnings and payouts --------------------------------------------------------------
class KycRequired(GiftflowError):
    code, status = "kyc_required", 409
    default_message = "Identity verification is needed first (see details.kyc_status)."


class SecondFactorRequired(GiftflowError):
    code, status = "second_factor_required", 409
    default_message = "Enrol and confirm a second factor (POST /v1/creator/totp) first."


class SecondFactorInvalid(GiftflowError):
    code, status = "second_factor_invalid", 409
    default_message = "The second-factor code is wrong, expired or already used."


class SecondFactorLocked(GiftflowError):
    code, status = "second_factor_locked", 429
    default_message = "Too many wrong codes: withdrawals are locked for a while."

    def headers(self) -> dict[str, str]:
        retry = self.details.get("retry_after_seconds")
        return {"Retry-After": str(retry)} if retry is not None else {}


class BelowMinimum(GiftflowError):
    code, status = "below_minimum", 409
    default_message = "This is below the policy's minimum withdrawal."


class WithdrawalLimitExceeded(GiftflowError):
    code, status = "withdrawal_limit_exceeded", 409
    default_message = "This passes a daily or weekly withdrawal maximum (see details)."


class MethodCoolingOff(GiftflowError):
    code, status = "method_cooling_off", 409
    default_message = "This payout method is new or changed and cannot be used yet."


class ExchangeUnavailable(GiftflowError):
    code, status = "exchange_unavailable", 409
    default_message = "Exchanging diamonds for coins is not offered here."


class InvalidTransition(GiftflowError):
    code, status = "invalid_transition", 409
    default_message = "This cannot happen in the current state (see details.state)."


class InvalidSignature(GiftflowError):
    code, status = "invalid_signature", 400
    default_message = "The webhook's signature, certificate chain or timestamp is not valid."


class ProviderError(GiftflowError):
    code, status = "provider_error", 502
    default_message = "The payment provider could not be reached or refused the call; retry."


class LedgerWriteFailed(GiftflowError):
    code, status = "ledger_write_failed", 500
    default_message = "The write could not be committed; it may be retried with the same key."


class FlagAlreadyResolved(GiftflowError):
    code, status = "flag_already_resolved", 409
    default_message = "This fraud flag is already resolved (details say how and by whom)."


def all_error_classes() -> list[type[GiftflowError]]:
    """Every concrete error class, for docs and tests."""
    seen: list[type[GiftflowError]] = []
    stack: list[type[GiftflowError]] = [GiftflowError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return sorted(seen, key=lambda c: (c.status, c.code))


# --- operators: policy versions (issue 11) ---------------------------------------------------
class PolicyVersionExists(GiftflowError):
    code, status = "policy_version_exists", 409
    default_message = "This policy version is already stored; versions are immutable."


# --- LIVE engagement (issue 10) ---------------------------------------------------------------
class GoalLimitReached(GiftflowError):
    code, status = "goal_limit_reached", 409
    default_message = "This live already has the most goals the policy allows (details.maximum)."
