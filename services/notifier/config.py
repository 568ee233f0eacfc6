"""Settings of the notifier service (env prefix `NOTIFIER_`; the token secret is shared)."""

import json
import re
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.common.rate_limits import RateLimitSetting
from services.common.settings import TokenSettings


class NotifierSettings(TokenSettings):
    """Where the notifier listens, how far back a starting replica reads, and SSE pacing.

    The buyer-token secret comes from `LIVECART_TOKEN_SECRET` (see TokenSettings).
    """

    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", populate_by_name=True)

    port: int = 8001
    redis_max_connections: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Connections for history reads (resumes); more concurrent reads wait "
        "for one (up to `redis_wait_seconds`) instead of failing.",
    )
    redis_wait_seconds: float = Field(default=10.0, gt=0)
    recent_statuses: int = Field(
        default=1000,
        ge=0,
        description="Newest `order.status` entries a starting replica reads to learn whose "
        "checkout is whose; costs this many entries, whatever the stream's length.",
    )
    recent_snapshots: int = Field(
        default=500,
        ge=0,
        description="Newest `catalog.changed` and `room.sales` entries a starting replica "
        "reads to know current stock and sales.",
    )
    recent_chat: int = Field(
        default=1000,
        ge=0,
        description="Newest `chat` entries a starting replica reads, so that a room's "
        "newcomers see its recent messages (the chat stream of every room, capped).",
    )
    chat_history: int = Field(
        default=50,
        ge=0,
        le=500,
        description="Last chat messages kept per room and sent in a new connection's snapshot.",
    )
    max_checkouts: int = Field(
        default=100_000, ge=1, description="Bound on the checkouts whose buyer is remembered."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"],
        description="Origins whose pages may open the SSE streams, comma-separated: the "
        "storefront's (`https://shop.example`, every one it is served at). Buyer streams are "
        "opened with the buyer cookie (credentials), so production mode refuses `*`.",
    )
    heartbeat_seconds: float = Field(
        default=15, gt=0, description="Interval of SSE comment pings that keep proxies open."
    )
    send_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="A client that does not take an event (or ping) within this is dropped: "
        "its connection is cut and counted in `livecart_sse_dropped_total`.",
    )
    resync_seconds: float = Field(
        default=60,
        gt=0,
        description="A buyer connection re-reads its stream this often even without a "
        "doorbell, in case one was missed.",
    )
    room_push_seconds: float = Field(
        default=0.25,
        gt=0,
        description="Stock, sales and viewer pushes per room connection: at most one each "
        "per this interval, carrying the latest values.",
    )
    max_connections: int = Field(
        default=20_000,
        ge=1,
        description="Open `/events/...` requests this process serves at once; past it a new "
        "one gets 503 `too_many_connections` with Retry-After (the open-files limit must "
        "be above it).",
    )
    send_buffer_bytes: int = Field(
        default=65_536,
        ge=0,
        description="Kernel send buffer (SO_SNDBUF) of each SSE connection: a client that "
        "stops reading fills it after this many bytes, instead of the kernel's autotuned "
        "megabytes; 0 leaves the kernel's.",
    )
    busy_retry_seconds: int = Field(
        default=5, ge=1, description="Retry-After of a request refused for too many connections."
    )
    max_pending_purchases: int = Field(
        default=256,
        ge=1,
        description="Purchases queued for one room connection; a client this far behind is "
        "dropped (it reconnects and gets a fresh snapshot).",
    )
    rate_limit_connects_per_address: RateLimitSetting = Field(
        default="60/minute",
        description="`/events/...` requests (SSE connects and reconnects) one client address "
        "may make (`limits` syntax: `60/minute`; `off`). Shared by every replica.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [origin.strip() for origin in text.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        # A browser sends `Origin: scheme://host[:port]`, compared as a string: no path.
        cleaned = [origin.rstrip("/") for origin in origins]
        for origin in cleaned:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")
        return cleaned

    def development_defaults_in_use(self) -> list[str]:
        problems = super().development_defaults_in_use()
        if "*" in self.cors_origins:
            problems.append(
                "NOTIFIER_CORS_ORIGINS allows every origin (`*`): name the storefront's origins"
            )
        return problems


_ORIGIN = re.compile(r"https?://[^/?#\s]+")
