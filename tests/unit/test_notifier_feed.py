"""A buyer connection's feed against an in-memory buyer stream: order, resume, gaps, dedupe."""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from contracts import EntryId, OrderStatus, OrderStatusChanged
from services.notifier.feed import HistoryUnavailable, Page, already_finished, follow_statuses
from services.notifier.hub import Bell, StatusHub
from services.notifier.metrics import HISTORY_UNAVAILABLE
from services.notifier.records import HistoryReset, StatusRecord

FLOW = (OrderStatus.RECEIVED, OrderStatus.RESERVED, OrderStatus.PAID, OrderStatus.CONFIRMED)
AFTER_SALE = (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
BUYER = "buyer-1"
Item = StatusRecord | HistoryReset


def status(checkout_id: str, state: OrderStatus, sequence: int = 1) -> OrderStatusChanged:
    return OrderStatusChanged(
        checkout_id=checkout_id,
        order_id=f"o-{checkout_id}",
        buyer_id=BUYER,
        room_id="room-1",
        status=state,
        sequence=sequence,
        total_minor=1999,
        currency="EUR",
    )


@dataclass
class FakeBuyerStream:
    """The `BuyerHistory` port in memory; `None` entries stand for malformed ones."""

    entries: list[tuple[EntryId, StatusRecord | None]] = field(default_factory=list)
    next_ms: int = 1000
    entries_read: int = 0
    reads: int = 0
    read_twice: asyncio.Event = field(default_factory=asyncio.Event)

    def append(self, checkout_id: str, state: OrderStatus, *, event_id: str = "") -> EntryId:
        entry_id = EntryId(self.next_ms, 0)
        self.next_ms += 1
        event_id = event_id or f"e{entry_id.ms}"
        sequence = (FLOW + AFTER_SALE).index(state) + 1 if state in FLOW + AFTER_SALE else 5
        record = StatusRecord(entry_id, event_id, status(checkout_id, state, sequence))
        self.entries.append((entry_id, record))
        return entry_id

    def append_malformed(self) -> EntryId:
        entry_id = EntryId(self.next_ms, 0)
        self.next_ms += 1
        self.entries.append((entry_id, None))
        return entry_id

    def trim(self, keep: int) -> None:
        self.entries = self.entries[-keep:] if keep else []

    async def first_id(self, buyer_id: str) -> EntryId | None:
        self.entries_read += min(1, len(self.entries))
        return self.entries[0][0] if self.entries else None

    async def read_after(self, buyer_id: str, after: EntryId | None, *, count: int) -> Page:
        self.reads += 1
        if self.reads >= 2:
            self.read_twice.set()
        chosen = [e for e in self.entries if after is None or e[0] > after][:count]
        return self._page(chosen)

    async def read_back(
        self, buyer_id: str, until: EntryId, *, inclusive: bool, count: int
    ) -> Page:
        newest_first = reversed(self.entries)
        chosen = [e for e in newest_first if e[0] < until or (inclusive and e[0] == until)]
        return self._page(chosen[:count])

    def _page(self, chosen: list[tuple[EntryId, StatusRecord | None]]) -> Page:
        self.entries_read += len(chosen)
        records = [record for _, record in chosen if record is not None]
        return Page(records, chosen[-1][0] if chosen else None, len(chosen))


async def take(feed: AsyncIterator[Item], n: int) -> list[Item]:
    async with asyncio.timeout(2):
        return [await anext(feed) for _ in range(n)]


def ids(items: list[Item]) -> list[EntryId | None]:
    return [item.entry_id if isinstance(item, StatusRecord) else None for item in items]


async def test_history_comes_first_then_live_statuses_after_the_doorbell() -> None:
    stream, hub = FakeBuyerStream(), StatusHub()
    first = stream.append("c1", OrderStatus.RECEIVED)
    with hub.listen(BUYER) as bell:
        feed = follow_statuses(history=stream, bell=bell, after=None)
        assert ids(await take(feed, 1)) == [first]
        second = stream.append("c1", OrderStatus.RESERVED)
        hub.publish(event_id=f"e{second.ms}", status=status("c1", OrderStatus.RESERVED))
        assert ids(await take(feed, 1)) == [second]
        await feed.aclose()


async def test_a_resume_gets_exactly_the_missed_statuses_reading_only_what_is_new() -> None:
    stream = FakeBuyerStream()
    seen = [stream.append(f"c{i}", OrderStatus.RECEIVED) for i in range(5)]
    missed = [stream.append(f"c{i}", OrderStatus.RESERVED) for i in range(150)]
    feed = follow_statuses(history=stream, bell=Bell(BUYER), after=seen[-1])
    assert ids(await take(feed, 150)) == missed
    await feed.aclose()
    assert stream.entries_read == 1 + 150  # the first-entry probe, then only the missed ones


async def test_a_resume_older_than_the_retained_history_starts_with_a_reset() -> None:
    stream = FakeBuyerStream()
    seen = stream.append("c1", OrderStatus.RECEIVED)
    lost = stream.append("c1", OrderStatus.RESERVED)
    kept = [stream.append("c1", OrderStatus.PAID), stream.append("c1", OrderStatus.CONFIRMED)]
    stream.trim(keep=2)
    items = await take(follow_statuses(history=stream, bell=Bell(BUYER), after=seen), 3)
    assert items[0] == HistoryReset()
    assert ids(items[1:]) == kept
    assert lost not in ids(items)


async def test_a_resume_on_a_stream_that_expired_gets_a_reset_and_then_waits() -> None:
    stream = FakeBuyerStream()
    seen = stream.append("c1", OrderStatus.RECEIVED)
    stream.trim(keep=0)
    bell = Bell(BUYER)
    feed = follow_statuses(history=stream, bell=bell, after=seen)
    assert await take(feed, 1) == [HistoryReset()]
    bell.close()
    assert [item async for item in feed] == []


async def test_a_resume_from_the_oldest_retained_entry_is_no_gap() -> None:
    stream = FakeBuyerStream()
    oldest = stream.append("c1", OrderStatus.RECEIVED)
    newer = stream.append("c1", OrderStatus.RESERVED)
    assert ids(await take(follow_statuses(history=stream, bell=Bell(BUYER), after=oldest), 1)) == [
        newer
    ]


async def test_an_event_in_the_stream_twice_is_delivered_once_and_malformed_ones_are_passed() -> (
    None
):
    stream = FakeBuyerStream()
    first = stream.append("c1", OrderStatus.RECEIVED, event_id="same")
    stream.append("c1", OrderStatus.RECEIVED, event_id="same")
    stream.append_malformed()
    last = stream.append("c1", OrderStatus.RESERVED)
    assert ids(await take(follow_statuses(history=stream, bell=Bell(BUYER), after=None), 2)) == [
        first,
        last,
    ]


async def test_a_checkout_feed_shows_only_its_checkout_and_ends_after_the_final_status() -> None:
    stream = FakeBuyerStream()
    mine = []
    for state in FLOW:
        mine.append(stream.append("c1", state))
        stream.append("c2", OrderStatus.RECEIVED)
    stream.append("c1", OrderStatus.CONFIRMED)  # after the final: never sent
    feed = follow_statuses(history=stream, bell=Bell(BUYER), after=None, checkout_id="c1")
    async with asyncio.timeout(2):
        assert ids([item async for item in feed]) == mine


async def test_a_doorbell_ringing_before_the_buyer_stream_has_the_status_is_retried() -> None:
    stream, hub = FakeBuyerStream(), StatusHub()
    with hub.listen(BUYER) as bell:
        feed = follow_statuses(history=stream, bell=bell, after=None)
        hub.publish(event_id="late", status=status("c1", OrderStatus.RECEIVED))
        waiting = asyncio.create_task(anext(feed))
        async with asyncio.timeout(2):
            await stream.read_twice.wait()  # read, found nothing, read again: it retries
        late = stream.append("c1", OrderStatus.RECEIVED, event_id="late")
        async with asyncio.timeout(2):
            item = await waiting
        assert isinstance(item, StatusRecord)
        assert item.entry_id == late
        await feed.aclose()


async def test_a_client_that_saw_the_final_status_is_told_it_is_finished() -> None:
    stream = FakeBuyerStream()
    flow = [stream.append("c1", state) for state in FLOW]
    later = stream.append("c2", OrderStatus.RECEIVED)
    assert await already_finished(stream, BUYER, "c1", after=flow[-1])
    assert await already_finished(stream, BUYER, "c1", after=later)
    assert not await already_finished(stream, BUYER, "c1", after=flow[-2])
    assert not await already_finished(stream, BUYER, "c1", after=None)
    assert not await already_finished(stream, BUYER, "c9", after=later)


async def test_statuses_after_the_sale_reach_the_buyers_feed_like_every_other() -> None:
    stream, hub = FakeBuyerStream(), StatusHub()
    flow = [stream.append("c1", state) for state in FLOW]
    with hub.listen(BUYER) as bell:
        feed = follow_statuses(history=stream, bell=bell, after=None)
        assert ids(await take(feed, 4)) == flow
        later = []
        for state in (*AFTER_SALE, OrderStatus.SHIPPED):
            later.append(stream.append("c1", state))
            hub.publish(event_id=f"e{later[-1].ms}", status=status("c1", state))
        items = await take(feed, 3)
        await feed.aclose()
    assert ids(items) == later
    assert [item.status.status for item in items if isinstance(item, StatusRecord)] == [
        OrderStatus.CANCELLED,
        OrderStatus.REFUNDED,
        OrderStatus.SHIPPED,
    ]


async def test_a_checkout_feed_ends_at_confirmed_leaving_the_cancellation_to_the_buyers() -> None:
    stream = FakeBuyerStream()
    flow = [stream.append("c1", state) for state in FLOW]
    for state in AFTER_SALE:
        stream.append("c1", state)
    feed = follow_statuses(history=stream, bell=Bell(BUYER), after=None, checkout_id="c1")
    async with asyncio.timeout(2):
        assert ids([item async for item in feed]) == flow


async def test_a_checkout_feed_whose_final_status_was_trimmed_ends_at_the_after_sale_one() -> None:
    stream = FakeBuyerStream()
    for state in FLOW:
        stream.append("c1", state)
    cancelled = stream.append("c1", OrderStatus.CANCELLED)
    stream.append("c1", OrderStatus.REFUNDED)
    stream.trim(keep=2)
    feed = follow_statuses(history=stream, bell=Bell(BUYER), after=None, checkout_id="c1")
    async with asyncio.timeout(2):
        assert ids([item async for item in feed]) == [cancelled]


async def test_a_client_whose_last_entry_is_after_a_cancellation_is_told_it_is_finished() -> None:
    stream = FakeBuyerStream()
    flow = [stream.append("c1", state) for state in FLOW]
    cancelled = stream.append("c1", OrderStatus.CANCELLED)
    later = stream.append("c2", OrderStatus.RECEIVED)
    assert await already_finished(stream, BUYER, "c1", after=cancelled)
    assert await already_finished(stream, BUYER, "c1", after=later)
    assert await already_finished(stream, BUYER, "c1", after=flow[-1])
    assert not await already_finished(stream, BUYER, "c1", after=flow[-2])


@dataclass
class FlakyBuyerStream(FakeBuyerStream):
    """Unavailable for its first `failures` reads, as a pool with no free connection."""

    failures: int = 0

    async def read_after(self, buyer_id: str, after: EntryId | None, *, count: int) -> Page:
        if self.failures:
            self.failures -= 1
            raise HistoryUnavailable("No connection available.")
        return await super().read_after(buyer_id, after, count=count)

    async def first_id(self, buyer_id: str) -> EntryId | None:
        if self.failures:
            self.failures -= 1
            raise HistoryUnavailable("No connection available.")
        return await super().first_id(buyer_id)


async def test_a_history_that_does_not_answer_is_read_again_and_the_stream_stays_open() -> None:
    stream, hub = FlakyBuyerStream(failures=3), StatusHub()
    first = stream.append("c1", OrderStatus.RECEIVED)
    unavailable = HISTORY_UNAVAILABLE._value.get()
    with hub.listen(BUYER) as bell:
        feed = follow_statuses(history=stream, bell=bell, after=None)
        assert ids(await take(feed, 1)) == [first]
        stream.failures = 2  # the next live read meets a busy pool too
        second = stream.append("c1", OrderStatus.RESERVED)
        hub.publish(event_id=f"e{second.ms}", status=status("c1", OrderStatus.RESERVED))
        assert ids(await take(feed, 1)) == [second]
        await feed.aclose()
    assert HISTORY_UNAVAILABLE._value.get() - unavailable == 5


async def test_a_resume_whose_first_read_does_not_answer_still_gets_what_it_missed() -> None:
    stream, hub = FlakyBuyerStream(), StatusHub()
    seen = stream.append("c1", OrderStatus.RECEIVED)
    missed = stream.append("c1", OrderStatus.RESERVED)
    stream.failures = 1  # first_id: is the resume point still in the stream?
    with hub.listen(BUYER) as bell:
        feed = follow_statuses(history=stream, bell=bell, after=seen)
        assert ids(await take(feed, 1)) == [missed]
        await feed.aclose()
