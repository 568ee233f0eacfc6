"""The notifier's doorbell hub and records without any I/O: ids, dedupe, owners, bells."""

import asyncio

import pytest

from contracts import EntryId, OrderStatus, OrderStatusChanged
from services.notifier.hub import Bell, StatusHub
from services.notifier.records import RecentIds


def status(
    checkout_id: str, state: OrderStatus = OrderStatus.RECEIVED, *, buyer_id: str = "buyer-1"
) -> OrderStatusChanged:
    return OrderStatusChanged(
        checkout_id=checkout_id,
        order_id=f"o-{checkout_id}",
        buyer_id=buyer_id,
        room_id="room-1",
        status=state,
        sequence=1,
        total_minor=1999,
        currency="EUR",
    )


def test_entry_ids_compare_as_numbers_not_as_text() -> None:
    assert EntryId.parse("10-0") > EntryId.parse("9-5")
    assert EntryId.parse(b"1795831750546-10") > EntryId.parse("1795831750546-9")
    assert str(EntryId.parse("1795831750546-0")) == "1795831750546-0"


NOT_ENTRY_IDS = ["", "12", "a-1", "1-b", "-1", "1--1", "1-2-3", "\u0661-1", "$", ">"]


@pytest.mark.parametrize("text", NOT_ENTRY_IDS)
def test_text_that_is_not_an_entry_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="entry id"):
        EntryId.parse(text)


def test_recent_ids_remember_a_bounded_number_forgetting_the_oldest() -> None:
    ids = RecentIds(maxlen=2)
    assert [ids.add("a"), ids.add("a"), ids.add("b"), ids.add("c")] == [True, False, True, True]
    assert "a" not in ids
    assert {"b", "c"} == {x for x in ("a", "b", "c") if x in ids}
    assert len(ids) == 2


def test_a_status_the_relay_sent_twice_rings_and_counts_once() -> None:
    hub = StatusHub()
    with hub.listen("buyer-1") as bell:
        assert hub.publish(event_id="e1", status=status("c1"))
        assert not hub.publish(event_id="e1", status=status("c1"))
        assert bell.settle(seen=set())  # one event expected
        assert not bell.settle(seen={"e1"})
    assert hub.statuses_seen == 2


async def test_a_status_rings_only_the_connections_of_its_buyer() -> None:
    hub = StatusHub()
    with hub.listen("buyer-1") as mine, hub.listen("buyer-2") as theirs:
        hub.publish(event_id="e1", status=status("c1", buyer_id="buyer-1"))
        async with asyncio.timeout(1):
            assert await mine.wait(None)
        assert theirs.settle(seen=set()) is False
        assert hub.connections() == 2
    assert hub.connections() == 0


def test_a_status_read_as_history_at_start_is_remembered_but_rings_no_bell() -> None:
    hub = StatusHub()
    with hub.listen("buyer-1") as bell:
        assert hub.publish(event_id="e1", status=status("c1"), ring=False)
        assert not bell.settle(seen=set())
    assert hub.owner_of("c1") == "buyer-1"
    assert not hub.publish(event_id="e1", status=status("c1"))


def test_the_hub_remembers_whose_checkout_is_whose_within_a_bound() -> None:
    hub = StatusHub(max_checkouts=2)
    hub.publish(event_id="e1", status=status("c1", buyer_id="ann"))
    hub.publish(event_id="e2", status=status("c2", buyer_id="bob"))
    hub.publish(event_id="e3", status=status("c1", OrderStatus.RESERVED, buyer_id="ann"))
    hub.publish(event_id="e4", status=status("c3", buyer_id="cy"))
    assert hub.owner_of("c1") == "ann"
    assert hub.owner_of("c2") is None  # least recently updated, forgotten
    assert hub.owner_of("c3") == "cy"


async def test_a_bell_waits_until_rung_or_the_timeout_and_reports_closing() -> None:
    bell = Bell("buyer-1")
    async with asyncio.timeout(1):
        assert await bell.wait(0.01)  # timed out, still open
        bell.ring("e1")
        assert await bell.wait(None)  # rung: returns at once
        bell.close()
        assert not await bell.wait(None)


def test_a_bell_keeps_a_bounded_number_of_expected_events() -> None:
    bell = Bell("buyer-1", max_expected=3)
    for i in range(10):
        bell.ring(f"e{i}")
    assert bell.settle(seen={"e0", "e1"})
    assert not bell.settle(seen={"e2"})  # e3..e9 were never kept: memory stays bounded


def test_closing_the_hub_closes_every_bell() -> None:
    hub = StatusHub()
    with hub.listen("buyer-1") as first, hub.listen("buyer-2") as second:
        hub.close()
        assert first.closed
        assert second.closed
