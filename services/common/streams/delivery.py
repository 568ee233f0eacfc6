"""What to do with an entry a consumer failed on: dead-letter it now, retry it later, or
back off because the failure is the infrastructure's, not the entry's.

One FastStream middleware (`DeliveryGuard`) applies the policy to every consumer group.
"""

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import redis.exceptions as redis_errors
import sqlalchemy.exc as sa_errors
from faststream import BaseMiddleware
from faststream.exceptions import HandlerException
from redis.asyncio import Redis

from contracts.wire import MAX_ENTRY_BYTES, DeadLetterReason, WireError, check_entry_size
from services.common.backoff import Backoff
from services.common.metrics import DEAD_LETTERS, RECLAIMED
from services.common.streams.dead_letters import dead_letter
from services.common.streams.faststream_internals import (
    current_subscriber,
    raw_entry_ids,
    raw_fields,
    subscriber_client,
)

CLAIMER_SUFFIX = "-claimer"

log = logging.getLogger(__name__)


class PoisonEntry(Exception):
    """An entry that can never be processed; `reason` says why (e.g. `too_large`)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class Failure(StrEnum):
    BAD_INPUT = "bad_input"  # the entry itself is wrong: dead-letter at once
    INFRASTRUCTURE = "infrastructure"  # Redis or the database is away: back off, keep it
    HANDLER = "handler"  # anything else: retry until the delivery cap, then dead-letter


_INFRASTRUCTURE = (
    OSError,
    TimeoutError,
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    sa_errors.OperationalError,
    sa_errors.InterfaceError,
    sa_errors.DisconnectionError,
    sa_errors.TimeoutError,
)


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, PoisonEntry | ValueError | UnicodeError):
        # pydantic's ValidationError, JSON decode errors and WireError are ValueErrors.
        return Failure.BAD_INPUT
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, _INFRASTRUCTURE):
            return Failure.INFRASTRUCTURE
        if isinstance(cause, sa_errors.DBAPIError) and cause.connection_invalidated:
            return Failure.INFRASTRUCTURE
        cause = cause.__cause__ or cause.__context__
    return Failure.HANDLER


def reason_for(exc: BaseException) -> str:
    if isinstance(exc, PoisonEntry | WireError):
        return exc.reason
    name = type(exc).__name__
    if name == "ValidationError":
        return DeadLetterReason.INVALID_EVENT
    if name == "JSONDecodeError" or isinstance(exc, UnicodeError):
        return DeadLetterReason.INVALID_JSON
    if classify(exc) is Failure.HANDLER:
        return DeadLetterReason.HANDLER_ERROR
    return DeadLetterReason.INVALID_ENTRY


@dataclass
class DeliveryPolicy:
    """The numbers behind retries and dead letters, and the consumer's back-off state."""

    max_deliveries: int = 5
    max_entry_bytes: int = MAX_ENTRY_BYTES
    backoff_base_seconds: float = 0.1
    backoff_cap_seconds: float = 5.0
    _backoff: Backoff = field(init=False)

    def __post_init__(self) -> None:
        self._backoff = Backoff(self.backoff_base_seconds, self.backoff_cap_seconds)

    def infrastructure_failed(self) -> float:
        """Seconds to pause this consumer after another infrastructure failure."""
        return self._backoff.failed()

    def succeeded(self) -> None:
        self._backoff.succeeded()


class DeliveryGuard:
    """Middleware factory: `RedisRouter(middlewares=[DeliveryGuard(policy, client_getter)])`."""

    def __init__(self, policy: DeliveryPolicy, redis: "Redis | None" = None) -> None:
        self.policy = policy
        self.redis = redis

    def __call__(self, msg: Any, /, *, context: Any) -> "_Guard":
        return _Guard(msg, context=context, guard=self)


class _Guard(BaseMiddleware):
    msg: Any

    def __init__(self, msg: Any, /, *, context: Any, guard: DeliveryGuard) -> None:
        super().__init__(msg, context=context)
        self.guard = guard

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        sub = current_subscriber(self.context).stream_sub
        if sub.consumer and sub.consumer.endswith(CLAIMER_SUFFIX):
            RECLAIMED.labels(sub.name, sub.group).inc()
        check_entry_size(raw_fields(self.msg), limit=self.guard.policy.max_entry_bytes)
        return await call_next(msg)

    async def after_processed(
        self, exc_type: Any = None, exc_val: BaseException | None = None, exc_tb: Any = None
    ) -> bool:
        policy = self.guard.policy
        if exc_val is None:
            policy.succeeded()
            return False
        if isinstance(exc_val, HandlerException | asyncio.CancelledError):
            return False
        subscriber = current_subscriber(self.context)
        sub = subscriber.stream_sub
        entry_id = raw_entry_ids(self.msg)[0]
        return await settle_failure(
            self.guard.redis or subscriber_client(subscriber),
            policy,
            Entry(sub.name, sub.group, sub.consumer, entry_id, raw_fields(self.msg)),
            exc_val,
        )


@dataclass(frozen=True, slots=True)
class Entry:
    """A stream entry as one consumer of a group holds it."""

    stream: str
    group: str
    consumer: str
    entry_id: bytes
    fields: Mapping[bytes, bytes]


async def settle_failure(
    client: "Redis", policy: DeliveryPolicy, entry: Entry, exc: BaseException
) -> bool:
    """What an entry whose handling failed becomes: True when it was dead-lettered (and so
    acked), False when it stays pending — after a pause when the infrastructure failed,
    for the claimer to redeliver when the handler failed fewer than `max_deliveries` times."""
    failure = classify(exc)
    if failure is Failure.INFRASTRUCTURE:
        pause = policy.infrastructure_failed()
        log.warning("%s: infrastructure unavailable (%r); pausing %.1fs", entry.stream, exc, pause)
        await asyncio.sleep(pause)
        return False
    deliveries = await delivery_count(client, entry.stream, entry.group, entry.entry_id)
    if failure is Failure.HANDLER and deliveries < policy.max_deliveries:
        return False
    await dead_letter_entry(client, entry, exc, deliveries)
    return True


async def dead_letter_entry(
    client: "Redis", entry: Entry, exc: BaseException, deliveries: int
) -> None:
    """Move `entry` to its stream's dead letters with the reason `exc` gives, and count it."""
    reason = reason_for(exc)
    await dead_letter(
        client,
        stream=entry.stream,
        entry_id=entry.entry_id,
        fields=entry.fields,
        group=entry.group,
        consumer=entry.consumer,
        reason=reason,
        error=repr(exc)[:500],
        deliveries=deliveries,
    )
    DEAD_LETTERS.labels(entry.stream, reason).inc()


async def delivery_count(client: "Redis", stream: str, group: str, entry_id: bytes) -> int:
    pending = await client.xpending_range(stream, group, min=entry_id, max=entry_id, count=1)
    return int(pending[0]["times_delivered"]) if pending else 1
