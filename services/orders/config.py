"""Settings of the orders service (env prefix `ORDERS_`)."""

import re
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.common.settings import ConsumerSettings, SellerAuthSettings

DEVELOPMENT_PAYMENT_TICKET_SECRET = "livecart-development-payment-ticket-secret"
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")


class OrdersSettings(ConsumerSettings, SellerAuthSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", populate_by_name=True)

    port: int = 8002
    database_url: str = Field(
        default="sqlite+aiosqlite:///run/orders.db",
        validation_alias=AliasChoices("ORDERS_DATABASE_URL", "DATABASE_URL", "database_url"),
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
    )
    database_schema: str | None = Field(
        default=None, description="PostgreSQL search_path (one schema per test, or per tenant)."
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=500,
        description="PostgreSQL connections each replica keeps open (SQLite ignores it). Keep "
        "replicas * (pool size + max overflow) under the server's max_connections.",
    )
    database_max_overflow: int = Field(
        default=10,
        ge=0,
        le=500,
        description="PostgreSQL connections a replica may open beyond the pool under load "
        "(closed again when returned); a request waits when both are in use.",
    )
    consumer_max_records: int = Field(
        default=500,
        ge=1,
        le=1000,
        description="Checkouts read and placed together (one set of statements per batch).",
    )
    max_quantity_per_item: int = Field(default=100, ge=1)
    demo_wallet_balance_minor: int = Field(
        default=1_000_000, ge=0, description="Sandbox wallet balance of a buyer seen first time."
    )
    payment_timeout_seconds: float = Field(default=5.0, gt=0)
    buyer_history_maxlen: int = Field(
        default=200, ge=10, description="Statuses kept per buyer for resuming SSE streams."
    )
    buyer_history_ttl_seconds: int = Field(default=86_400, ge=60)
    snapshot_interval_seconds: float = Field(
        default=0.25, gt=0, description="Stock and room-sales snapshots at most this often."
    )
    metrics_sample_seconds: float = Field(default=5.0, gt=0)
    hold_seconds: float = Field(
        default=120.0, gt=0, description="A reservation not paid within this time expires."
    )
    expiry_scan_seconds: float = Field(default=1.0, gt=0)
    # The hosted payment page (README "Paying in the room"); hold_seconds is its deadline.
    payment_mode: Literal["hosted", "wallet"] = Field(
        default="hosted",
        description="`hosted`: an order waits at `reserved` until the buyer approves or "
        "declines on the marketplace's payment page (or hold_seconds run out); `wallet`: "
        "the buyer's sandbox wallet is charged at once (tests, benchmarks).",
    )
    public_url: str = Field(
        default="http://localhost:8002",
        pattern=r"^https?://[^/?#\s]+/?$",
        validation_alias=AliasChoices("ORDERS_PUBLIC_URL", "public_url"),
        description="Base URL of the marketplace as the buyer's browser reaches it (the "
        "payment page's address in the `reserved` status).",
    )
    max_image_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        le=20 * 1024 * 1024,
        description="Largest product image a seller may upload in the console (bytes); "
        "larger ones are refused with 413.",
    )
    payment_frame_ancestors: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://localhost:8000", "http://127.0.0.1:8000"],
        description="Origins of the storefront pages that may embed the payment page "
        "(comma-separated; its Content-Security-Policy frame-ancestors).",
    )
    payment_ticket_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_PAYMENT_TICKET_SECRET),
        description="Signs the payment page's tickets (checkout and buyer, short-lived).",
    )

    buyer_cancel_window_seconds: int = Field(
        default=600,
        ge=0,
        description="A buyer may cancel a confirmed order from the room within this time "
        "of its confirmation (0: never); a seller may always cancel a confirmed order.",
    )
    relay_batch_size: int = Field(default=500, ge=1)
    relay_idle_seconds: float = Field(
        default=0.5, gt=0, description="How often the relay looks for rows nobody woke it for."
    )

    @field_validator("payment_frame_ancestors", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        if isinstance(value, str):
            value = [origin.strip() for origin in value.split(",") if origin.strip()]
        if isinstance(value, list):
            for origin in value:
                if not isinstance(origin, str) or not ORIGIN.fullmatch(origin):
                    raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return value

    def development_defaults_in_use(self) -> list[str]:
        problems = super().development_defaults_in_use()
        if self.database_url.startswith("sqlite"):
            problems.append("ORDERS_DATABASE_URL is SQLite (use PostgreSQL in production)")
        secret = self.payment_ticket_secret.get_secret_value()
        if self.payment_mode == "hosted" and (
            secret == DEVELOPMENT_PAYMENT_TICKET_SECRET or len(secret) < 32
        ):
            problems.append("ORDERS_PAYMENT_TICKET_SECRET is the development default or too short")
        return problems
