"""The notifier's hub and feed without any I/O: dedupe, order, Last-Event-ID, bounds."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from contracts import OrderStatus, OrderStatusChanged
from services.notifier.feed import already_finished, follow_checkout
from services.notifier.hub import StatusHub
from services.notifier.records import EntryId, StatusRecord

NOW = 1_800_000_000.0
NOW_MS = int(NOW * 1000)
FLOW = (OrderStatus.RECEIVED, OrderStatus.RESERVED, OrderStatus.PAID, OrderStatus.CONFIRMED)


def status(checkout_id: str, state: OrderStatus, sequence: int = 1) -> OrderStatusChanged:
    return OrderStatusChanged(
        checkout_id=checkout_id,
        order_id=f"o-{checkout_id}",
        buyer_id="buyer-1",
        room_id="room-1",
        status=state,
        sequence=sequence,
        total_minor=1999,
        currency="EUR",
    )


def entry(offset_ms: int, seq: int = 0) -> EntryId:
    return EntryId(NOW_MS + offset_ms, seq)


def make_hub(**kwargs: float) -> StatusHub:
    return StatusHub(clock=lambda: NOW, **kwargs)  # type: ignore[arg-type]


def publish_flow(hub: StatusHub, checkout_id: str, *, start_ms: int = 0) -> list[EntryId]:
    ids = [entry(start_ms + i) for i in range(len(FLOW))]
    for i, (entry_id, state) in enumerate(zip(ids, FLOW, strict=True)):
        hub.publish(
            entry_id=entry_id,
            event_id=f"{checkout_id}-e{i}",
            status=status(checkout_id, state, i + 1),
        )
    return ids


async def collect(records: AsyncIterator[StatusRecord]) -> list[StatusRecord]:
    async with asyncio.timeout(2):
        return [record async for record in records]


def test_entry_ids_compare_as_numbers_not_as_text() -> None:
    assert EntryId.parse("10-0") > EntryId.parse("9-5")
    assert EntryId.parse(b"1795831750546-1") > EntryId.parse("1795831750546-0")
    assert str(EntryId.parse("1795831750546-0")) == "1795831750546-0"


@pytest.mark.parametrize("text", ["", "12", "a-1", "1-b", "-1", "1--1", "1-2-3"])
def test_text_that_is_not_an_entry_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="entry id"):
        EntryId.parse(text)


def test_a_status_sent_twice_with_the_same_event_id_is_kept_once() -> None:
    hub = make_hub()
    first = hub.publish(entry_id=entry(1), event_id="e1", status=status("c1", OrderStatus.RECEIVED))
    again = hub.publish(entry_id=entry(2), event_id="e1", status=status("c1", OrderStatus.RECEIVED))
    assert (first, again) == (True, False)
    assert [r.entry_id for r in hub.history("c1")] == [entry(1)]


def test_an_entry_read_again_after_a_restart_of_the_reader_is_ignored() -> None:
    hub = make_hub()
    hub.publish(entry_id=entry(5), event_id="e5", status=status("c1", OrderStatus.RESERVED))
    assert not hub.publish(
        entry_id=entry(5), event_id="other", status=status("c1", OrderStatus.PAID)
    )
    assert not hub.publish(
        entry_id=entry(4), event_id="older", status=status("c1", OrderStatus.PAID)
    )
    assert len(hub.history("c1")) == 1


def test_history_keeps_stream_order_and_filters_after_a_numeric_last_event_id() -> None:
    hub = make_hub()
    ids = [EntryId(NOW_MS, 9), EntryId(NOW_MS, 10), EntryId(NOW_MS + 1, 0)]
    for i, entry_id in enumerate(ids):
        hub.publish(entry_id=entry_id, event_id=f"e{i}", status=status("c1", FLOW[i], i + 1))
    assert [r.entry_id for r in hub.history("c1")] == ids
    # As text "…-9" > "…-10"; as entry ids it is the other way round.
    assert [r.entry_id for r in hub.history("c1", after=ids[0])] == ids[1:]


async def test_a_follower_gets_history_then_live_statuses_and_stops_after_the_final_one() -> None:
    hub = make_hub()
    hub.publish(entry_id=entry(1), event_id="e1", status=status("c1", OrderStatus.RECEIVED))
    follower = follow_checkout(hub, "c1")
    first = await anext(follower)  # from history; the follower is subscribed by now
    hub.publish(entry_id=entry(2), event_id="e2", status=status("c1", OrderStatus.RESERVED, 2))
    hub.publish(entry_id=entry(3), event_id="e3", status=status("c1", OrderStatus.REJECTED, 3))
    hub.publish(entry_id=entry(4), event_id="e4", status=status("c1", OrderStatus.PAID, 4))
    records = [first, *await collect(follower)]
    assert [r.status.status for r in records] == ["received", "reserved", "rejected"]


async def test_a_follower_with_a_last_event_id_gets_exactly_what_it_missed() -> None:
    hub = make_hub()
    ids = publish_flow(hub, "c1")
    records = await collect(follow_checkout(hub, "c1", after=ids[1]))
    assert [r.entry_id for r in records] == ids[2:]


def test_a_client_that_saw_the_final_status_is_told_it_is_finished() -> None:
    hub = make_hub()
    ids = publish_flow(hub, "c1")
    assert already_finished(hub, "c1", after=ids[-1])
    assert not already_finished(hub, "c1", after=ids[-2])
    assert not already_finished(hub, "c1", after=None)


def test_least_recently_updated_checkouts_beyond_the_bound_are_forgotten() -> None:
    hub = make_hub(max_checkouts=2)
    for i, checkout_id in enumerate(["c1", "c2", "c1", "c3"]):
        hub.publish(entry_id=entry(i), event_id=f"e{i}", status=status(checkout_id, FLOW[0]))
    assert len(hub) == 2
    assert hub.history("c2") == []
    assert len(hub.history("c1")) == 2
    assert len(hub.history("c3")) == 1


def test_a_checkout_someone_follows_is_not_evicted() -> None:
    hub = make_hub(max_checkouts=1)
    hub.publish(entry_id=entry(1), event_id="e1", status=status("c1", FLOW[0]))
    with hub.subscribe("c1"):
        hub.publish(entry_id=entry(2), event_id="e2", status=status("c2", FLOW[0]))
        assert len(hub.history("c1")) == 1
    hub.publish(entry_id=entry(3), event_id="e3", status=status("c3", FLOW[0]))
    assert hub.history("c1") == []
    assert len(hub) == 1


def test_statuses_older_than_the_history_window_are_forgotten() -> None:
    hub = make_hub(history_seconds=60)
    hub.publish(entry_id=entry(-61_000), event_id="old", status=status("c-old", FLOW[0]))
    hub.publish(entry_id=entry(-61_000, 1), event_id="e1", status=status("c1", FLOW[0]))
    hub.publish(entry_id=entry(-1_000), event_id="e2", status=status("c1", FLOW[1], 2))
    assert hub.history("c-old") == []
    assert [r.event_id for r in hub.history("c1")] == ["e2"]
    assert len(hub) == 1


def test_a_subscription_to_a_checkout_without_statuses_leaves_nothing_behind() -> None:
    hub = make_hub()
    with hub.subscribe("nobody-published-this"):
        assert len(hub) == 1
    assert len(hub) == 0


async def test_a_subscriber_that_falls_too_far_behind_is_dropped_and_its_stream_ends() -> None:
    hub = make_hub(max_pending=2)
    with hub.subscribe("c1") as slow, hub.subscribe("c1") as fast:
        seen = []
        for i, state in enumerate(FLOW[:3]):
            hub.publish(entry_id=entry(i), event_id=f"e{i}", status=status("c1", state, i + 1))
            seen.append(await anext(fast))
        assert slow.closed
        assert not fast.closed
        assert await collect(slow) == []
        assert [r.status.status for r in seen] == ["received", "reserved", "paid"]


async def test_closing_the_hub_ends_every_live_stream() -> None:
    hub = make_hub()
    hub.publish(entry_id=entry(1), event_id="e1", status=status("c1", OrderStatus.RECEIVED))
    follower = follow_checkout(hub, "c1")
    await anext(follower)
    hub.close()
    assert await collect(follower) == []
