"""The storefront's settings (env prefix `STOREFRONT_`; the buyer-token secret is shared)."""

import os
import zlib
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.common.rate_limits import RateLimitSetting
from services.common.settings import SellerAuthSettings, TokenSettings


class StorefrontSettings(TokenSettings, SellerAuthSettings):
    """Where the storefront listens, its showcase database and the notifier URL browsers use.

    Buyer tokens are signed with `LIVECART_TOKEN_SECRET` (see TokenSettings), the secret
    the notifier checks them with.
    """

    model_config = SettingsConfigDict(env_prefix="STOREFRONT_")

    port: int = Field(default=8000, ge=1, le=65535)
    workers: Annotated[int, Field(ge=1, le=64)] | Literal["auto"] = Field(
        default=1,
        description="uvicorn worker processes; `auto`: one per CPU core this process may use. "
        "Each worker reads the catalog on its own; metrics add up across workers.",
    )
    database_url: str = Field(
        default="sqlite+aiosqlite:///run/storefront.db",
        description="SQLAlchemy async URL of the showcase database (rooms, pinned products, "
        "the sellers' catalog and sign-in, the rooms' figures).",
    )
    database_schema: str | None = Field(
        default=None, description="PostgreSQL search_path; tests give each test its own."
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=500,
        description="PostgreSQL connections each worker process keeps open (SQLite ignores "
        "it). Keep replicas * workers * (pool size + max overflow) under max_connections.",
    )
    database_max_overflow: int = Field(
        default=10,
        ge=0,
        le=500,
        description="PostgreSQL connections a worker may open beyond the pool under load "
        "(closed again when returned); a request waits when both are in use.",
    )
    notifier_public_url: str = Field(
        default="http://localhost:8001",
        validation_alias=AliasChoices(
            "NOTIFIER_PUBLIC_URL", "STOREFRONT_NOTIFIER_PUBLIC_URL", "notifier_public_url"
        ),
        description="Base URL of the notifier as the buyer's browser reaches it (SSE).",
    )
    notifier_public_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices(
            "NOTIFIER_PUBLIC_URLS", "STOREFRONT_NOTIFIER_PUBLIC_URLS", "notifier_public_urls"
        ),
        description="Several notifier replicas without a load balancer in front (comma-"
        "separated): each buyer is sent to one of them, always the same. Any replica can "
        "resume any buyer (the history is in Redis). Empty: `notifier_public_url` only.",
    )
    marketplace_public_url: str = Field(
        default="http://localhost:8002",
        validation_alias=AliasChoices(
            "ORDERS_PUBLIC_URL", "STOREFRONT_MARKETPLACE_PUBLIC_URL", "marketplace_public_url"
        ),
        description="Base URL of the marketplace as browsers reach it: the room may frame "
        "its payment page (Content-Security-Policy frame-src), nothing else of it.",
    )
    max_body_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Larger request bodies are refused with 413."
    )
    buyer_cookie_secure: bool = Field(
        default=True,
        description="Send the buyer cookie over https only; false only for local http.",
        validation_alias=AliasChoices("LIVECART_BUYER_COOKIE_SECURE", "buyer_cookie_secure"),
    )
    buyer_cookie_domain: str | None = Field(
        default=None,
        pattern=r"^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$",
        description="The buyer cookie's Domain, when the notifier is on another subdomain "
        "of the same site (`shop.example` for `www.` and `events.`); unset: this host only.",
        validation_alias=AliasChoices("LIVECART_BUYER_COOKIE_DOMAIN", "buyer_cookie_domain"),
    )
    default_room_id: str = Field(default="demo", description="The room `GET /` shows.")
    room_cache_seconds: float = Field(
        default=2.0, ge=0, description="How long a room's pinned products are kept in memory."
    )
    recent_catalog_entries: int = Field(
        default=500,
        ge=0,
        description="Newest `catalog.changed` entries read on start-up to learn current stock; "
        "costs this many entries, whatever the stream's length.",
    )
    recent_sales_entries: int = Field(
        default=500,
        ge=0,
        description="Newest `room.sales` entries read on start-up (the latest figures of each "
        "room are kept in the database, so only what came while no replica ran matters).",
    )
    checkout_wait_seconds: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="The longest a checkout waits for Redis (its idempotency claim, then its "
        "XADD, each) before the buyer gets 503 with Retry-After: the broker's reconnect "
        "backoff stops here, so an outage answers in bounded time.",
    )
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        le=30 * 24 * 3600,
        description="How long a buyer's idempotency key stays bound to the request it first "
        "came with (a fingerprint of room and items in Redis): a retry within it gets the "
        "same checkout, another request with the key 409.",
    )

    rate_limit_sessions_per_address: RateLimitSetting = Field(
        default="20/minute",
        description="New buyer sessions (`POST /api/sessions`) one client address may start "
        "(`limits` syntax: `20/minute`, `10/10 seconds`; `off`). Shared by every replica.",
    )
    rate_limit_checkouts_per_buyer: RateLimitSetting = Field(
        default="10/10 seconds", description="Checkouts one buyer may place (or `off`)."
    )
    rate_limit_checkouts_per_address: RateLimitSetting = Field(
        default="300/minute",
        description="Checkouts from one client address, whatever the buyer (or `off`); a "
        "shop's Wi-Fi or a carrier's NAT puts many buyers behind one address.",
    )
    rate_limit_cancellations_per_buyer: RateLimitSetting = Field(
        default="10/minute", description="Cancel requests one buyer may send (or `off`)."
    )
    rate_limit_chat_per_buyer: RateLimitSetting = Field(
        default="5/10 seconds", description="Chat messages one buyer may send (or `off`)."
    )
    rate_limit_reactions_per_buyer: RateLimitSetting = Field(
        default="20/10 seconds", description="Reactions one buyer may send (or `off`)."
    )

    @property
    def worker_processes(self) -> int:
        """How many uvicorn workers to run."""
        if self.workers == "auto":
            if hasattr(os, "sched_getaffinity"):
                return len(os.sched_getaffinity(0))
            return os.cpu_count() or 1
        return self.workers

    @field_validator("notifier_public_urls", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    @property
    def notifier_origin(self) -> str:
        """`scheme://host[:port]` of every notifier (space-separated), for the page's
        Content-Security-Policy."""
        origins = dict.fromkeys(_origin(url) for url in self._every_notifier)
        return " ".join(origin for origin in origins if origin)

    @property
    def marketplace_origin(self) -> str:
        """`scheme://host[:port]` of the marketplace (its payment page is framed)."""
        return _origin(self.marketplace_public_url)

    @property
    def marketplace_media(self) -> str:
        """Where the marketplace serves the product images sellers upload
        (`<origin>/media/products/`): the room shows images from there, nothing else of it."""
        origin = self.marketplace_origin
        return f"{origin}/media/products/" if origin else ""

    def events_url(self, checkout_id: str, *, buyer_id: str) -> str:
        """The notifier's SSE URL for one checkout. No token in it (URLs end up in logs): a
        browser sends the buyer cookie, other clients `Authorization: Bearer`."""
        return f"{self.notifier_for(buyer_id)}/events/checkouts/{quote(checkout_id)}"

    def buyer_events_url(self, *, buyer_id: str) -> str:
        """The notifier's SSE URL of every status of the buyer (authenticated as above)."""
        return f"{self.notifier_for(buyer_id)}/events/buyers/me"

    def notifier_for(self, buyer_id: str) -> str:
        """The notifier base URL `buyer_id` is sent to: always the same one for a buyer, in
        every storefront process (crc32, not the per-process salted `hash`)."""
        urls = self.notifier_public_urls or [self.notifier_public_url]
        return urls[zlib.crc32(buyer_id.encode()) % len(urls)].rstrip("/")

    def development_defaults_in_use(self) -> list[str]:
        problems = super().development_defaults_in_use()
        if self.database_url.startswith("sqlite"):
            problems.append("STOREFRONT_DATABASE_URL is SQLite (use PostgreSQL)")
        if any("localhost" in url or "127.0.0.1" in url for url in self._every_notifier):
            problems.append("NOTIFIER_PUBLIC_URL points at localhost (browsers cannot reach it)")
        if not self.buyer_cookie_secure:
            problems.append("LIVECART_BUYER_COOKIE_SECURE is false (buyer tokens over plain http)")
        return problems

    @property
    def _every_notifier(self) -> list[str]:
        return [self.notifier_public_url, *self.notifier_public_urls]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
