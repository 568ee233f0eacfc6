"""The seller's live control without I/O: the room's state machine, pin rules, the deal
form's rules, and the use cases' order of steps (announce, then commit) with fakes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts import FlashDealRequestedEvent, RoomSales
from services.common.seller_auth import SellerSession
from services.storefront import domain, live_control
from services.storefront.domain import (
    MAX_PINNED,
    CatalogProduct,
    Deal,
    InvalidRoomChange,
    LiveState,
    NotYourRoom,
    PinnedProduct,
    Room,
    RoomNotFound,
    RoomStateConflict,
)
from services.storefront.live_control import DealTerms, LiveControl, RoomWork
from services.storefront.service import EventUnavailable, LiveEvent

NOW = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
MIA = SellerSession("mia", "Mia", "csrf")
MUG = CatalogProduct("mia", "MUG", "Mug", 1490, "EUR", "https://img.test/mug.jpg")
CAP = CatalogProduct("mia", "CAP", "Cap", 2490, "EUR")


def room(state: LiveState = LiveState.SCHEDULED, *products: PinnedProduct) -> Room:
    return Room("r-1", "Drop", "mia", "Mia", products, state=state)


def pinned_mug(cap: int = 2) -> PinnedProduct:
    return PinnedProduct("MUG", "Mug", 1490, "EUR", cap, 0, "https://img.test/mug.jpg")


# ---- the state machine ---------------------------------------------------------------------


def test_a_room_goes_from_scheduled_to_live_to_ended_and_never_back() -> None:
    live = domain.go_live(room(), now=NOW)
    ended = domain.end_live(live, now=NOW + timedelta(hours=1))

    assert (live.state, live.went_live_at) == (LiveState.LIVE, NOW)
    assert (ended.state, ended.ended_at) == (LiveState.ENDED, NOW + timedelta(hours=1))
    for change, state in [
        (domain.go_live, LiveState.LIVE),
        (domain.go_live, LiveState.ENDED),
        (domain.end_live, LiveState.SCHEDULED),
        (domain.end_live, LiveState.ENDED),
    ]:
        with pytest.raises(RoomStateConflict):
            change(room(state), now=NOW)


def test_a_new_room_is_scheduled_with_an_https_stream_and_a_time_within_a_year() -> None:
    made = domain.schedule_room(
        room_id="r", seller_id="mia", seller_name="Mia", title="Drop",
        scheduled_at=NOW + timedelta(days=3), stream_url="https://video.test/x", now=NOW,
    )  # fmt: skip
    assert made.state is LiveState.SCHEDULED
    for url in ("http://video.test/x", "https://", "ftp://x", "https://bad host/x", "//x"):
        assert domain.stream_url_problem(url), url
    for when in (NOW + timedelta(days=400), NOW - timedelta(days=2)):
        with pytest.raises(InvalidRoomChange):
            domain.schedule_room(
                room_id="r", seller_id="mia", seller_name="Mia", title="Drop",
                scheduled_at=when, stream_url=None, now=NOW,
            )  # fmt: skip


def test_the_room_id_is_a_readable_slug_of_the_title_and_always_an_identifier() -> None:
    assert live_control.room_id_for("Friday Night Drop!", suffix="ab12") == "friday-night-drop-ab12"
    assert live_control.room_id_for("Crème brûlée", suffix="x") == "creme-brulee-x"
    assert live_control.room_id_for("日本語", suffix="x") == "room-x"
    assert domain.is_identifier(live_control.room_id_for("a" * 300))


def test_buying_is_refused_in_a_room_that_is_not_live() -> None:
    request = domain.CheckoutRequest("r-1", "b-1", (domain.RequestedItem("MUG", 1),))
    for state in (LiveState.SCHEDULED, LiveState.ENDED):
        [violation] = domain.checkout_violations(room(state, pinned_mug()), request)
        assert (violation.loc, violation.type) == (("room_id",), "room_not_live")
    assert domain.checkout_violations(room(LiveState.LIVE, pinned_mug()), request) == []


# ---- pins ----------------------------------------------------------------------------------


def test_pinning_copies_the_catalog_product_and_places_it_last() -> None:
    first = domain.pin(room(), MUG, max_per_checkout=2)
    both = domain.pin(first, CAP, max_per_checkout=5)
    again = domain.pin(both, replace(MUG, title="Mug XL"), max_per_checkout=3)

    assert first.products == (pinned_mug(),)
    assert [(p.sku, p.position) for p in both.products] == [("MUG", 0), ("CAP", 1)]
    assert [(p.sku, p.title, p.max_per_checkout) for p in again.products] == [
        ("MUG", "Mug XL", 3), ("CAP", "Cap", 5)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("product", "cap", "reason"),
    [
        (None, 1, "sku_not_in_catalog"),
        (replace(MUG, seller_id="rival"), 1, "sku_not_in_catalog"),
        (MUG, 0, "out_of_range"),
        (MUG, 101, "out_of_range"),
    ],
)
def test_only_the_sellers_own_products_are_pinned_with_a_sane_cap(
    product: CatalogProduct | None, cap: int, reason: str
) -> None:
    with pytest.raises(InvalidRoomChange) as refused:
        domain.pin(room(), product, max_per_checkout=cap)
    assert refused.value.violations[0].type == reason


def test_a_room_holds_a_bounded_number_of_pins_and_an_ended_one_none_changed() -> None:
    full = room(
        LiveState.LIVE, *(PinnedProduct(f"S{i}", "x", 1, "EUR", 1, i) for i in range(MAX_PINNED))
    )
    with pytest.raises(InvalidRoomChange):
        domain.pin(full, MUG, max_per_checkout=1)
    with pytest.raises(RoomStateConflict):
        domain.pin(room(LiveState.ENDED), MUG, max_per_checkout=1)
    with pytest.raises(RoomStateConflict):
        domain.unpin(room(LiveState.ENDED, pinned_mug()), "MUG")
    with pytest.raises(InvalidRoomChange):
        domain.unpin(room(LiveState.LIVE), "MUG")
    assert domain.unpin(room(LiveState.LIVE, pinned_mug()), "MUG").products == ()


def test_a_room_is_its_hosts_only() -> None:
    with pytest.raises(NotYourRoom):
        domain.check_host(room(), room_id="r-1", seller_id="rival")
    with pytest.raises(RoomNotFound):
        domain.check_host(None, room_id="r-9", seller_id="mia")


# ---- the deal form -------------------------------------------------------------------------


def test_a_deal_starts_now_in_n_seconds_or_at_a_time_within_the_next_day() -> None:
    start = domain.deal_start
    assert start(starts_at=None, starts_in_seconds=None, now=NOW) == NOW
    assert start(starts_at=None, starts_in_seconds=90, now=NOW) == NOW + timedelta(seconds=90)
    assert start(
        starts_at=NOW + timedelta(hours=2), starts_in_seconds=None, now=NOW
    ) == NOW + timedelta(hours=2)
    for at, seconds in [
        (NOW, 10),  # both
        (None, 86_401),
        (None, -1),
        (NOW - timedelta(minutes=5), None),
        (NOW + timedelta(days=2), None),
    ]:
        with pytest.raises(InvalidRoomChange):
            start(starts_at=at, starts_in_seconds=seconds, now=NOW)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("9.90", "EUR", 990), ("10", "EUR", 1000), (" 0.5 ", "USD", 50), ("1500", "JPY", 1500)],
)
def test_a_typed_price_is_read_in_minor_units(text: str, currency: str, minor: int) -> None:
    assert domain.parse_price(text, currency) == minor


@pytest.mark.parametrize("text", ["", "abc", "-1", "9.999", "NaN", "Infinity", "1e20", "12.5"])
def test_a_price_that_is_no_price_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="price"):
        domain.parse_price(text, "JPY" if text == "12.5" else "EUR")


def deal(**changes: object) -> Deal:
    return replace(Deal("d-1", "r-1", "MUG", 990, 10, 2, NOW), **changes)  # type: ignore[arg-type]


def test_a_deal_needs_a_pinned_product_without_another_deal_running() -> None:
    live = room(LiveState.LIVE, pinned_mug())
    assert domain.plan_deal(live, deal(), open_deals=[], now=NOW) == deal()
    ended_before = deal(deal_id="d-0", ends_at=NOW - timedelta(minutes=1))
    assert domain.plan_deal(live, deal(), open_deals=[ended_before], now=NOW) == deal()
    with pytest.raises(RoomStateConflict, match="running"):
        domain.plan_deal(live, deal(), open_deals=[deal(deal_id="d-0")], now=NOW)
    with pytest.raises(InvalidRoomChange):
        domain.plan_deal(live, deal(sku="CAP"), open_deals=[], now=NOW)
    with pytest.raises(RoomStateConflict):
        domain.plan_deal(replace(live, state=LiveState.ENDED), deal(), open_deals=[], now=NOW)


def test_ending_a_deal_is_the_same_deal_ending_now_and_only_once() -> None:
    ended = domain.end_deal(deal(), now=NOW + timedelta(minutes=3))
    assert ended == deal(ends_at=NOW + timedelta(minutes=3))
    with pytest.raises(RoomStateConflict):
        domain.end_deal(ended, now=NOW + timedelta(minutes=4))


# ---- the use cases, with fakes -------------------------------------------------------------


class FakeWork:
    def __init__(self, store: "FakeStore") -> None:
        self.store, self.rooms = store, dict(store.rooms)
        self.deal_rows = dict(store.deal_rows)

    async def room(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    async def catalog_product(self, sku: str) -> CatalogProduct | None:
        return next((p for p in self.store.catalog if p.sku == sku), None)

    async def add_room(self, room: Room) -> None:
        self.rooms[room.room_id] = room

    async def save_room(self, room: Room) -> None:
        self.rooms[room.room_id] = room

    save_pins = save_room

    async def deals(self, room_id: str) -> list[Deal]:
        return [d for d in self.deal_rows.values() if d.room_id == room_id]

    async def save_deal(self, deal: Deal) -> None:
        self.deal_rows[deal.deal_id] = deal

    async def commit(self) -> None:
        self.store.rooms, self.store.deal_rows = self.rooms, self.deal_rows


class FakeStore:
    def __init__(self, *rooms: Room) -> None:
        self.rooms = {r.room_id: r for r in rooms}
        self.deal_rows: dict[str, Deal] = {}
        self.catalog = [MUG, CAP]

    @asynccontextmanager
    async def work(self) -> AsyncIterator[RoomWork]:
        yield FakeWork(self)

    async def room(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    async def rooms_of(self, seller_id: str) -> list[Room]:
        return [r for r in self.rooms.values() if r.seller_id == seller_id]

    async def catalog_of(self, seller_id: str) -> list[CatalogProduct]:
        return [p for p in self.catalog if p.seller_id == seller_id]

    async def deals_of(self, room_id: str) -> list[Deal]:
        return [d for d in self.deal_rows.values() if d.room_id == room_id]

    async def viewers(self, room_id: str) -> int:
        return 4

    async def figures(self, room_id: str) -> RoomSales | None:
        return RoomSales(
            room_id=room_id, checkouts=8, confirmed=2, expired=1, units_sold={"MUG": 3},
            revenue_minor_by_sku={"MUG": 2970},
        )  # fmt: skip


class FakeEvents:
    def __init__(self, *, down: bool = False) -> None:
        self.down, self.events = down, list[LiveEvent]()

    async def publish(self, event: LiveEvent) -> None:
        if self.down:
            raise EventUnavailable("redis is down")
        self.events.append(event)


class FakeCache:
    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget(self, room_id: str) -> None:
        self.forgotten.append(room_id)


def control(store: FakeStore, events: FakeEvents) -> LiveControl:
    ids = iter(["deal-1", "deal-2"])
    return LiveControl(store, events, FakeCache(), clock=lambda: NOW, new_id=lambda: next(ids))


async def test_a_pin_is_announced_then_kept_and_the_cached_room_forgotten() -> None:
    store, events = FakeStore(room(LiveState.LIVE)), FakeEvents()
    ctl = control(store, events)

    changed = await live_control.pin_product(
        ctl, seller=MIA, room_id="r-1", sku="MUG", max_per_checkout=2
    )

    assert store.rooms["r-1"] == changed
    [event] = events.events
    assert (event.type, event.correlation_id, event.data.model_dump()) == (
        "room.changed", "r-1", {"room_id": "r-1", "state": "live", "skus": ["MUG"]}
    )  # fmt: skip
    assert ctl.cache.forgotten == ["r-1"]  # type: ignore[attr-defined]


async def test_a_change_that_cannot_be_announced_is_not_kept() -> None:
    store = FakeStore(room())
    ctl = control(store, FakeEvents(down=True))

    with pytest.raises(EventUnavailable):
        await live_control.go_live(ctl, seller=MIA, room_id="r-1")
    with pytest.raises(EventUnavailable):
        await live_control.pin_product(
            ctl, seller=MIA, room_id="r-1", sku="MUG", max_per_checkout=1
        )
    assert store.rooms["r-1"] == room()


async def test_another_sellers_room_is_refused_before_anything_happens() -> None:
    store, events = FakeStore(room()), FakeEvents()
    rival = SellerSession("rival", "Rival", "x")
    with pytest.raises(NotYourRoom):
        await live_control.go_live(control(store, events), seller=rival, room_id="r-1")
    with pytest.raises(RoomNotFound):
        await live_control.go_live(control(store, events), seller=MIA, room_id="bad id!")
    assert events.events == []


async def test_a_deal_is_asked_for_with_a_new_id_and_ended_with_the_same_one() -> None:
    store, events = FakeStore(room(LiveState.LIVE, pinned_mug())), FakeEvents()
    ctl = control(store, events)
    terms = DealTerms("MUG", 990, 10, 2, starts_in_seconds=30)

    started = await live_control.start_deal(ctl, seller=MIA, room_id="r-1", terms=terms)
    ended = await live_control.end_deal(ctl, seller=MIA, room_id="r-1", deal_id=started.deal_id)

    first, second = (e.data for e in events.events if isinstance(e, FlashDealRequestedEvent))
    assert first.model_dump() == {
        "deal_id": "deal-1", "seller_id": "mia", "room_id": "r-1", "sku": "MUG",
        "price_minor": 990, "units_cap": 10, "per_buyer_limit": 2,
        "starts_at": NOW + timedelta(seconds=30), "ends_at": None,
    }  # fmt: skip
    assert (second.deal_id, second.ends_at) == ("deal-1", NOW) == (ended.deal_id, ended.ends_at)
    assert events.events[0].correlation_id == "deal-1"
    with pytest.raises(live_control.DealNotFound):
        await live_control.end_deal(ctl, seller=MIA, room_id="r-1", deal_id="deal-9")


async def test_the_report_names_each_product_and_divides_only_by_what_is_not_zero() -> None:
    store = FakeStore(room(LiveState.ENDED, pinned_mug()))
    figures = await live_control.report(control(store, FakeEvents()), seller=MIA, room_id="r-1")

    assert (figures.viewers, figures.taps_per_viewer, figures.confirmed_per_tap) == (4, 2.0, 0.25)
    assert figures.confirmed_per_viewer == 0.5
    assert [(p.sku, p.title, p.units, p.revenue_minor) for p in figures.products] == [
        ("MUG", "Mug", 3, 2970)
    ]
    assert (
        live_control.RoomReport(
            room(), 0, RoomSales(room_id="r-1", checkouts=0, confirmed=0, expired=0), ()
        ).taps_per_viewer
        is None
    )


async def test_a_new_room_is_announced_so_the_notifier_streams_it() -> None:
    store, events = FakeStore(), FakeEvents()

    made = await live_control.create_room(
        control(store, events), seller=MIA, title="Drop", scheduled_at=None, stream_url=None
    )

    assert made.room_id in store.rooms
    [event] = events.events
    assert (event.type, event.correlation_id) == ("room.changed", made.room_id)


async def test_a_new_room_is_kept_even_when_its_announcement_cannot_be_sent() -> None:
    store = FakeStore()

    made = await live_control.create_room(
        control(store, FakeEvents(down=True)), seller=MIA, title="Drop", scheduled_at=None,
        stream_url=None,
    )  # fmt: skip

    assert made.room_id in store.rooms


class FakeDirectory:
    def __init__(self, *rooms: Room) -> None:
        self.rooms, self.asked = list(rooms), list[tuple[datetime, int]]()

    async def rooms_to_announce(self, *, ended_since: datetime, limit: int) -> list[Room]:
        self.asked.append((ended_since, limit))
        return self.rooms


async def test_at_start_every_room_to_announce_is_announced_as_it_is() -> None:
    live = room(LiveState.LIVE)
    directory, events = FakeDirectory(live, replace(live, room_id="r-2")), FakeEvents()

    count = await live_control.announce_rooms(directory=directory, events=events, clock=lambda: NOW)

    assert count == 2
    assert [(e.correlation_id, e.data.state) for e in events.events] == [  # type: ignore[union-attr]
        ("r-1", "live"),
        ("r-2", "live"),
    ]
    assert directory.asked == [(NOW - live_control.ANNOUNCE_ENDED_FOR, 10_000)]
