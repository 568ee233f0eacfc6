"""Live rooms as this replica knows them (pure asyncio): current stock per sku, the latest
sales per room, and the open room connections waiting for pushes.

Fed by the fan-out readers of `catalog.changed`, `room.sales`, `room.changed` and
`order.status`; the rooms' chat by those of `chat` and `room.reactions` (`RoomHub.chat`).
Rooms are the storefront's concept; a connection names the skus it shows.

Cost per event: one encoding, then a reference handed to each connection of the room.
The viewer count is announced to a room at most once per `interval`, and less often
in big rooms (`viewer_pushes_per_second` bounds the pushes it costs per room), so a
join costs O(1) and a room of 10,000 is not woken 10,000 times while it fills up.
"""

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator

from contracts import OrderStatusChanged, ProductSnapshot, RoomChanged, RoomSales
from services.notifier.chat import RoomChat
from services.notifier.room_events import Purchase, RoomEvent, RoomSnapshot, StockFrames
from services.notifier.room_watch import Audience, RoomWatch


class RoomHub:
    """Highest-version stock per sku, latest sales per room, and the room connections."""

    def __init__(
        self,
        *,
        interval: float = 0.25,
        max_pending: int = 256,
        max_rooms: int = 10_000,
        viewer_pushes_per_second: float = 4000.0,
        clock: Callable[[], float] = time.monotonic,
        chat_history: int = 50,
    ) -> None:
        self._interval = interval
        self._max_pending = max_pending
        self._max_rooms = max_rooms
        self._viewer_pushes_per_second = viewer_pushes_per_second
        self._clock = clock
        self._stock: dict[str, ProductSnapshot] = {}
        self._stock_frames = StockFrames()
        self._sales: OrderedDict[str, RoomSales] = OrderedDict()
        self._rooms: dict[str, Audience] = {}
        self._by_sku: dict[str, set[RoomWatch]] = {}
        self._every_sku: set[RoomWatch] = set()
        self.chat = RoomChat(
            push=self.push, interval=interval, history=chat_history, max_rooms=max_rooms
        )

    def update_stock(self, products: Iterable[ProductSnapshot]) -> int:
        """Keep each product if newer than what is known (by `version`); how many were."""
        changed = 0
        for product in products:
            known = self._stock.get(product.sku)
            if known is not None and known.version >= product.version:
                continue
            self._stock[product.sku] = product
            changed += 1
            for watch in (*self._by_sku.get(product.sku, ()), *self._every_sku):
                watch.offer_stock(product)
        return changed

    def update_sales(self, sales: RoomSales) -> None:
        """The latest sales snapshot of a room (snapshots arrive in stream order)."""
        self._sales[sales.room_id] = sales
        self._sales.move_to_end(sales.room_id)
        if len(self._sales) > self._max_rooms:
            self._sales.popitem(last=False)
        audience = self._rooms.get(sales.room_id)
        if audience is not None:
            event = RoomEvent.sales(sales)
            for watch in audience.watches:
                watch.offer_sales(event)

    def room_changed(self, change: RoomChanged) -> None:
        """The storefront changed the room (pins, live state): its open connections are
        told, and their pages reload the room. Not remembered: the storefront holds it."""
        audience = self._rooms.get(change.room_id)
        if audience is not None:
            event = RoomEvent.room(change)
            for watch in audience.watches:
                watch.offer_room(event)

    def purchase(self, status: OrderStatusChanged) -> None:
        """A confirmed order: onto the ticker of its room's connections, without the buyer."""
        if status.room_id in self._rooms:  # encoded only for a room someone watches
            self.push(status.room_id, RoomEvent.purchase(Purchase.from_status(status)))

    def push(self, room_id: str, event: RoomEvent) -> None:
        """Queue `event`, of which every one counts (a purchase, a chat message, a
        deletion, the reactions of a push), to every open connection of the room."""
        audience = self._rooms.get(room_id)
        if audience is not None:
            # A copy: a connection whose queue is full closes, but stays listed until
            # its stream ends.
            for watch in list(audience.watches):
                watch.offer_purchase(event)

    def stock(self, skus: frozenset[str] | None = None) -> list[ProductSnapshot]:
        """Known products, by sku; only `skus` when given."""
        wanted = sorted(self._stock) if skus is None else sorted(skus & self._stock.keys())
        return [self._stock[sku] for sku in wanted]

    def sales(self, room_id: str) -> RoomSales | None:
        return self._sales.get(room_id)

    def viewers(self, room_id: str) -> int:
        """Open connections to the room on this replica."""
        audience = self._rooms.get(room_id)
        return 0 if audience is None else audience.count

    @contextlib.contextmanager
    def watch(
        self, room_id: str, skus: frozenset[str] | None = None
    ) -> Iterator[tuple[RoomWatch, RoomSnapshot]]:
        """A connection to the room and the snapshot it starts from, until the block exits."""
        audience = self._rooms.get(room_id)
        opened = audience is None
        if audience is None:
            audience = self._rooms[room_id] = Audience(room_id)
        watch = RoomWatch(
            room_id, skus, interval=self._interval, max_pending=self._max_pending,
            clock=self._clock, audience=audience, stock_frames=self._stock_frames,
        )  # fmt: skip
        audience.watches.add(watch)
        for sku in skus or ():
            self._by_sku.setdefault(sku, set()).add(watch)
        if skus is None:
            self._every_sku.add(watch)
        if not opened:  # the first viewer has nobody to tell but itself
            self._viewers_changed(audience)
        watch.viewers_sent(audience.count)  # the snapshot carries it
        snapshot = RoomSnapshot(
            stock=self.stock(skus), sales=self.sales(room_id), viewers=audience.count,
            chat=self.chat.recent(room_id),
        )  # fmt: skip
        try:
            yield watch, snapshot
        finally:
            watch.close()
            self._forget(watch, audience)

    def upkeep(self, now: float, *, heartbeat: float, send_timeout: float) -> None:
        """Heartbeats for connections silent for `heartbeat` seconds; connections whose
        write has waited `send_timeout` seconds for the client are aborted. One pass
        over the connections, instead of two timers per connection."""
        for audience in list(self._rooms.values()):
            for watch in list(audience.watches):
                if watch.sending_since is not None:
                    if now - watch.sending_since >= send_timeout:
                        watch.abort()
                elif now - watch.last_sent >= heartbeat:
                    watch.heartbeat()

    async def keep_up(self, *, heartbeat: float, send_timeout: float) -> None:
        """`upkeep` a few times per heartbeat, until cancelled."""
        tick = min(1.0, heartbeat / 2, send_timeout / 2)
        while True:
            await asyncio.sleep(tick)
            self.upkeep(self._clock(), heartbeat=heartbeat, send_timeout=send_timeout)

    def close(self) -> None:
        """End every room connection (shutdown)."""
        self.chat.close()
        for audience in self._rooms.values():
            if audience.timer is not None:
                audience.timer.cancel()
            for watch in audience.watches:
                watch.close()

    def _viewers_changed(self, audience: Audience) -> None:
        """Announce the new count now, or when the room's announcement interval is up
        (one timer per room, whatever joins or leaves in between)."""
        if audience.timer is not None:
            return
        now = self._clock()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # driven by hand (unit tests): nothing can wait
            audience.announce(now)
            return
        last = audience.last_announced_at
        spacing = max(self._interval, audience.count / self._viewer_pushes_per_second)
        if last is None or now - last >= spacing:
            audience.announce(now)
        else:
            audience.timer = loop.call_later(spacing - (now - last), self._announce, audience)

    def _announce(self, audience: Audience) -> None:
        audience.timer = None
        if self._rooms.get(audience.room_id) is audience:
            audience.announce(self._clock())

    def _forget(self, watch: RoomWatch, audience: Audience) -> None:
        audience.watches.discard(watch)
        if not audience.watches:
            if audience.timer is not None:
                audience.timer.cancel()
            del self._rooms[audience.room_id]
        else:
            self._viewers_changed(audience)
        for sku in watch.skus or ():
            _discard(self._by_sku, sku, watch)
        self._every_sku.discard(watch)


def _discard(index: dict[str, set[RoomWatch]], key: str, watch: RoomWatch) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(watch)
        if not members:
            del index[key]
