"""Live rooms as this replica knows them (pure asyncio): current stock per sku, the latest
sales per room, and the open room connections waiting for pushes.

Fed by the fan-out readers of `catalog.changed`, `room.sales` and `order.status`.
Rooms are the storefront's concept; a connection names the skus it shows.
"""

import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator

from contracts import OrderStatusChanged, ProductSnapshot, RoomSales
from services.notifier.room_events import Purchase, RoomSnapshot
from services.notifier.room_watch import RoomWatch


class RoomHub:
    """Highest-version stock per sku, latest sales per room, and the room connections."""

    def __init__(
        self,
        *,
        interval: float = 0.25,
        max_pending: int = 256,
        max_rooms: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = interval
        self._max_pending = max_pending
        self._max_rooms = max_rooms
        self._clock = clock
        self._stock: dict[str, ProductSnapshot] = {}
        self._sales: OrderedDict[str, RoomSales] = OrderedDict()
        self._rooms: dict[str, set[RoomWatch]] = {}
        self._by_sku: dict[str, set[RoomWatch]] = {}
        self._every_sku: set[RoomWatch] = set()

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
        for watch in self._rooms.get(sales.room_id, ()):
            watch.offer_sales(sales)

    def purchase(self, status: OrderStatusChanged) -> None:
        """A confirmed order: onto the ticker of its room's connections, without the buyer."""
        watches = self._rooms.get(status.room_id)
        if watches:
            purchase = Purchase.from_status(status)
            for watch in list(watches):
                watch.offer_purchase(purchase)

    def stock(self, skus: frozenset[str] | None = None) -> list[ProductSnapshot]:
        """Known products, by sku; only `skus` when given."""
        wanted = sorted(self._stock) if skus is None else sorted(skus & self._stock.keys())
        return [self._stock[sku] for sku in wanted]

    def sales(self, room_id: str) -> RoomSales | None:
        return self._sales.get(room_id)

    def viewers(self, room_id: str) -> int:
        """Open connections to the room on this replica."""
        return len(self._rooms.get(room_id, ()))

    @contextlib.contextmanager
    def watch(
        self, room_id: str, skus: frozenset[str] | None = None
    ) -> Iterator[tuple[RoomWatch, RoomSnapshot]]:
        """A connection to the room and the snapshot it starts from, until the block exits."""
        watch = RoomWatch(
            room_id, skus, interval=self._interval, max_pending=self._max_pending, clock=self._clock
        )
        self._rooms.setdefault(room_id, set()).add(watch)
        for sku in skus or ():
            self._by_sku.setdefault(sku, set()).add(watch)
        if skus is None:
            self._every_sku.add(watch)
        self._announce_viewers(room_id, but=watch)
        snapshot = RoomSnapshot(
            stock=self.stock(skus), sales=self.sales(room_id), viewers=self.viewers(room_id)
        )
        try:
            yield watch, snapshot
        finally:
            watch.close()
            self._forget(watch)
            self._announce_viewers(room_id)

    def close(self) -> None:
        """End every room connection (shutdown)."""
        for watches in self._rooms.values():
            for watch in watches:
                watch.close()

    def _announce_viewers(self, room_id: str, *, but: RoomWatch | None = None) -> None:
        count = self.viewers(room_id)
        for watch in self._rooms.get(room_id, ()):
            if watch is not but:
                watch.offer_viewers(count)

    def _forget(self, watch: RoomWatch) -> None:
        _discard(self._rooms, watch.room_id, watch)
        for sku in watch.skus or ():
            _discard(self._by_sku, sku, watch)
        self._every_sku.discard(watch)


def _discard(index: dict[str, set[RoomWatch]], key: str, watch: RoomWatch) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(watch)
        if not members:
            del index[key]
