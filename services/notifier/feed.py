"""One browser's view of a buyer's statuses: what it missed, then live ones (pure asyncio).

Everything is read from the buyer's own capped stream through the `BuyerHistory`
port; the hub's bell says when to read again. A connection's cost is what is new
for its buyer, never the length of `order.status`.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

from contracts import EntryId
from services.common.backoff import Backoff
from services.notifier.hub import Bell
from services.notifier.metrics import HISTORY_UNAVAILABLE
from services.notifier.records import HistoryReset, RecentIds, StatusRecord

log = logging.getLogger(__name__)

PAGE_SIZE = 100
RETRY_DELAYS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
"""Re-reads when the doorbell rang for a status not yet in the buyer's stream."""
REMEMBERED_EVENTS = 512
"""Event ids one connection deduplicates on: more than a buyer stream holds (~200)."""
UNAVAILABLE_BASE_SECONDS, UNAVAILABLE_CAP_SECONDS = 0.05, 2.0
"""Pauses between reads of a history that did not answer (doubling, jittered)."""

T = TypeVar("T")


class HistoryUnavailable(Exception):
    """The buyer's stream could not be read just now (Redis away, every connection busy).
    The feed waits and reads again: the client keeps its stream and misses nothing."""


@dataclass(frozen=True, slots=True)
class Page:
    """Entries read in one call: the valid records, and the id of the last entry read
    (malformed ones included, so the next read starts after them)."""

    records: list[StatusRecord]
    last_id: EntryId | None
    size: int


class BuyerHistory(Protocol):
    """Read access to one buyer's status stream (XRANGE / XREVRANGE only)."""

    async def first_id(self, buyer_id: str) -> EntryId | None:
        """The oldest retained entry; None when the stream is empty or gone."""
        ...

    async def read_after(self, buyer_id: str, after: EntryId | None, *, count: int) -> Page:
        """Up to `count` entries after `after` (from the start when None), oldest first."""
        ...

    async def read_back(
        self, buyer_id: str, until: EntryId, *, inclusive: bool, count: int
    ) -> Page:
        """Up to `count` entries at or before `until`, newest first."""
        ...


async def follow_statuses(
    *,
    history: BuyerHistory,
    bell: Bell,
    after: EntryId | None,
    checkout_id: str | None = None,
    resync_seconds: float = 60.0,
) -> AsyncGenerator[StatusRecord | HistoryReset, None]:
    """The buyer's statuses after entry `after`, in stream order, each event once, then live.

    `bell` must be listening before this starts, so nothing is lost between the history
    and the first ring. With `checkout_id`, only that checkout's statuses, ending after
    its final one (or after an after-sale one, when the final one is no longer in the
    stream). Ends when the bell is closed.
    """
    buyer_id = bell.buyer_id
    cursor = _Cursor(after)
    if after is not None and await _patiently(
        partial(history_expired, history, buyer_id, after=after), buyer_id
    ):
        yield HistoryReset()
    misses = 0
    while True:
        async for record in _read_new(history, buyer_id, cursor):
            if checkout_id is None or record.status.checkout_id == checkout_id:
                yield record
                if checkout_id is not None and record.ends_checkout:
                    return
        missing = bell.settle(cursor.seen)
        if missing and misses < len(RETRY_DELAYS):
            await asyncio.sleep(RETRY_DELAYS[misses])
            misses += 1
            continue
        if missing:
            log.warning("doorbell rang for statuses of %s not in its stream; waiting", buyer_id)
            bell.forget()
        misses = 0
        if not await bell.wait(resync_seconds):
            return


async def history_expired(history: BuyerHistory, buyer_id: str, *, after: EntryId) -> bool:
    """True when the stream no longer reaches back to `after`: its oldest entry is newer
    (trimmed), or it is gone (expired). Costs one entry."""
    first = await history.first_id(buyer_id)
    return first is None or after < first


async def already_finished(
    history: BuyerHistory, buyer_id: str, checkout_id: str, *, after: EntryId | None
) -> bool:
    """True when the client's last seen entry is at or after the checkout's final status.

    Reads back from `after` to the checkout's newest status at or before it: usually
    one entry, as a finished stream's last id is its final status. A status after the
    sale (cancelled, refunded, shipped) there means the final one came before.
    """
    if after is None:
        return False
    until, inclusive = after, True
    while True:
        read = partial(history.read_back, buyer_id, until, inclusive=inclusive, count=PAGE_SIZE)
        page = await _patiently(read, buyer_id)
        for record in page.records:
            if record.status.checkout_id == checkout_id:
                return record.ends_checkout
        if page.last_id is None or page.size < PAGE_SIZE:
            return False
        until, inclusive = page.last_id, False


async def _read_new(
    history: BuyerHistory, buyer_id: str, cursor: "_Cursor"
) -> AsyncGenerator[StatusRecord, None]:
    while True:
        read = partial(history.read_after, buyer_id, cursor.last, count=PAGE_SIZE)
        page = await _patiently(read, buyer_id)
        for record in cursor.fresh(page):
            yield record
        if page.size < PAGE_SIZE:
            return


async def _patiently(read: Callable[[], Awaitable[T]], buyer_id: str) -> T:
    """`read()`, again after a pause each time the history is unavailable. Under a flash
    sale the history client's connections can all be busy for longer than a read may
    wait; ending the stream there made the browser reconnect into the same crowd."""
    backoff: Backoff | None = None  # made on the first failure: reads run per status
    while True:
        try:
            return await read()
        except HistoryUnavailable as exc:
            HISTORY_UNAVAILABLE.inc()
            if backoff is None:
                log.warning("buyer history of %s unavailable, reading again: %s", buyer_id, exc)
                backoff = Backoff(UNAVAILABLE_BASE_SECONDS, UNAVAILABLE_CAP_SECONDS, jitter=0.5)
            await asyncio.sleep(backoff.failed())


class _Cursor:
    """The last entry read and the event ids seen: every event reaches the client once."""

    def __init__(self, after: EntryId | None) -> None:
        self.last = after
        self.seen = RecentIds(REMEMBERED_EVENTS)

    def fresh(self, page: Page) -> Iterable[StatusRecord]:
        for record in page.records:
            if self.last is not None and record.entry_id <= self.last:
                continue
            self.last = record.entry_id
            if self.seen.add(record.event_id):
                yield record
        if page.last_id is not None and (self.last is None or page.last_id > self.last):
            self.last = page.last_id
