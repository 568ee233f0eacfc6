"""The storefront's use cases with a fake room reader and publisher: no broker, no database."""

import asyncio
import dataclasses
from collections.abc import Sequence

import pytest

from contracts import CheckoutRequestedEvent, ProductSnapshot
from services.storefront.adapters.repository import CachedRoomReader
from services.storefront.domain import (
    CheckoutRequest,
    IdempotencyKeyReused,
    InvalidCheckout,
    LiveState,
    PinnedProduct,
    RequestedItem,
    Room,
    RoomNotFound,
    derive_checkout_id,
    request_fingerprint,
)
from services.storefront.live_catalog import LiveCatalog, ProductDetails, StockLevel
from services.storefront.service import (
    CheckoutUnavailable,
    KeyClaim,
    ShowcaseUnavailable,
    accept_checkout,
    apply_catalog_change,
    get_live_room,
    get_room,
)

ROOM = Room(
    "demo", "Drop", "seller-1", "Mia", (PinnedProduct("MUG", "Mug", 1490, "EUR", 2),),
    state=LiveState.LIVE,
)  # fmt: skip


class FakeRooms:
    def __init__(self, *rooms: Room) -> None:
        self.rooms = {room.room_id: room for room in rooms}
        self.reads = 0
        self.fail = False

    async def get_room(self, room_id: str) -> Room | None:
        self.reads += 1
        if self.fail:
            raise OSError("database unreachable")
        return self.rooms.get(room_id)


async def event_loop_turns(turns: int = 5) -> None:
    """Let background tasks (a refresh and its clean-up) run."""
    for _ in range(turns):
        await asyncio.sleep(0)


class SlowRooms(FakeRooms):
    """Answers after a few event-loop turns, as a database does."""

    async def get_room(self, room_id: str) -> Room | None:
        await event_loop_turns()
        return await super().get_room(room_id)


class FakePublisher:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.events: list[CheckoutRequestedEvent] = []

    async def publish(self, event: CheckoutRequestedEvent) -> None:
        if self.fail:
            raise CheckoutUnavailable("redis is down")
        self.events.append(event)


class FakeLedger:
    """The Redis ledger's semantics in a dict: claim if free, else the earlier claim."""

    def __init__(self) -> None:
        self.claims: dict[str, KeyClaim] = {}

    async def claim(self, checkout_id: str, fingerprint: str) -> KeyClaim | None:
        earlier = self.claims.get(checkout_id)
        if earlier is None:
            self.claims[checkout_id] = KeyClaim(fingerprint, accepted=False)
        return earlier

    async def accepted(self, checkout_id: str, fingerprint: str) -> None:
        if checkout_id in self.claims:
            self.claims[checkout_id] = KeyClaim(fingerprint, accepted=True)

    async def release(self, checkout_id: str) -> None:
        self.claims.pop(checkout_id, None)


class FakeShowcase:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.writes: list[list[ProductDetails]] = []

    async def update_details(self, details: Sequence[ProductDetails]) -> None:
        if self.fail:
            raise ShowcaseUnavailable("database is down")
        self.writes.append(list(details))


def product(*, available: int, version: int, price_minor: int = 1490) -> ProductSnapshot:
    return ProductSnapshot(
        sku="MUG", title="Mug", price_minor=price_minor, currency="EUR",
        available=available, sold=0, version=version,
    )  # fmt: skip


def request(quantity: int = 1, key: str | None = None) -> CheckoutRequest:
    return CheckoutRequest("demo", "buyer-1", (RequestedItem("MUG", quantity),), key)


async def test_an_accepted_checkout_publishes_one_event_correlated_by_its_checkout_id() -> None:
    publisher = FakePublisher()
    accepted = await accept_checkout(
        rooms=FakeRooms(ROOM), publisher=publisher, ledger=FakeLedger(), request=request(2, "k")
    )

    assert accepted.checkout_id == derive_checkout_id(buyer_id="buyer-1", idempotency_key="k")
    [event] = publisher.events
    assert event.correlation_id == event.data.checkout_id == accepted.checkout_id
    assert (event.type, event.version, event.producer) == ("checkout.requested", 1, "storefront")
    assert event.data.idempotency_key == "k"
    assert [(i.sku, i.quantity) for i in event.data.items] == [("MUG", 2)]


async def test_an_invalid_checkout_publishes_nothing() -> None:
    publisher = FakePublisher()
    with pytest.raises(InvalidCheckout) as raised:
        await accept_checkout(
            rooms=FakeRooms(ROOM), publisher=publisher, ledger=FakeLedger(), request=request(3)
        )
    assert [v.loc for v in raised.value.violations] == [("items", 0, "quantity")]
    assert publisher.events == []


async def test_a_stream_that_cannot_accept_the_checkout_is_reported_as_unavailable() -> None:
    with pytest.raises(CheckoutUnavailable):
        await accept_checkout(
            rooms=FakeRooms(ROOM),
            publisher=FakePublisher(fail=True),
            ledger=FakeLedger(),
            request=request(),
        )


async def test_a_retry_with_the_same_key_and_cart_gets_the_same_id_and_appends_nothing() -> None:
    publisher, ledger = FakePublisher(), FakeLedger()
    first = await accept_checkout(
        rooms=FakeRooms(ROOM), publisher=publisher, ledger=ledger, request=request(1, "k")
    )
    again = await accept_checkout(
        rooms=FakeRooms(ROOM), publisher=publisher, ledger=ledger, request=request(1, "k")
    )

    assert first == again
    assert len(publisher.events) == 1


async def test_the_same_key_with_another_cart_is_refused_and_appends_nothing() -> None:
    publisher, ledger = FakePublisher(), FakeLedger()
    await accept_checkout(
        rooms=FakeRooms(ROOM), publisher=publisher, ledger=ledger, request=request(1, "k")
    )
    with pytest.raises(IdempotencyKeyReused):
        await accept_checkout(
            rooms=FakeRooms(ROOM), publisher=publisher, ledger=ledger, request=request(2, "k")
        )
    assert len(publisher.events) == 1


async def test_a_key_whose_checkout_was_not_accepted_is_free_for_the_retry() -> None:
    ledger = FakeLedger()
    with pytest.raises(CheckoutUnavailable):
        await accept_checkout(
            rooms=FakeRooms(ROOM),
            publisher=FakePublisher(fail=True),
            ledger=ledger,
            request=request(1, "k"),
        )
    with pytest.raises(InvalidCheckout):
        await accept_checkout(
            rooms=FakeRooms(ROOM), publisher=FakePublisher(), ledger=ledger, request=request(3, "k")
        )
    publisher = FakePublisher()
    await accept_checkout(
        rooms=FakeRooms(ROOM), publisher=publisher, ledger=ledger, request=request(2, "k")
    )
    assert len(publisher.events) == 1


async def test_a_claim_left_pending_is_published_again_on_retry() -> None:
    # The first request's XADD failed and its claim could not be released: the retry must
    # not answer 202 for a checkout that is in no stream (the marketplace dedupes by id).
    ledger, publisher = FakeLedger(), FakePublisher()
    checkout_id = derive_checkout_id(buyer_id="buyer-1", idempotency_key="k")
    await ledger.claim(checkout_id, request_fingerprint(request(1, "k")))

    accepted = await accept_checkout(
        rooms=FakeRooms(ROOM), publisher=publisher, ledger=ledger, request=request(1, "k")
    )

    assert accepted.checkout_id == checkout_id
    assert len(publisher.events) == 1
    assert ledger.claims[checkout_id].accepted


async def test_an_unknown_room_is_not_found() -> None:
    with pytest.raises(RoomNotFound):
        await get_room(rooms=FakeRooms(), room_id="nowhere")


async def test_a_room_past_its_cache_time_is_answered_at_once_and_refreshed_behind() -> None:
    now = [100.0]
    inner = FakeRooms(ROOM)
    rooms = CachedRoomReader(inner, ttl=2.0, clock=lambda: now[0])

    assert await rooms.get_room("demo") == await rooms.get_room("demo") == ROOM
    assert inner.reads == 1
    now[0] += 2.5
    renamed = dataclasses.replace(ROOM, title="Renamed")
    inner.rooms["demo"] = renamed
    assert await rooms.get_room("demo") == ROOM  # the kept room, without waiting
    assert await rooms.get_room("demo") == ROOM  # one refresh is enough
    await event_loop_turns()
    assert inner.reads == 2
    assert await rooms.get_room("demo") == renamed


async def test_lookups_of_a_room_not_kept_yet_share_one_read() -> None:
    inner = SlowRooms(ROOM)
    rooms = CachedRoomReader(inner, ttl=2.0)

    found = await asyncio.gather(*(rooms.get_room("demo") for _ in range(50)))

    assert found == [ROOM] * 50
    assert inner.reads == 1


async def test_a_failed_refresh_keeps_answering_with_the_kept_room() -> None:
    now = [0.0]
    inner = FakeRooms(ROOM)
    rooms = CachedRoomReader(inner, ttl=2.0, clock=lambda: now[0])
    await rooms.get_room("demo")
    inner.fail = True
    now[0] += 3

    assert await rooms.get_room("demo") == ROOM
    await event_loop_turns()
    assert await rooms.get_room("demo") == ROOM
    await event_loop_turns()
    assert inner.reads == 3  # each lookup past the cache time tries again


async def test_a_cache_time_of_zero_reads_every_time() -> None:
    inner = FakeRooms(ROOM)
    rooms = CachedRoomReader(inner, ttl=0)
    await rooms.get_room("demo")
    await rooms.get_room("demo")
    assert inner.reads == 2


async def test_an_unknown_room_is_not_cached_so_a_new_room_shows_at_once() -> None:
    inner = FakeRooms()
    rooms = CachedRoomReader(inner, ttl=60.0, clock=lambda: 0.0)
    assert await rooms.get_room("demo") is None
    inner.rooms["demo"] = ROOM
    assert await rooms.get_room("demo") == ROOM


async def test_a_forgotten_room_is_read_afresh_and_a_read_in_flight_is_not_kept() -> None:
    inner = SlowRooms(ROOM)
    rooms = CachedRoomReader(inner, ttl=60.0, clock=lambda: 0.0)
    await rooms.get_room("demo")
    changed = dataclasses.replace(ROOM, title="Drop, live again")
    inner.rooms["demo"] = changed

    rooms.forget("demo")
    in_flight = asyncio.ensure_future(rooms.get_room("demo"))
    await event_loop_turns(1)
    rooms.forget("demo")  # changed again while that read runs: its answer may be stale

    assert await in_flight == changed
    assert await rooms.get_room("demo") == changed
    assert inner.reads == 3  # the in-flight answer was not kept: the last lookup read again
    assert await rooms.get_room("demo") == changed
    assert inner.reads == 3  # and that one was


async def test_a_live_room_carries_the_stock_of_the_products_the_catalog_announced() -> None:
    catalog = LiveCatalog()
    catalog.apply([product(available=3, version=2)])

    live = await get_live_room(rooms=FakeRooms(ROOM), stock=catalog, room_id="demo")

    assert live.room == ROOM
    assert live.stock == {"MUG": StockLevel(3, 2)}
    assert live.available("MUG") == 3
    assert live.available("HOODIE") is None


async def test_a_catalog_change_copies_a_new_price_once_and_stock_changes_never() -> None:
    catalog, showcase = LiveCatalog(), FakeShowcase()

    for snapshot in (
        product(available=5, version=1),
        product(available=4, version=2),
        product(available=4, version=3, price_minor=990),
        product(available=9, version=1),  # older: ignored
    ):
        await apply_catalog_change(catalog=catalog, showcase=showcase, products=[snapshot])

    assert [[d.price_minor for d in write] for write in showcase.writes] == [[1490], [990]]
    assert catalog.stock("MUG") == StockLevel(4, 3)


async def test_a_failed_showcase_write_keeps_the_stock_and_is_retried_with_the_next_snapshot() -> (
    None
):
    catalog, showcase = LiveCatalog(), FakeShowcase(fail=True)
    await apply_catalog_change(
        catalog=catalog, showcase=showcase, products=[product(available=2, version=1)]
    )
    assert catalog.stock("MUG") == StockLevel(2, 1)

    showcase.fail = False
    await apply_catalog_change(
        catalog=catalog, showcase=showcase, products=[product(available=1, version=2)]
    )
    assert [[d.sku for d in write] for write in showcase.writes] == [["MUG"]]
