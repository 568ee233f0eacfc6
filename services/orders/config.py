"""Settings of the orders service (env prefix `ORDERS_`)."""

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ConsumerSettings, SellerAuthSettings


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

    def development_defaults_in_use(self) -> list[str]:
        problems = super().development_defaults_in_use()
        if self.database_url.startswith("sqlite"):
            problems.append("ORDERS_DATABASE_URL is SQLite (use PostgreSQL in production)")
        return problems
