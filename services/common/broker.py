"""Build a FastStream Redis broker the way every livecart service needs it."""

import logging
import os
import socket
import uuid

from faststream.redis import RedisBroker
from faststream.redis.prometheus import RedisPrometheusMiddleware
from prometheus_client import REGISTRY
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.common.settings import ServiceSettings
from services.common.tracing import tracing_middlewares
from services.common.wire import JsonEnvelopeFormat

CONNECTION_RETRIES = 5


def unique_consumer_name(service: str) -> str:
    """A consumer name no other process shares: host, pid and a random suffix."""
    return f"{service}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def build_broker(settings: ServiceSettings, *, description: str) -> RedisBroker:
    """A broker speaking the JSON wire format, retrying lost connections with backoff,
    with FastStream's Prometheus metrics and (when configured) OpenTelemetry tracing."""
    service = settings.service_name
    return RedisBroker(
        str(settings.redis_url),
        message_format=JsonEnvelopeFormat,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), CONNECTION_RETRIES),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        socket_connect_timeout=2.0,
        socket_timeout=10.0,
        health_check_interval=15,
        description=description,
        graceful_timeout=10.0,
        middlewares=[
            RedisPrometheusMiddleware(registry=REGISTRY, app_name=f"livecart-{service}"),
            *tracing_middlewares(service),
        ],
        # FastStream logs every message at this level: keep it off the INFO hot path.
        log_level=logging.DEBUG,
    )
