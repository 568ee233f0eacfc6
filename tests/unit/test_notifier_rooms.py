"""Live rooms without any I/O: highest version per sku, coalesced pushes, bounded purchases."""

import asyncio
import json
from datetime import UTC, datetime

from contracts import (
    CheckoutItem,
    DealSnapshot,
    OrderStatus,
    OrderStatusChanged,
    ProductSnapshot,
    RoomChanged,
    RoomSales,
)
from services.notifier.room_events import Purchase, RoomEvent
from services.notifier.room_watch import RoomWatch
from services.notifier.rooms import RoomHub


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def product(sku: str, version: int, available: int = 10) -> ProductSnapshot:
    return ProductSnapshot(
        sku=sku, title=sku, price_minor=500, currency="EUR", available=available, sold=0,
        version=version,
    )  # fmt: skip


def confirmed(room_id: str, *, buyer_id: str = "buyer-secret") -> OrderStatusChanged:
    return OrderStatusChanged(
        checkout_id="co-1", order_id="order-secret", buyer_id=buyer_id, room_id=room_id,
        status=OrderStatus.CONFIRMED, sequence=4, total_minor=1000, currency="EUR",
        items=[CheckoutItem(sku="mug", quantity=2)],
    )  # fmt: skip


def names(events: list[RoomEvent]) -> list[str]:
    return [event.name for event in events]


def test_the_highest_version_of_a_product_wins_whatever_the_order_of_arrival() -> None:
    hub = RoomHub()
    assert hub.update_stock([product("mug", 3, available=7)]) == 1
    assert hub.update_stock([product("mug", 2, available=9), product("cap", 1)]) == 1
    assert [(p.sku, p.available) for p in hub.stock()] == [("cap", 10), ("mug", 7)]
    assert [p.sku for p in hub.stock(frozenset({"mug", "unknown"}))] == ["mug"]


def test_many_stock_changes_within_an_interval_become_one_push_of_the_latest_values() -> None:
    clock = Clock()
    watch = RoomWatch("r1", None, interval=0.25, max_pending=8, clock=clock)
    watch.offer_stock(product("mug", 1))
    events, due = watch.take(clock.now)
    assert (names(events), due) == (["stock"], None)  # the first change goes at once
    for version in range(2, 52):
        watch.offer_stock(product("mug", version, available=100 - version))
    events, due = watch.take(clock.now + 0.1)
    assert (events, due) == ([], clock.now + 0.25)  # too soon: wait until the interval is up
    clock.now += 0.25
    events, due = watch.take(clock.now)
    assert names(events) == ["stock"]
    (latest,) = json.loads(events[0].data)
    assert (latest["version"], latest["available"]) == (51, 49)


def test_purchases_go_out_at_once_and_coalesced_values_wait_for_their_turn() -> None:
    clock = Clock()
    watch = RoomWatch("r1", None, interval=0.25, max_pending=8, clock=clock)
    watch.offer_viewers(3)
    assert names(watch.take(clock.now)[0]) == ["viewers"]
    watch.offer_viewers(4)
    watch.offer_sales(RoomSales(room_id="r1", checkouts=1, confirmed=1, expired=0))
    watch.offer_purchase(Purchase.from_status(confirmed("r1")))
    assert names(watch.take(clock.now)[0]) == ["purchase"]
    events, _ = watch.take(clock.now + 0.25)
    assert names(events) == ["sales", "viewers"]
    assert json.loads(events[1].data) == {"count": 4}


def test_a_purchase_names_what_was_bought_but_never_the_buyer_or_the_order() -> None:
    hub = RoomHub()
    with hub.watch("r1") as (watch, _), hub.watch("r2") as (elsewhere, _):
        hub.purchase(confirmed("r1"))
        (event,) = watch.take(1e9)[0]
        assert elsewhere.take(1e9)[0] == []
    data = json.loads(event.data)
    assert data == {
        "items": [{"sku": "mug", "quantity": 2}],
        "total_minor": 1000,
        "currency": "EUR",
    }
    assert "buyer-secret" not in event.data
    assert "order-secret" not in event.data


def test_a_connection_that_stops_taking_purchases_is_dropped_when_its_queue_is_full() -> None:
    hub = RoomHub(max_pending=3)
    with hub.watch("r1") as (watch, _):
        for _ in range(3):
            hub.purchase(confirmed("r1"))
        assert not watch.closed
        hub.purchase(confirmed("r1"))
        assert watch.closed
    assert hub.viewers("r1") == 0


def test_a_connection_sees_only_the_skus_it_asked_for() -> None:
    hub = RoomHub()
    with hub.watch("r1", frozenset({"mug"})) as (watch, _):
        hub.update_stock([product("mug", 1), product("cap", 1)])
        (event,) = watch.take(1e9)[0]
    assert [p["sku"] for p in json.loads(event.data)] == ["mug"]


def test_the_snapshot_has_stock_sales_and_viewers_and_others_learn_the_new_count() -> None:
    hub = RoomHub()
    hub.update_stock([product("mug", 1), product("cap", 1)])
    hub.update_sales(RoomSales(room_id="r1", checkouts=5, confirmed=4, expired=1))
    hub.update_sales(RoomSales(room_id="r1", checkouts=6, confirmed=5, expired=1))
    with hub.watch("r1") as (first, _):
        with hub.watch("r1", frozenset({"mug"})) as (_, snapshot):
            assert [p.sku for p in snapshot.stock] == ["mug"]
            assert snapshot.sales is not None
            assert snapshot.sales.checkouts == 6
            assert snapshot.viewers == 2
            assert json.loads(first.take(1e9)[0][-1].data) == {"count": 2}
        assert json.loads(first.take(2e9)[0][-1].data) == {"count": 1}
    assert hub.viewers("r1") == 0


def test_sales_are_remembered_for_a_bounded_number_of_rooms() -> None:
    hub = RoomHub(max_rooms=2)
    for room in ("r1", "r2", "r3"):
        hub.update_sales(RoomSales(room_id=room, checkouts=1, confirmed=0, expired=0))
    assert hub.sales("r1") is None
    assert hub.sales("r3") is not None


async def test_a_waiting_connection_wakes_for_a_purchase_and_ends_when_closed() -> None:
    hub = RoomHub()
    with hub.watch("r1") as (watch, _):
        waiting = asyncio.create_task(watch.next_events())
        await asyncio.sleep(0)
        hub.purchase(confirmed("r1"))
        async with asyncio.timeout(1):
            assert names(await waiting) == ["purchase"]
        hub.close()
        async with asyncio.timeout(1):
            assert await watch.next_events() == []


def on_deal(sku: str, version: int) -> ProductSnapshot:
    """A catalog.changed v2 product: its seller, its image and a flash deal."""
    deal = DealSnapshot(
        deal_id="deal-1", room_id="r1", price_minor=300, units_cap=50, units_taken=7,
        per_buyer_limit=2, starts_at=datetime(2026, 12, 5, 20, 0, tzinfo=UTC),
        ends_at=datetime(2026, 12, 5, 20, 15, tzinfo=UTC),
    )  # fmt: skip
    return product(sku, version).model_copy(
        update={"seller_id": "demo-seller", "image_url": "/static/mug.png", "deal": deal}
    )


def test_a_room_change_reaches_only_that_rooms_connections_as_the_storefront_sent_it() -> None:
    hub = RoomHub()
    change = RoomChanged(room_id="r1", state="live", skus=["mug", "cap"])
    with hub.watch("r1") as (watch, _), hub.watch("r2") as (elsewhere, _):
        hub.room_changed(change)
        (event,) = watch.take(1e9)[0]
        assert elsewhere.take(1e9)[0] == []
    assert event.name == "room"
    assert json.loads(event.data) == {"room_id": "r1", "state": "live", "skus": ["mug", "cap"]}
    assert event.frame.startswith(b"event: room\r\ndata: {")


def test_room_changes_within_an_interval_become_one_push_of_the_latest_before_the_stock() -> None:
    clock = Clock()
    hub = RoomHub(interval=0.25, clock=clock)
    with hub.watch("r1") as (watch, _):
        hub.room_changed(RoomChanged(room_id="r1", state="live", skus=["mug"]))
        assert names(watch.take(clock.now)[0]) == ["room"]  # the first goes at once
        hub.room_changed(RoomChanged(room_id="r1", state="live", skus=["mug", "cap"]))
        hub.update_stock([product("mug", 1)])
        hub.room_changed(RoomChanged(room_id="r1", state="ended", skus=[]))
        assert watch.take(clock.now + 0.1)[0] == []  # too soon
        events, _ = watch.take(clock.now + 0.25)
    assert names(events) == ["room", "stock"]
    assert json.loads(events[0].data)["state"] == "ended"


def test_a_room_change_to_a_room_nobody_watches_is_not_kept() -> None:
    hub = RoomHub()
    hub.room_changed(RoomChanged(room_id="r1", state="live", skus=["mug"]))
    with hub.watch("r1") as (watch, snapshot):
        assert watch.take(1e9)[0] == []
    assert "room" not in snapshot.model_dump()


async def test_a_waiting_connection_wakes_for_a_room_change() -> None:
    hub = RoomHub()
    with hub.watch("r1") as (watch, _):
        waiting = asyncio.create_task(watch.next_events())
        await asyncio.sleep(0)
        hub.room_changed(RoomChanged(room_id="r1", state="scheduled"))
        async with asyncio.timeout(1):
            assert names(await waiting) == ["room"]


def test_the_seller_image_and_deal_of_a_v2_product_reach_stock_and_snapshot_events() -> None:
    hub = RoomHub()
    hub.update_stock([on_deal("mug", 1)])
    with hub.watch("r1", frozenset({"mug"})) as (watch, snapshot):
        hub.update_stock([on_deal("mug", 2)])
        (event,) = watch.take(1e9)[0]
    (pushed,) = json.loads(event.data)
    (snapshotted,) = json.loads(RoomEvent.snapshot(snapshot).data)["stock"]
    for sent in (pushed, snapshotted):
        assert (sent["seller_id"], sent["image_url"]) == ("demo-seller", "/static/mug.png")
        assert sent["deal"] == {
            "deal_id": "deal-1", "room_id": "r1", "price_minor": 300, "units_cap": 50,
            "units_taken": 7, "per_buyer_limit": 2, "starts_at": "2026-12-05T20:00:00Z",
            "ends_at": "2026-12-05T20:15:00Z",
        }  # fmt: skip
    assert (pushed["version"], snapshotted["version"]) == (2, 1)
