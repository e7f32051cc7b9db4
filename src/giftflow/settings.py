"""The one settings object, read from the environment (``GIFTFLOW_*``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GIFTFLOW_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///giftflow.db",
        description="SQLAlchemy URL: a SQLite file by default, or postgresql+psycopg://…",
    )
    jwt_secret: str = Field(default="", description="HS256 secret for user tokens (required).")
    jwt_ttl_seconds: int = Field(default=900, description="Lifetime of tokens minted by giftflow.")
    jwt_leeway_seconds: int = Field(default=30, description="Clock skew tolerated on exp/iat.")
    jwt_max_ttl_seconds: int = Field(
        default=900, description="Longest accepted token lifetime (exp - iat); longer is refused."
    )
    max_request_bytes: int = Field(
        default=65536, description="Largest request body accepted (413 request_too_large)."
    )
    writer_max_batch: int = Field(default=1000, description="Most commands in one commit.")
    writer_queue_limit: int = Field(default=20000, description="Queued commands before 503.")
    writer_shard: int | None = Field(
        default=None, description="Shard of hot platform accounts; default: derived from the pid."
    )
    idempotency_retention_hours: int = Field(default=48, description="Keys kept at least this.")
    pending_sweep_seconds: float = Field(default=5.0, description="How often expiry runs.")
    policy_profile: str = Field(default="standard", description="Economy policy profile.")
    payment_providers: str = Field(
        default="sandbox,stripe,appstore",
        description="Providers a purchase may name (comma-separated); sandbox is the default.",
    )
    stripe_api_key: str = Field(
        default="", description="Stripe secret key (sk_…) for PaymentIntents."
    )
    stripe_webhook_secret: str = Field(default="", description="Signing secret (whsec_…).")
    stripe_api_base: str = Field(
        default="https://api.stripe.com", description="Stripe API address (a stub in tests)."
    )
    appstore_bundle_id: str = Field(default="", description="The app's bundle id.")
    appstore_app_apple_id: int | None = Field(default=None, description="Apple id (production).")
    appstore_environment: str = Field(default="Sandbox", description="Sandbox or Production.")
    appstore_root_certificates: str = Field(
        default="", description="Comma-separated paths of Apple root certificates (DER)."
    )
    secrets_key: str = Field(
        default="",
        description="Key that encrypts second-factor secrets and payout details at rest "
        "(urlsafe base64 of 32 bytes, `giftflow` derives a Fernet key from it); required for "
        "second factors and payout methods.",
    )
    paypal_client_id: str = Field(default="", description="PayPal Payouts client id.")
    paypal_client_secret: str = Field(default="", description="PayPal Payouts client secret.")
    paypal_api_base: str = Field(
        default="https://api-m.sandbox.paypal.com", description="PayPal API address."
    )
    paypal_webhook_id: str = Field(default="", description="PayPal webhook id (verification).")
    payout_provider: str = Field(
        default="sandbox",
        description="Who pays PayPal-e-mail payout methods: sandbox (embedded) or paypal (needs "
        "the GIFTFLOW_PAYPAL_* settings); bank accounts are paid through the sandbox.",
    )
    sandbox_payout_settle_seconds: int = Field(
        default=10, ge=0, description="How long a sandbox payout stays PENDING before it ends."
    )
    sandbox_payout_webhook_secret: str = Field(
        default="",
        description="HMAC key of the sandbox payout webhooks; empty: derived from "
        "GIFTFLOW_JWT_SECRET (unique to the installation, the same in every server process).",
    )
    redis_url: str = Field(
        default="",
        description="Redis for room fan-out between server processes (redis://…); empty: one "
        "process, an in-process bus.",
    )
    realtime_flush_ms: int = Field(
        default=50, ge=1, le=2000, description="How long a room gathers events into one frame."
    )
    realtime_ping_seconds: float = Field(default=15.0, description="Keep-alive on room streams.")
    realtime_queue_frames: int = Field(
        default=256, ge=1, description="Frames a slow subscriber may have queued before coalescing."
    )
    realtime_max_frame_events: int = Field(
        default=2000, ge=1, description="A coalesced frame past this drops the slow subscriber."
    )
    engagement_tick_ms: int = Field(
        default=250,
        ge=0,
        le=60_000,
        description="How often leaderboard snapshots, battle scores and deadlines and "
        "subscription renewals run (0: never in the background; tests call them directly).",
    )
    room_event_retention_hours: int = Field(
        default=24, ge=1, description="Room events kept for resume; older ones are purged."
    )
    gc_tuning: bool = Field(
        default=False,
        description="Freeze the objects alive at startup and collect garbage less often "
        "(`giftflow serve` turns it on: ~20% less CPU per gift, half the stream p99).",
    )
    console_session_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="How long a console sign-in lasts."
    )
    demo_signin: bool = Field(
        default=False,
        description="Accept the one-click sign-in links `giftflow demo` prints (never in "
        "production: anyone holding such a link is signed in; `make run` turns it on).",
    )
    demo_link_minutes: int = Field(
        default=60, ge=1, le=24 * 60, description="How long a demo sign-in link is good for."
    )
    log_level: str = Field(default="info")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
