"""Rate limits every replica shares: fixed-window counters in Redis (the `limits` library
over redis-py), one per limit and client address or buyer, under `Streams.rate_limits`.

A limit is configured as `limits` writes it (`20/minute`, `10/10 seconds`) or `off`. A
request past it is answered 429 with `Retry-After` (the window's reset) and counted in
`livecart_rate_limited_total`. A Redis that does not answer lets the request through
(fail open): a slow or lost rate-limit store must not take the shop down with it.
"""

import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError
from pydantic import AfterValidator, BaseModel, Field
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common.metrics import RATE_LIMITED, RATE_LIMITS_UNCHECKED
from services.common.settings import ServiceSettings

OFF = "off"
REASON = "rate_limited"
WARN_EVERY_SECONDS = 10.0
# A check waits at most this long for Redis before letting the request through.
REDIS_TIMEOUT_SECONDS = 1.0

log = logging.getLogger(__name__)


def parse_rate_limit(value: str) -> RateLimitItem | None:
    """`20/minute` as a `limits` item; None for `off`. ValueError, saying how to write
    one, for anything else (more than one window included)."""
    text = value.strip()
    if text.lower() == OFF:
        return None
    try:
        items = parse_many(text)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise ValueError(
            f"{value!r} is not a rate limit: write `<count>/<window>` with a count of 1 or "
            "more, e.g. `20/minute`, `10/10 seconds`, `300 per hour`, or `off`"
        )
    return items[0]


def _valid_rate_limit(value: str) -> str:
    parse_rate_limit(value)
    return value.strip()


RateLimitSetting = Annotated[str, AfterValidator(_valid_rate_limit)]
"""A settings field holding one rate limit (`20/minute`) or `off`, checked at start-up."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One limit: its name (the metric's label, part of the Redis key), what it counts in
    words for the refusal, and its rate (None: off)."""

    name: str
    what: str
    rate: RateLimitItem | None

    @classmethod
    def of(cls, name: str, what: str, setting: str) -> "RateLimit":
        return cls(name, what, parse_rate_limit(setting))


class RateLimited(Exception):
    """A request past its limit; answered 429 with Retry-After by `install_rate_limits`."""

    def __init__(self, limit: RateLimit, retry_after: int) -> None:
        super().__init__(limit.name)
        self.limit = limit
        self.retry_after = retry_after

    @property
    def detail(self) -> str:
        rate = self.limit.rate
        assert rate is not None
        multiples, unit = rate.multiples, rate.GRANULARITY.name
        window = f"{multiples} {unit}s" if multiples > 1 else unit
        return (
            f"too many requests: at most {rate.amount} {self.limit.what} per {window}; "
            f"retry in {self.retry_after} s"
        )


class RateLimitedOut(BaseModel):
    """The 429 answer's body (with a `Retry-After` header in seconds)."""

    detail: str = Field(description="Which limit, how much it allows, when to retry.")
    reason: str = Field(default=REASON, description="Always `rate_limited`.")


TOO_MANY_REQUESTS: dict[str, Any] = {
    "model": RateLimitedOut,
    "description": "Past a rate limit (reason `rate_limited`); retry after `Retry-After` seconds",
}
"""The 429 of a limited route, for its `responses=`."""


class SharedRateLimits:
    """The limits of one service, counted in Redis so every replica sees the same count."""

    def __init__(self, storage: RedisStorage, limits: Iterable[RateLimit]) -> None:
        self._storage = storage
        self._strategy = FixedWindowRateLimiter(storage)
        self._limits = {limit.name: limit for limit in limits}
        self._last_warning = -math.inf

    async def hit(self, name: str, subject: str) -> None:
        """Count a request of `subject` (an address, a buyer) against limit `name`;
        RateLimited when it is past the limit."""
        limit = self._limits[name]
        if limit.rate is None:
            return
        try:
            if await self._strategy.hit(limit.rate, name, subject):
                return
            stats = await self._strategy.get_window_stats(limit.rate, name, subject)
        except (RedisError, RedisClusterException, StorageError, OSError) as exc:
            self._let_through(name, exc)
            return
        RATE_LIMITED.labels(name).inc()
        raise RateLimited(limit, retry_after=max(1, math.ceil(stats.reset_time - time.time())))

    def _let_through(self, name: str, exc: Exception) -> None:
        RATE_LIMITS_UNCHECKED.labels(name).inc()
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY_SECONDS:  # one line per outage, not per request
            self._last_warning = now
            log.warning("rate limit %s unchecked, requests let through: %r", name, exc)

    async def close(self) -> None:
        # `limits` has no close of its own; its bridge holds the redis-py client.
        client = getattr(self._storage.bridge, "storage", None)
        if client is not None:
            await client.aclose()


def redis_storage(settings: ServiceSettings) -> RedisStorage:
    """The counters' store: the service's Redis (single server or Cluster, as the broker),
    with short timeouts and one quick retry, keys under `Streams.rate_limits`."""
    options: dict[str, Any] = {
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "retry": Retry(NoBackoff(), 1),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }
    url, prefix = str(settings.redis_url), settings.streams.rate_limits
    if settings.redis_cluster:
        parts = urlsplit(url)
        if parts.scheme == "rediss":
            options["ssl"] = True
        return RedisClusterStorage(
            f"async+redis+cluster://{parts.netloc}",
            implementation="redispy",
            key_prefix=prefix,
            **options,
        )
    return RedisStorage(f"async+{url}", implementation="redispy", key_prefix=prefix, **options)


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (X-Forwarded-For only from trusted proxies)."""
    return request.client.host if request.client else "unknown"


def rate_limits_of(request: Request) -> SharedRateLimits:
    limits: SharedRateLimits = request.app.state.rate_limits
    return limits


def per_address(name: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency counting the request against limit `name` of its client address."""

    async def limit_per_address(request: Request) -> None:
        await rate_limits_of(request).hit(name, client_address(request))

    return limit_per_address


def install_rate_limits(app: FastAPI, limits: SharedRateLimits) -> None:
    """Make `limits` the app's (for the dependencies) and answer RateLimited with 429."""
    app.state.rate_limits = limits
    app.add_exception_handler(RateLimited, _too_many_requests)


async def _too_many_requests(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    return JSONResponse(
        {"detail": exc.detail, "reason": REASON},
        status_code=429,
        headers={"Retry-After": str(exc.retry_after)},
    )
