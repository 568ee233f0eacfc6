"""Build a FastStream Redis broker the way every livecart service needs it."""

import logging
import os
import socket
import uuid
from typing import Annotated, Any, cast

from faststream import Context
from faststream.middlewares import ExceptionMiddleware
from faststream.redis import RedisBroker, RedisClusterBroker
from faststream.redis.prometheus import RedisPrometheusMiddleware
from prometheus_client import REGISTRY
from pydantic import ValidationError
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common.settings import ServiceSettings
from services.common.streams.faststream_internals import (
    raw_channel,
    raw_entry_ids,
    raw_message_of,
)
from services.common.streams.wire import JsonEnvelopeFormat
from services.common.tracing import tracing_middlewares

CONNECTION_RETRIES = 5

log = logging.getLogger(__name__)


def unique_consumer_name(service: str) -> str:
    """A consumer name no other process shares: host, pid and a random suffix."""
    return f"{service}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def connection_options() -> dict[str, Any]:
    """How every livecart connection to Redis behaves (broker or direct client, single
    server or Cluster): lost connections retried with backoff, bounded waits."""
    return {
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), CONNECTION_RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
        "socket_connect_timeout": 2.0,
        "socket_timeout": 10.0,
        "health_check_interval": 15,
    }


def redis_client(url: str, *, cluster: bool, **options: Any) -> Redis:
    """A client of its own beside the broker's, single server or Cluster, with the same
    connection behaviour (`options` override it). redis-py's `RedisCluster` speaks the
    same commands as `Redis` (each routed to its key's node), hence the one type."""
    merged = connection_options() | options
    if cluster:
        return cast(Redis, RedisCluster.from_url(url, **merged))
    return Redis.from_url(url, **merged)


def build_broker(settings: ServiceSettings, *, description: str) -> RedisBroker:
    """A broker speaking the JSON wire format, retrying lost connections with backoff,
    with FastStream's Prometheus metrics and (when configured) OpenTelemetry tracing.

    With `redis_cluster`, FastStream's `RedisClusterBroker`: redis-py's cluster client
    under the same subscribers, following each stream's slot to its node."""
    service = settings.service_name
    broker_class = RedisClusterBroker if settings.redis_cluster else RedisBroker
    return broker_class(
        str(settings.redis_url),
        message_format=JsonEnvelopeFormat,
        **connection_options(),
        description=description,
        graceful_timeout=10.0,
        middlewares=[
            RedisPrometheusMiddleware(registry=REGISTRY, app_name=f"livecart-{service}"),
            *tracing_middlewares(service),
        ],
        # FastStream logs every message at this level: keep it off the INFO hot path.
        log_level=logging.DEBUG,
    )


def skip_malformed_entries(broker: RedisBroker) -> None:
    """For readers without a group: an entry that cannot be read is logged with its
    stream and id and skipped; it never stops the reader. (ValueError covers undecodable
    JSON, bad UTF-8 and pydantic's ValidationError.)"""
    broker.add_middleware(ExceptionMiddleware(handlers={ValueError: _skip_malformed_entry}))


async def _skip_malformed_entry(
    exc: ValueError, message: Annotated[Any, Context("message")]
) -> None:
    # A bad entry is the producer's bug: a warning with the entry id is enough to
    # find it with XRANGE.
    raw = raw_message_of(message)
    entry_ids = raw_entry_ids(raw)
    entry_id = entry_ids[0].decode() if entry_ids else "?"
    channel = raw_channel(raw)
    log.warning("skipped malformed %s entry %s: %s", channel, entry_id, _reason(exc))


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{first['type']} at {where}: {first['msg']}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"
