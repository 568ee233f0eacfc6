"""The outbox relay: publishes staged events to their stream in order, then marks them sent.

A crash between XADD and marking sent publishes the event again on restart, with
the same event id; readers deduplicate on it. Rows are locked while they are sent
(PostgreSQL `FOR UPDATE`, SQLite's write lock), so two relays never interleave.
"""

import asyncio
import logging

from redis.asyncio import Redis
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select

from contracts import DATA_FIELD, utc_now
from services.common.backoff import Backoff
from services.common.tasks import Stopping
from services.common.times import as_utc
from services.orders.adapters.tables import OutboxRow
from services.orders.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE

log = logging.getLogger(__name__)
RETRY_CAP_SECONDS = 5.0
"""The longest pause between failed rounds (the first is `idle_seconds`, then doubling)."""


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        redis: Redis,
        *,
        batch_size: int,
        idle_seconds: float,
        history_maxlen: int = 200,
        history_ttl_seconds: int = 86_400,
    ) -> None:
        self._history_maxlen = history_maxlen
        self._history_ttl = history_ttl_seconds
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._redis = redis
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was committed to the outbox: publish it now rather than at the next poll."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Send one batch of unsent rows, oldest first; returns how many were sent."""
        async with self._sessions.begin() as session:
            rows = (
                await session.execute(
                    select(
                        OutboxRow.id, OutboxRow.stream, OutboxRow.history_stream, OutboxRow.payload
                    )
                    .where(OutboxRow.sent_at.is_(None))  # type: ignore[union-attr]
                    .order_by(OutboxRow.id)  # type: ignore[arg-type]
                    .limit(self._batch_size)
                    .with_for_update()
                )
            ).all()
            if not rows:
                return 0
            pipe = self._redis.pipeline(transaction=False)
            histories: set[str] = set()
            for _, stream, history, payload in rows:
                pipe.xadd(stream, {DATA_FIELD: payload})
                if history:
                    pipe.xadd(
                        history,
                        {DATA_FIELD: payload},
                        maxlen=self._history_maxlen,
                        approximate=True,
                    )
                    histories.add(history)
            for history in histories:  # once per buyer per batch, after its last XADD
                pipe.expire(history, self._history_ttl)
            await pipe.execute()
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.id.in_([row[0] for row in rows]))  # type: ignore[union-attr]
                .values(sent_at=utc_now())
            )
        return len(rows)

    async def sample_backlog(self) -> None:
        """Unsent rows and the age of the oldest, into the outbox gauges."""
        async with self._sessions() as session:
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxRow.created_at)).where(
                        col(OutboxRow.sent_at).is_(None)
                    )
                )
            ).one()
        OUTBOX_BACKLOG.set(count)
        oldest = as_utc(oldest)
        OUTBOX_OLDEST_AGE.set((utc_now() - oldest).total_seconds() if oldest else 0.0)

    async def run(self, stopping: Stopping) -> None:
        """Relay until `stopping`, ending between batches; errors (Redis or database away)
        back off and retry."""
        backoff = Backoff(self._idle_seconds, RETRY_CAP_SECONDS)
        while not stopping:
            # Cleared before looking, so a wake() during the look is not lost.
            self._wake.clear()
            try:
                sent = await self.publish_pending()
                backoff.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception:
                pause = backoff.failed()
                log.warning("outbox relay failed; retrying in %.1fs", pause, exc_info=True)
                await stopping.wait(pause)
                continue
            if sent == 0:
                await stopping.wait(self._idle_seconds, self._wake)
