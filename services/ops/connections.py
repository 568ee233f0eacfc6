"""Connections livecart-ops opens: Redis, and both databases strictly read-only.

Each one is checked on opening, so an unreachable Redis or database ends the command
with one clear line (`OpsError`) instead of a traceback.
"""

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.ops.config import OpsError, redact

ASYNC_DRIVERS = "sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"


def redis_client(url: str) -> Redis:
    """A client that fails fast: ops commands are interactive."""
    return Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)


@contextlib.asynccontextmanager
async def open_redis(url: str) -> AsyncIterator[Redis]:
    """A Redis client that answered PING, closed afterwards."""
    try:
        client = redis_client(url)
    except ValueError as exc:
        raise OpsError(f"not a Redis URL: {redact(url)} ({exc})") from exc
    try:
        try:
            await client.ping()
        except AuthenticationError as exc:
            raise OpsError(
                f"Redis at {redact(url)} refused to sign in: {exc}. Give the ops user's "
                "credentials (OPS_REDIS_URL=redis://ops:<password>@host:port/0, or "
                "--acl-passwords run/redis/acl-passwords.json)"
            ) from exc
        except (RedisConnectionError, TimeoutError, OSError) as exc:
            raise OpsError(f"cannot reach Redis at {redact(url)}: {exc}") from exc
        except ResponseError as exc:
            raise OpsError(f"Redis at {redact(url)} refused PING: {exc}") from exc
        yield client
    finally:
        with contextlib.suppress(RedisError, OSError):
            await client.aclose()


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
