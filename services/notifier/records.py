"""What the hub keeps and hands out: Redis entry ids, status records, subscriptions."""

import asyncio
from dataclasses import dataclass
from typing import NamedTuple, Self

from contracts import OrderStatusChanged


class EntryId(NamedTuple):
    """A Redis stream entry id; compares numerically, so `10-0` comes after `9-5`."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, text: str | bytes) -> Self:
        """`1795831750546-0` as an EntryId; ValueError for anything else."""
        if isinstance(text, bytes):
            text = text.decode("ascii")
        ms, sep, seq = text.partition("-")
        if not (sep and ms.isdecimal() and seq.isdecimal()):
            raise ValueError(f"not a stream entry id: {text!r}")
        return cls(int(ms), int(seq))

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """One `order.status` entry as the notifier remembers it."""

    entry_id: EntryId
    event_id: str
    status: OrderStatusChanged

    @property
    def is_final(self) -> bool:
        return self.status.is_final


class Subscription:
    """Live statuses of one checkout, in stream order; iteration ends when it is closed.

    The queue is bounded: the hub closes a subscription that falls too far behind
    rather than letting one stalled browser grow the notifier's memory.
    """

    def __init__(self, checkout_id: str, *, max_pending: int) -> None:
        self.checkout_id = checkout_id
        self._queue: asyncio.Queue[StatusRecord | None] = asyncio.Queue(maxsize=max_pending)
        self._closed = False
        self._ended = False

    @property
    def closed(self) -> bool:
        return self._closed

    def offer(self, record: StatusRecord) -> bool:
        """Queue `record`; False when the subscription is closed or full."""
        if self._closed:
            return False
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            return False
        return True

    def close(self) -> None:
        """End the iteration; what was still queued is dropped (the client replays it)."""
        if self._closed:
            return
        self._closed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> StatusRecord:
        if self._ended:
            raise StopAsyncIteration
        record = await self._queue.get()
        if record is None:
            self._ended = True
            raise StopAsyncIteration
        return record
