"""Connections livecart-ops opens: Redis, and both databases strictly read-only.

Each one is checked on opening, so an unreachable Redis or database ends the command
with one clear line (`OpsError`) instead of a traceback.
"""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import (
    AuthenticationError,
    NoPermissionError,
    RedisClusterException,
    RedisError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.common.streams.broker import redis_client
from services.ops.config import OpsConfig, OpsError, redact

ASYNC_DRIVERS = "sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"


@contextlib.asynccontextmanager
async def open_redis(url: str, *, cluster: bool = False) -> AsyncIterator[Redis]:
    """A Redis client (of a Redis Cluster with `cluster`) that answered PING, closed
    afterwards. It fails fast and does not retry: ops commands are interactive."""
    try:
        client = redis_client(
            url, cluster=cluster, socket_connect_timeout=3, socket_timeout=10, retry=None,
            retry_on_error=[],
        )  # fmt: skip
    except ValueError as exc:
        raise OpsError(f"not a Redis URL: {redact(url)} ({exc})") from exc
    try:
        try:
            await client.ping()
        except (RedisError, RedisClusterException, OSError) as exc:
            if (refusal := _refusal(url, exc)) is None:
                raise
            raise refusal from exc
        yield client
    finally:
        with contextlib.suppress(RedisError, RedisClusterException, OSError):
            await client.aclose()


def _refusal(url: str, exc: Exception) -> OpsError | None:
    """Why Redis could not be used, in one line. A Cluster client wraps the reason (the
    first node's answer) in a RedisClusterException: it is told from the innermost error."""
    shown = redact(url)
    cause = _innermost(exc) if isinstance(exc, RedisClusterException) else exc
    if isinstance(cause, AuthenticationError):
        return OpsError(
            f"Redis at {shown} refused to sign in: {cause}. Give the ops user's "
            "credentials (OPS_REDIS_URL=redis://ops:<password>@host:port/0, or "
            "--acl-passwords run/redis/acl-passwords.json)"
        )
    if isinstance(cause, (RedisConnectionError, TimeoutError, OSError)):
        return OpsError(f"cannot reach Redis at {shown}: {cause}")
    if isinstance(exc, RedisClusterException) and isinstance(cause, NoPermissionError):
        return OpsError(
            f"the Redis Cluster at {shown} refused this user its slot map ({cause}): its "
            "ACL needs +cluster|slots and +command (services/ops/acl.py, rendered for a Cluster)"
        )
    if isinstance(exc, RedisClusterException):
        return OpsError(
            f"cannot use Redis at {shown} as a Redis Cluster ({cause}): is it a Cluster "
            "node? Without a Cluster, leave out --redis-cluster / LIVECART_REDIS_CLUSTER"
        )
    if isinstance(cause, ResponseError):
        return OpsError(f"Redis at {shown} refused PING: {cause}")
    return None


def _innermost(exc: BaseException) -> BaseException:
    while (inner := exc.__cause__ or exc.__context__) is not None:
        exc = inner
    return exc


def open_ops_redis(config: OpsConfig) -> contextlib.AbstractAsyncContextManager[Redis]:
    """`open_redis` as the ops user, a Redis Cluster client when `config.redis_cluster`."""
    return open_redis(config.ops_url, cluster=config.redis_cluster)


def read_only_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    """An engine that cannot write: SQLite opened with `mode=ro` (never creates the file),
    PostgreSQL with `default_transaction_read_only`."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise OpsError(f"not a database URL: {url!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in {"", ":memory:"}:
            raise OpsError(f"{url} is an in-memory database: there is nothing to read")
        if not Path(database).exists():
            raise OpsError(f"no database file at {database} (from {url})")
        return create_async_engine(f"sqlite+aiosqlite:///file:{database}?mode=ro&uri=true")
    if parsed.get_backend_name() != "postgresql":
        raise OpsError(f"{parsed.drivername} is not supported: use {ASYNC_DRIVERS}")
    settings = {"default_transaction_read_only": "on"}
    if schema:
        settings["search_path"] = schema
    try:
        return create_async_engine(
            parsed.set(drivername="postgresql+asyncpg"),
            connect_args={"server_settings": settings, "timeout": 5},
            pool_size=1,
        )
    except (ArgumentError, InvalidRequestError, ImportError) as exc:
        raise OpsError(f"cannot open {url!r}: {exc}; use {ASYNC_DRIVERS}") from exc


@contextlib.asynccontextmanager
async def open_database(
    url: str, *, what: str, schema: str | None = None
) -> AsyncIterator[AsyncConnection]:
    """A read-only connection to `what` (e.g. "the orders database")."""
    engine = read_only_engine(url, schema=schema)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        async with engine.connect() as conn:
            yield conn
    except (DBAPIError, OSError, TimeoutError) as exc:
        detail = getattr(exc, "orig", None) or exc
        raise OpsError(f"cannot read {what} at {shown}: {detail}") from exc
    finally:
        await engine.dispose()
