"""The seller's use cases on the storefront: sign in, create a room, go live and end it,
pin and unpin products, start and end flash deals, and read the post-live report.

Every change of a room is announced (`room.changed`, `flash_deal.requested`) inside its
database transaction, which commits only once the stream holds the event: a change that
could not be announced is rolled back and answered 503, so the marketplace and the open
rooms never miss one. Rules are the domain's; this module only orders the steps.
"""

import logging
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from contracts import (
    FlashDealRequested,
    FlashDealRequestedEvent,
    RoomChanged,
    RoomChangedEvent,
    RoomSales,
    new_event_id,
    utc_now,
)
from services.common.seller_auth import NewSession, SellerSession
from services.storefront import domain
from services.storefront.domain import CatalogProduct, Deal, Room, check_host, is_identifier
from services.storefront.service import PRODUCER, EventUnavailable, LiveEventPublisher

log = logging.getLogger(__name__)


class WrongLogin(PermissionError):
    """No account has this email and password."""


class DealNotFound(LookupError):
    def __init__(self, deal_id: str) -> None:
        super().__init__(f"no deal {deal_id!r} in this room")
        self.deal_id = deal_id


@dataclass(frozen=True, slots=True)
class SellerAccount:
    seller_id: str
    email: str
    name: str


class SellerAccounts(Protocol):
    async def authenticate(self, email: str, password: str) -> SellerAccount | None:
        """The account when email and password match one (the same work when not)."""
        ...

    async def start_session(self, seller_id: str, *, ttl: timedelta) -> NewSession: ...
    async def session(self, token: str) -> SellerSession | None: ...
    async def end_session(self, token: str) -> None: ...


class RoomWork(Protocol):
    """One transaction on the seller's rooms; nothing is kept unless `commit` is called."""

    async def room(self, room_id: str) -> Room | None: ...
    async def catalog_product(self, sku: str) -> CatalogProduct | None: ...
    async def add_room(self, room: Room) -> None: ...
    async def save_room(self, room: Room) -> None: ...
    async def save_pins(self, room: Room) -> None: ...
    async def deals(self, room_id: str) -> list[Deal]: ...
    async def save_deal(self, deal: Deal) -> None: ...
    async def commit(self) -> None: ...


class LiveControlStore(Protocol):
    def work(self) -> AbstractAsyncContextManager[RoomWork]: ...
    async def room(self, room_id: str) -> Room | None: ...
    async def rooms_of(self, seller_id: str) -> list[Room]: ...
    async def catalog_of(self, seller_id: str) -> list[CatalogProduct]: ...
    async def deals_of(self, room_id: str) -> list[Deal]: ...
    async def viewers(self, room_id: str) -> int: ...
    async def figures(self, room_id: str) -> RoomSales | None: ...


class RoomCache(Protocol):
    def forget(self, room_id: str) -> None:
        """Drop the kept copy of the room: the next read sees the change."""


@dataclass(frozen=True, slots=True)
class LiveControl:
    """What the seller's use cases work with."""

    store: LiveControlStore
    events: LiveEventPublisher
    cache: RoomCache
    clock: Callable[[], datetime] = utc_now
    new_id: Callable[[], str] = new_event_id


# ---- signing in ----------------------------------------------------------------------------


async def sign_in(
    *, accounts: SellerAccounts, email: str, password: str, ttl: timedelta
) -> tuple[SellerSession, NewSession]:
    """A new session for the seller with this email and password; WrongLogin otherwise."""
    seller = await accounts.authenticate(email, password)
    if seller is None:
        raise WrongLogin("wrong email or password")
    session = await accounts.start_session(seller.seller_id, ttl=ttl)
    return SellerSession(seller.seller_id, seller.name, session.csrf_token), session


# ---- rooms -----------------------------------------------------------------------------------


def room_id_for(title: str, *, suffix: str | None = None) -> str:
    """A readable, unique room id: the title's ASCII slug and a random suffix."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:40].rstrip("-")
    return f"{slug or 'room'}-{suffix or uuid.uuid4().hex[:8]}"


def room_changed_event(room: Room) -> RoomChangedEvent:
    return RoomChangedEvent.new(
        correlation_id=room.room_id,
        producer=PRODUCER,
        data=RoomChanged(
            room_id=room.room_id, state=room.state.value, skus=[p.sku for p in room.products]
        ),
    )


class RoomDirectory(Protocol):
    async def rooms_to_announce(self, *, ended_since: datetime, limit: int) -> list[Room]:
        """Rooms not ended, and those ended since `ended_since`; at most `limit`."""
        ...


ANNOUNCE_ENDED_FOR = timedelta(days=1)
MAX_ANNOUNCED_ROOMS = 10_000


async def announce_rooms(
    *, directory: RoomDirectory, events: LiveEventPublisher, clock: Callable[[], datetime] = utc_now
) -> int:
    """Announce the rooms on `room.changed` as they are (at start-up), so a notifier knows
    every room that exists, even one whose last announcement was trimmed from the stream;
    how many. A notifier that already knows a room as it is pushes nothing to its pages.

    Raises EventUnavailable when the stream cannot take them."""
    rooms = await directory.rooms_to_announce(
        ended_since=clock() - ANNOUNCE_ENDED_FOR, limit=MAX_ANNOUNCED_ROOMS
    )
    for room in rooms:
        await events.publish(room_changed_event(room))
    return len(rooms)


async def create_room(
    control: LiveControl,
    *,
    seller: SellerSession,
    title: str,
    scheduled_at: datetime | None,
    stream_url: str | None,
) -> Room:
    room = domain.schedule_room(
        room_id=room_id_for(title), seller_id=seller.seller_id, seller_name=seller.name,
        title=title, scheduled_at=scheduled_at, stream_url=stream_url, now=control.clock(),
    )  # fmt: skip
    async with control.store.work() as work:
        await work.add_room(room)
        await work.commit()
    # The notifier serves the streams of announced rooms only. Best effort: a room not
    # announced now is with its next change (going live, a pin) or the next start-up.
    try:
        await control.events.publish(room_changed_event(room))
    except EventUnavailable as exc:
        log.warning("new room %r not announced yet: %s", room.room_id, exc)
    return room


async def _owned(work: RoomWork, *, seller: SellerSession, room_id: str) -> Room:
    room = await work.room(room_id) if is_identifier(room_id) else None
    return check_host(room, room_id=room_id, seller_id=seller.seller_id)


async def _announce(control: LiveControl, work: RoomWork, room: Room) -> Room:
    await control.events.publish(room_changed_event(room))
    await work.commit()
    control.cache.forget(room.room_id)
    return room


async def go_live(control: LiveControl, *, seller: SellerSession, room_id: str) -> Room:
    async with control.store.work() as work:
        room = domain.go_live(
            await _owned(work, seller=seller, room_id=room_id), now=control.clock()
        )
        await work.save_room(room)
        return await _announce(control, work, room)


async def end_live(control: LiveControl, *, seller: SellerSession, room_id: str) -> Room:
    async with control.store.work() as work:
        room = domain.end_live(
            await _owned(work, seller=seller, room_id=room_id), now=control.clock()
        )
        await work.save_room(room)
        return await _announce(control, work, room)


async def pin_product(
    control: LiveControl, *, seller: SellerSession, room_id: str, sku: str, max_per_checkout: int
) -> Room:
    async with control.store.work() as work:
        room = await _owned(work, seller=seller, room_id=room_id)
        product = await work.catalog_product(sku) if is_identifier(sku) else None
        room = domain.pin(room, product, max_per_checkout=max_per_checkout)
        await work.save_pins(room)
        return await _announce(control, work, room)


async def unpin_product(
    control: LiveControl, *, seller: SellerSession, room_id: str, sku: str
) -> Room:
    async with control.store.work() as work:
        room = domain.unpin(await _owned(work, seller=seller, room_id=room_id), sku)
        await work.save_pins(room)
        return await _announce(control, work, room)


# ---- flash deals ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DealTerms:
    """What the seller asked for in the deal form (or its JSON twin)."""

    sku: str
    price_minor: int
    units_cap: int
    per_buyer_limit: int
    starts_at: datetime | None = None
    starts_in_seconds: int | None = None


def flash_deal_event(deal: Deal, *, seller_id: str) -> FlashDealRequestedEvent:
    return FlashDealRequestedEvent.new(
        correlation_id=deal.deal_id,
        producer=PRODUCER,
        data=FlashDealRequested(
            deal_id=deal.deal_id, seller_id=seller_id, room_id=deal.room_id, sku=deal.sku,
            price_minor=deal.price_minor, units_cap=deal.units_cap,
            per_buyer_limit=deal.per_buyer_limit, starts_at=deal.starts_at, ends_at=deal.ends_at,
        ),
    )  # fmt: skip


async def start_deal(
    control: LiveControl, *, seller: SellerSession, room_id: str, terms: DealTerms
) -> Deal:
    """Ask the marketplace for a new deal on a product pinned in the seller's room."""
    now = control.clock()
    starts_at = domain.deal_start(
        starts_at=terms.starts_at, starts_in_seconds=terms.starts_in_seconds, now=now
    )
    async with control.store.work() as work:
        room = await _owned(work, seller=seller, room_id=room_id)
        deal = Deal(
            control.new_id(), room_id, terms.sku, terms.price_minor,
            terms.units_cap, terms.per_buyer_limit, starts_at,
        )  # fmt: skip
        deal = domain.plan_deal(room, deal, open_deals=await work.deals(room_id), now=now)
        await work.save_deal(deal)
        await control.events.publish(flash_deal_event(deal, seller_id=seller.seller_id))
        await work.commit()
    return deal


async def end_deal(
    control: LiveControl, *, seller: SellerSession, room_id: str, deal_id: str
) -> Deal:
    """The same deal again, ending now."""
    async with control.store.work() as work:
        await _owned(work, seller=seller, room_id=room_id)
        deal = next((d for d in await work.deals(room_id) if d.deal_id == deal_id), None)
        if deal is None:
            raise DealNotFound(deal_id)
        deal = domain.end_deal(deal, now=control.clock())
        await work.save_deal(deal)
        await control.events.publish(flash_deal_event(deal, seller_id=seller.seller_id))
        await work.commit()
    return deal


# ---- what the seller reads -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SellerRoom:
    """A room as its live control shows it: pins, the seller's catalog, deals asked for."""

    room: Room
    catalog: Sequence[CatalogProduct]
    deals: Sequence[Deal]
    now: datetime

    def open_deal(self, sku: str) -> Deal | None:
        return next((d for d in self.deals if d.sku == sku and d.is_open(self.now)), None)


async def owned_room(control: LiveControl, *, seller: SellerSession, room_id: str) -> Room:
    return check_host(
        await control.store.room(room_id), room_id=room_id, seller_id=seller.seller_id
    )


async def seller_room(control: LiveControl, *, seller: SellerSession, room_id: str) -> SellerRoom:
    room = await owned_room(control, seller=seller, room_id=room_id)
    catalog = await control.store.catalog_of(seller.seller_id)
    deals = await control.store.deals_of(room_id)
    return SellerRoom(room, catalog, deals, control.clock())


@dataclass(frozen=True, slots=True)
class ProductFigures:
    sku: str
    title: str
    currency: str | None
    units: int
    revenue_minor: int


@dataclass(frozen=True, slots=True)
class RoomReport:
    """The live's funnel: viewers → taps (checkouts received) → confirmed, and the rest."""

    room: Room
    viewers: int
    sales: RoomSales
    products: tuple[ProductFigures, ...]

    @property
    def taps_per_viewer(self) -> float | None:
        return _ratio(self.sales.checkouts, self.viewers)

    @property
    def confirmed_per_tap(self) -> float | None:
        return _ratio(self.sales.confirmed, self.sales.checkouts)

    @property
    def confirmed_per_viewer(self) -> float | None:
        return _ratio(self.sales.confirmed, self.viewers)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


async def report(control: LiveControl, *, seller: SellerSession, room_id: str) -> RoomReport:
    """The report of the seller's room (all zeros until the marketplace counted anything)."""
    room = await owned_room(control, seller=seller, room_id=room_id)
    sales = await control.store.figures(room_id) or RoomSales(
        room_id=room_id, checkouts=0, confirmed=0, expired=0
    )
    known = {p.sku: (p.title, p.currency) for p in await control.store.catalog_of(seller.seller_id)}
    known |= {p.sku: (p.title, p.currency) for p in room.products}
    skus = [*(p.sku for p in room.products), *sales.revenue_minor_by_sku, *sales.units_sold]

    def figures(sku: str) -> ProductFigures:
        title, currency = known.get(sku, (sku, None))
        units, revenue = sales.units_sold.get(sku, 0), sales.revenue_minor_by_sku.get(sku, 0)
        return ProductFigures(sku, title, currency, units, revenue)

    products = tuple(figures(sku) for sku in dict.fromkeys(skus))
    return RoomReport(room, await control.store.viewers(room_id), sales, products)
