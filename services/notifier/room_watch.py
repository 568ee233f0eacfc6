"""One room connection's pending pushes (pure asyncio): bounded and coalesced.

Purchases queue (up to `max_pending`) and go out as soon as the connection takes
them; stock (latest per sku), sales and the viewer count keep only their latest
value and go out at most once per `interval`. A flash sale of thousands of orders
a second therefore costs a browser a few stock pushes a second, not one per order.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

from contracts import ProductSnapshot, RoomSales
from services.notifier.room_events import Purchase, RoomEvent

log = logging.getLogger(__name__)


class RoomWatch:
    """What one room connection has not been sent yet; closed when it falls too far behind."""

    def __init__(
        self,
        room_id: str,
        skus: frozenset[str] | None,
        *,
        interval: float,
        max_pending: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.room_id = room_id
        self.skus = skus
        self._interval = interval
        self._max_pending = max_pending
        self._clock = clock
        self._purchases: deque[Purchase] = deque()
        self._stock: dict[str, ProductSnapshot] = {}
        self._sales: RoomSales | None = None
        self._viewers: int | None = None
        self._next_push = clock()
        self._wake = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def wants(self, sku: str) -> bool:
        return self.skus is None or sku in self.skus

    def offer_stock(self, product: ProductSnapshot) -> None:
        if self.wants(product.sku):
            self._stock[product.sku] = product
            self._wake.set()

    def offer_sales(self, sales: RoomSales) -> None:
        self._sales = sales
        self._wake.set()

    def offer_viewers(self, count: int) -> None:
        self._viewers = count
        self._wake.set()

    def offer_purchase(self, purchase: Purchase) -> None:
        """Queue a purchase; a full queue means the browser stopped reading: drop it."""
        if self._closed:
            return
        if len(self._purchases) >= self._max_pending:
            log.warning("dropped a slow connection to room %s", self.room_id)
            self.close()
            return
        self._purchases.append(purchase)
        self._wake.set()

    def take(self, now: float) -> tuple[list[RoomEvent], float | None]:
        """The events due at `now`, and when the next coalesced push is due (None: none pending)."""
        events = [RoomEvent.purchase(purchase) for purchase in self._purchases]
        self._purchases.clear()
        if not (self._stock or self._sales is not None or self._viewers is not None):
            return events, None
        if now < self._next_push:
            return events, self._next_push
        if self._stock:
            events.append(RoomEvent.stock(self._stock[sku] for sku in sorted(self._stock)))
        if self._sales is not None:
            events.append(RoomEvent.sales(self._sales))
        if self._viewers is not None:
            events.append(RoomEvent.viewers(self._viewers))
        self._stock, self._sales, self._viewers = {}, None, None
        self._next_push = now + self._interval
        return events, None

    async def next_events(self) -> list[RoomEvent]:
        """The next events to send, waiting until some are due; [] once the watch is closed."""
        while not self._closed:
            self._wake.clear()
            events, due = self.take(self._clock())
            if events:
                return events
            timeout = None if due is None else max(due - self._clock(), 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
        return []

    def close(self) -> None:
        """End the connection's stream; what was pending is dropped (a reconnect snapshots)."""
        self._closed = True
        self._purchases.clear()
        self._wake.set()
