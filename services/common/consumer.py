"""A consumer group as every livecart consumer runs it.

Beside the reader of new entries sits a claimer (XAUTOCLAIM) that takes over
entries left pending on a dead or stuck consumer after `claim_idle_ms`; both go
through the same `DeliveryGuard` (dead letters, retry cap, back-off). An upkeep
loop recreates a lost group (NOGROUP after Redis lost its data) and restarts the
subscribers, and removes consumers that are gone and own nothing pending.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from faststream.redis import RedisBroker, RedisRouter, StreamSub
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from services.common.broker import unique_consumer_name
from services.common.delivery import CLAIMER_SUFFIX, DeliveryGuard, DeliveryPolicy
from services.common.metrics import (
    GROUP_LAG,
    GROUP_OLDEST_PENDING_AGE,
    GROUP_PENDING,
    STREAM_LENGTH,
)

log = logging.getLogger(__name__)


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
    ) -> None:
        """Subscribe `handler` as this group's reader and claimer on `broker`."""
        reader = self.router.subscriber(
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
        )
        claimer = self.router.subscriber(
            stream=StreamSub(
                self.stream,
                group=self.group,
                consumer=f"{self.consumer}{CLAIMER_SUFFIX}",
                min_idle_time=self.claim_idle_ms,
                polling_interval=min(self.claim_idle_ms, 1000),
            ),
            title=f"{title}:claimer",
            include_in_schema=False,
        )
        reader(handler)
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
        stopped = [sub for sub in self.router.subscribers if not sub.running]
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
        age = time.time() - int(_text(oldest).split("-")[0]) / 1000 if oldest else 0.0
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
                log.warning("%s/%s upkeep failed: %r", self.stream, self.group, exc)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
