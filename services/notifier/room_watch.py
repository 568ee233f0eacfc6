"""One room connection's pending pushes (pure asyncio): bounded and coalesced.

Purchases queue (up to `max_pending`) and go out as soon as the connection takes
them; the room's own change (pins, live state), stock (latest per sku), sales and the
viewer count keep only their latest value and go out at most once per `interval`. A
flash sale of thousands of orders a second therefore costs a browser a few stock pushes
a second, not one per order.

Events arrive already encoded (see room_events.py): the hub encodes each one once for
all of a room's connections, and a connection only keeps references to them.
"""

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Literal

from contracts import ProductSnapshot, RoomSales
from services.notifier.room_events import Purchase, RoomEvent, StockFrames

log = logging.getLogger(__name__)

DropReason = Literal["queue_full", "send_timeout"]


class Audience:
    """The open connections of one room and the viewer count last announced to them.

    Joining or leaving changes `count` at once; connections learn a new count only when
    the hub announces it (see RoomHub), so a join costs O(1), not a wake-up of everyone.
    """

    def __init__(self, room_id: str) -> None:
        self.room_id = room_id
        self.watches: set[RoomWatch] = set()
        self.announced = 0
        """Bumped on each announcement; a connection compares it with what it sent."""
        self.last_announced_at: float | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.announced_count = 0
        self._viewers: RoomEvent | None = None

    @property
    def count(self) -> int:
        return len(self.watches)

    def announce(self, now: float) -> None:
        """Make the current count the one connections send next, and wake them."""
        self.announced += 1
        self.last_announced_at = now
        self.announced_count = self.count
        self._viewers = RoomEvent.viewers(self.count)
        for watch in self.watches:
            watch.wake()

    def viewers_event(self) -> RoomEvent | None:
        return self._viewers


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
        audience: Audience | None = None,
        stock_frames: StockFrames | None = None,
    ) -> None:
        self.room_id = room_id
        self.skus = skus
        self._interval = interval
        self._max_pending = max_pending
        self._clock = clock
        self._audience = audience
        self._viewers_seen = audience.announced if audience is not None else 0
        self._viewers_count: int | None = None
        self._stock_frames = stock_frames or StockFrames(max_entries=8)
        self._purchases: deque[RoomEvent] = deque()
        self._stock: dict[str, ProductSnapshot] = {}
        self._sales: RoomEvent | None = None
        self._viewers: RoomEvent | None = None
        self._room: RoomEvent | None = None
        self._next_push = clock()
        self._wake = asyncio.Event()
        self._closed = False
        self._heartbeat = False
        self.last_sent = clock()
        """When the connection last wrote something (heartbeats are due after a silence)."""
        self.sending_since: float | None = None
        """Set while a write waits for the client (a stuck one is aborted)."""
        self.drop_reason: DropReason | None = None
        """Why the connection was dropped for being too slow; None while it keeps up."""
        self._task: asyncio.Task[object] | None = None
        self._hang_up: Callable[[], None] | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    def wants(self, sku: str) -> bool:
        return self.skus is None or sku in self.skus

    def wake(self) -> None:
        self._wake.set()

    def offer_stock(self, product: ProductSnapshot) -> None:
        if self.wants(product.sku):
            self._stock[product.sku] = product
            self._wake.set()

    def offer_sales(self, sales: RoomSales | RoomEvent) -> None:
        self._sales = sales if isinstance(sales, RoomEvent) else RoomEvent.sales(sales)
        self._wake.set()

    def offer_viewers(self, count: int) -> None:
        self._viewers = RoomEvent.viewers(count)
        self._wake.set()

    def offer_room(self, change: RoomEvent) -> None:
        """The room's latest change: the page reloads the room, so only the latest counts."""
        self._room = change
        self._wake.set()

    def offer_purchase(self, purchase: Purchase | RoomEvent) -> None:
        """Queue a purchase, or another event of which every one counts (a chat message, a
        deletion, the reactions of a push), in order; a full queue means the browser
        stopped reading: drop it."""
        if self._closed:
            return
        if len(self._purchases) >= self._max_pending:
            self.drop("queue_full")
            return
        event = purchase if isinstance(purchase, RoomEvent) else RoomEvent.purchase(purchase)
        self._purchases.append(event)
        self._wake.set()

    def take(self, now: float) -> tuple[list[RoomEvent], float | None]:
        """The events due at `now`, and when the next coalesced push is due (None: none pending)."""
        events = list(self._purchases)
        self._purchases.clear()
        viewers = self._viewers or self._announced_viewers()
        if not (self._stock or self._sales is not None or viewers is not None or self._room):
            return events, None
        if now < self._next_push:
            return events, self._next_push
        # The room first: what follows in the same push applies to the reloaded room.
        if self._room is not None:
            events.append(self._room)
        if self._stock:
            events.append(self._stock_frames.event([self._stock[s] for s in sorted(self._stock)]))
        if self._sales is not None:
            events.append(self._sales)
        if viewers is not None:
            events.append(viewers)
        self._stock, self._sales, self._viewers, self._room = {}, None, None, None
        if self._audience is not None and viewers is not None:
            self._viewers_seen = self._audience.announced
            self._viewers_count = self._audience.announced_count
        self._next_push = now + self._interval
        return events, None

    def viewers_sent(self, count: int) -> None:
        """The count this connection last sent (its snapshot's): announced again, it is
        not news."""
        self._viewers_count = count
        if self._audience is not None and self._audience.announced_count == count:
            self._viewers_seen = self._audience.announced

    def _announced_viewers(self) -> RoomEvent | None:
        audience = self._audience
        if audience is None or audience.announced == self._viewers_seen:
            return None
        if audience.announced_count == self._viewers_count:
            self._viewers_seen = audience.announced
            return None
        return audience.viewers_event()

    def heartbeat(self) -> None:
        """Ask for a heartbeat: `next_events` returns [] although the watch is open."""
        self._heartbeat = True
        self._wake.set()

    def bind(
        self, task: "asyncio.Task[object] | None", *, hang_up: Callable[[], None] | None = None
    ) -> None:
        """The task writing this connection, and what cuts the connection (the server's
        transport abort): both used by `drop`."""
        self._task = task
        self._hang_up = hang_up

    def sending(self, now: float) -> None:
        self.sending_since = now

    def sent(self, now: float) -> None:
        self.sending_since = None
        self.last_sent = now

    def abort(self) -> None:
        """Drop the connection: a write waited longer than the send timeout."""
        self.drop("send_timeout")

    def drop(self, reason: DropReason) -> None:
        """Close for a client that fell behind, and cut its connection: its unsent bytes
        are freed, not kept until it reads. Without a hang-up, a writing task stuck in a
        write is cancelled instead."""
        if self.drop_reason is not None:
            return
        log.warning("dropped a slow connection to room %s (%s)", self.room_id, reason)
        self.drop_reason = reason
        self.close()
        if self._hang_up is not None:
            self._hang_up()
        elif self._task is not None and self.sending_since is not None:
            self._task.cancel()

    async def next_events(self) -> list[RoomEvent]:
        """The next events to send, waiting until some are due; [] once the watch is closed
        or when a heartbeat was asked for (`closed` tells which)."""
        while not self._closed:
            self._wake.clear()
            events, due = self.take(self._clock())
            if events:
                return events
            if self._heartbeat:
                self._heartbeat = False
                return []
            if due is None:
                # Not wait_for(..., None): it asks for the running loop, and that is a
                # getpid() system call, a tenth of a push to 10,000 connections.
                await self._wake.wait()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(due - self._clock(), 0.0))
        return []

    def close(self) -> None:
        """End the connection's stream; what was pending is dropped (a reconnect snapshots)."""
        self._closed = True
        self._purchases.clear()
        self._wake.set()
