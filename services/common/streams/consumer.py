"""A consumer group as every livecart consumer runs it.

Beside the reader of new entries sits a claimer (XAUTOCLAIM) that takes over
entries left pending on a dead or stuck consumer after `claim_idle_ms`; both go
through the same `DeliveryGuard` (dead letters, retry cap, back-off). An upkeep
loop recreates a lost group (NOGROUP after Redis lost its data) and restarts the
subscribers, and removes consumers that are gone and own nothing pending.

With a `batch_handler`, the reader takes up to `max_records` entries per call and
hands the valid ones to it together (one set of database statements per batch);
each entry still has its own outcome: unreadable ones are dead-lettered alone,
and if the batch fails for a reason that is not the infrastructure's, its entries
go through the one-at-a-time `handler`, so one bad checkout never fails the rest.
The claimer always hands entries over one at a time.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream import AckPolicy
from faststream.redis import RedisBroker, RedisRouter, StreamSub
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from contracts.envelope import Envelope
from contracts.wire import DeadLetterReason, EntryId, WireError, decode_entry
from services.common.metrics import (
    GROUP_LAG,
    GROUP_OLDEST_PENDING_AGE,
    GROUP_PENDING,
    STREAM_LENGTH,
)
from services.common.streams.broker import unique_consumer_name
from services.common.streams.delivery import (
    CLAIMER_SUFFIX,
    DeliveryGuard,
    DeliveryPolicy,
    Entry,
    Failure,
    classify,
    dead_letter_entry,
    settle_failure,
)
from services.common.streams.faststream_internals import (
    raw_batch,
    raw_entry_ids,
    raw_fields,
    subscriber_client,
    unparsed_batch,
)

log = logging.getLogger(__name__)

BatchHandler = Callable[[Sequence[Any]], Awaitable[None]]
INFRASTRUCTURE_RETRIES = 3


@dataclass
class GroupConsumer:
    stream: str
    group: str
    service: str
    policy: DeliveryPolicy
    claim_idle_ms: int
    max_records: int = 10
    block_ms: int = 1000
    consumer_gone_ms: int = 300_000
    upkeep_seconds: float = 1.0
    workers: int = 1
    consumer: str = ""
    restarts: int = field(default=0, init=False)
    removed_consumers: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.consumer = self.consumer or unique_consumer_name(self.service)
        self.router = RedisRouter(middlewares=[DeliveryGuard(self.policy)])
        # The batch reader sorts out each entry's outcome itself, so it has no guard.
        self.batch_router = RedisRouter()

    @property
    def subscribers(self) -> list[Any]:
        return [*self.router.subscribers, *self.batch_router.subscribers]

    @property
    def own_consumers(self) -> set[str]:
        return {self.consumer, f"{self.consumer}{CLAIMER_SUFFIX}"}

    def register(
        self,
        broker: RedisBroker,
        handler: Callable[..., Awaitable[Any]],
        *,
        title: str,
        description: str,
        batch_handler: BatchHandler | None = None,
        event_type: type[Envelope] | None = None,  # type: ignore[type-arg]
    ) -> None:
        """Subscribe `handler` as this group's reader and claimer on `broker`.

        With `batch_handler` (and the `event_type` it takes), the reader hands over
        batches of up to `max_records` entries instead.
        """
        if batch_handler is not None:
            if event_type is None:
                raise ValueError("a batch handler needs the event_type to decode entries")
            batches = BatchReader(self, handler, batch_handler, event_type)
            self.batch_router.subscriber(
                stream=StreamSub(
                    self.stream,
                    group=self.group,
                    consumer=self.consumer,
                    batch=True,
                    max_records=self.max_records,
                    polling_interval=self.block_ms,
                ),
                parser=unparsed_batch,
                decoder=raw_batch,
                ack_policy=AckPolicy.MANUAL,
                title=f"{title}:batches",
                # Its handler takes raw entries, so FastStream cannot tell their schema:
                # the claimer below (same stream, same group, typed) documents the channel.
                include_in_schema=False,
            )(batches.consume)
            broker.include_router(self.batch_router)
        else:
            self.router.subscriber(
                stream=StreamSub(
                    self.stream,
                    group=self.group,
                    consumer=self.consumer,
                    max_records=self.max_records,
                    polling_interval=self.block_ms,
                ),
                title=title,
                description=description,
                max_workers=self.workers,
            )(handler)
        claimer = self.router.subscriber(
            stream=StreamSub(
                self.stream,
                group=self.group,
                consumer=f"{self.consumer}{CLAIMER_SUFFIX}",
                min_idle_time=self.claim_idle_ms,
                polling_interval=min(self.claim_idle_ms, 1000),
            ),
            **(
                {"title": title, "description": description}
                if batch_handler is not None
                else {"title": f"{title}:claimer", "include_in_schema": False}
            ),
        )
        claimer(handler)
        broker.include_router(self.router)

    async def ensure_group(self, client: Redis) -> None:
        """Create the group at the start of the stream unless it exists.

        FastStream would create it at `$`, skipping entries written before the first
        consumer started, or while the group was lost.
        """
        try:
            await client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def upkeep(self, broker: RedisBroker, client: Redis) -> None:
        """One round: restart stopped subscribers, drop consumers that are gone."""
        stopped = [sub for sub in self.subscribers if not sub.running]
        if stopped and broker.running:
            log.error("%s/%s: %d subscriber(s) stopped; recreating the group", self.stream,
                      self.group, len(stopped))  # fmt: skip
            await self.ensure_group(client)
            for sub in stopped:
                await sub.start()
            self.restarts += len(stopped)
        for info in await client.xinfo_consumers(self.stream, self.group):
            name = _text(info["name"])
            if (
                name in self.own_consumers
                or info["pending"]
                or info["idle"] < self.consumer_gone_ms
            ):
                continue
            await client.xgroup_delconsumer(self.stream, self.group, name)
            self.removed_consumers += 1

    async def sample_metrics(self, client: Redis) -> None:
        """Length, pending, lag and oldest-pending age of this group, into the gauges."""
        STREAM_LENGTH.labels(self.stream).set(await client.xlen(self.stream))
        for info in await client.xinfo_groups(self.stream):
            if _text(info["name"]) != self.group:
                continue
            GROUP_PENDING.labels(self.stream, self.group).set(info["pending"])
            GROUP_LAG.labels(self.stream, self.group).set(info.get("lag") or 0)
        summary = await client.xpending(self.stream, self.group)
        oldest = summary.get("min")
        age = time.time() - EntryId.parse(oldest).ms / 1000 if oldest else 0.0
        GROUP_OLDEST_PENDING_AGE.labels(self.stream, self.group).set(max(age, 0.0))

    async def run_upkeep(self, broker: RedisBroker, client: Redis) -> None:
        """Upkeep every `upkeep_seconds` until cancelled; cancel it before stopping the
        broker, or it takes the stopping subscribers for lost ones and restarts them."""
        while True:
            await asyncio.sleep(self.upkeep_seconds)
            try:
                await self.upkeep(broker, client)
                await self.sample_metrics(client)
            except (RedisError, OSError) as exc:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # redis-py can turn a cancel that lands mid-command into a connection
                    # error: the cancel must still end the loop, or shutdown waits forever.
                    raise asyncio.CancelledError from exc
                log.warning("%s/%s upkeep failed: %r", self.stream, self.group, exc)


class BatchReader:
    """Per-entry outcomes for a batch: done (acked), dead-lettered, or left pending."""

    def __init__(
        self,
        group: GroupConsumer,
        handler: Callable[[Any], Awaitable[Any]],
        batch_handler: BatchHandler,
        event_type: type[Envelope],  # type: ignore[type-arg]
    ) -> None:
        self.group = group
        self.handler = handler
        self.batch_handler = batch_handler
        self.event_type = event_type
        self.client: Redis | None = None

    async def consume(self, raw: Any) -> None:
        """FastStream hands the raw batch (`data`, `message_ids`); nothing is acked for us."""
        if self.client is None:
            self.client = subscriber_client(self.group.batch_router.subscribers[0])
        entries: list[tuple[bytes, Mapping[bytes, bytes]]] = list(
            zip(raw_entry_ids(raw), raw_fields(raw), strict=True)
        )
        events: list[tuple[bytes, Any]] = []
        for entry_id, fields in entries:
            try:
                events.append((entry_id, self._decode(fields)))
            except ValueError as exc:  # bad input (a WireError): set aside at once
                await dead_letter_entry(self._client(), self._entry(entry_id, fields), exc, 1)
        done = await self._handle(events, dict(entries))
        if done:
            await self._client().xack(self.group.stream, self.group.group, *done)

    def _decode(self, fields: Mapping[bytes, bytes]) -> Any:
        limit = self.group.policy.max_entry_bytes
        try:
            return decode_entry(fields, self.event_type, max_entry_bytes=limit)
        except WireError as exc:
            if exc.reason != DeadLetterReason.MISSING_FIELD:
                raise
            # The reason the one-at-a-time path gives (FastStream validates the bare fields
            # as the event), so a dead letter's reason does not depend on the path.
            raise WireError(DeadLetterReason.INVALID_EVENT, exc.detail) from exc

    async def _handle(
        self, events: list[tuple[bytes, Any]], fields: Mapping[bytes, Mapping[bytes, bytes]]
    ) -> list[bytes]:
        """Entry ids to ack once the batch was handled (dead letters are acked already)."""
        if not events:
            return []
        for attempt in range(INFRASTRUCTURE_RETRIES):
            try:
                await self.batch_handler([event for _, event in events])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failure = classify(exc)
                if failure is not Failure.INFRASTRUCTURE:
                    log.warning("%s: a batch of %d failed (%r); one at a time", self.group.stream,
                                len(events), exc)  # fmt: skip
                    return await self._one_at_a_time(events, fields)
                pause = self.group.policy.infrastructure_failed()
                log.warning("%s: infrastructure unavailable (%r); pausing %.1fs (try %d)",
                            self.group.stream, exc, pause, attempt + 1)  # fmt: skip
                await asyncio.sleep(pause)
            else:
                self.group.policy.succeeded()
                return [entry_id for entry_id, _ in events]
        return []  # still pending: retried by the claimer once the infrastructure is back

    async def _one_at_a_time(
        self, events: list[tuple[bytes, Any]], fields: Mapping[bytes, Mapping[bytes, bytes]]
    ) -> list[bytes]:
        """Entry ids handled; the failed ones are dead-lettered or stay pending as the
        one-at-a-time readers' would (`settle_failure`)."""
        done: list[bytes] = []
        for entry_id, event in events:
            try:
                await self.handler(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await settle_failure(
                    self._client(), self.group.policy, self._entry(entry_id, fields[entry_id]), exc
                )
                continue
            done.append(entry_id)
        return done

    def _entry(self, entry_id: bytes, fields: Mapping[bytes, bytes]) -> Entry:
        group = self.group
        return Entry(group.stream, group.group, group.consumer, entry_id, fields)

    def _client(self) -> Redis:
        assert self.client is not None
        return self.client


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
