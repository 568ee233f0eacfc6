"""Recent statuses per checkout and the live subscribers waiting for more (pure asyncio).

Bounded on every axis: checkouts beyond `max_checkouts` and entries older than
`history_seconds` are forgotten (never while a browser is subscribed to that
checkout), and each subscriber has a bounded queue.
"""

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from contracts import OrderStatusChanged
from services.notifier.records import EntryId, StatusRecord, Subscription

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 64
"""An order has a handful of statuses; a subscriber this far behind is stuck, not slow."""


@dataclass(slots=True)
class _Checkout:
    history: list[StatusRecord] = field(default_factory=list)
    subscribers: set[Subscription] = field(default_factory=set)
    # Kept for the checkout's lifetime, not the history's: a relay may resend an
    # event long after the first copy, and an order has only a few event ids.
    event_ids: set[str] = field(default_factory=set)
    last_entry: EntryId | None = None


class StatusHub:
    """Per-checkout history of (entry id, status) and the subscriptions to each checkout."""

    def __init__(
        self,
        *,
        max_checkouts: int = 100_000,
        history_seconds: float = 900,
        max_pending: int = DEFAULT_MAX_PENDING,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max_checkouts = max_checkouts
        self._history_ms = int(history_seconds * 1000)
        self._max_pending = max_pending
        # Wall clock on purpose: entry ids carry the Redis server's wall-clock ms.
        self._clock = clock
        self._checkouts: OrderedDict[str, _Checkout] = OrderedDict()

    def __len__(self) -> int:
        return len(self._checkouts)

    def publish(self, *, entry_id: EntryId, event_id: str, status: OrderStatusChanged) -> bool:
        """Remember a status and hand it to the checkout's subscribers; False for a duplicate."""
        checkout = self._checkouts.get(status.checkout_id) or _Checkout()
        self._checkouts[status.checkout_id] = checkout
        duplicate = event_id in checkout.event_ids or (
            checkout.last_entry is not None and entry_id <= checkout.last_entry
        )
        if not duplicate:
            self._record(checkout, StatusRecord(entry_id, event_id, status))
            self._checkouts.move_to_end(status.checkout_id)
        self._evict()
        return not duplicate

    def history(self, checkout_id: str, *, after: EntryId | None = None) -> list[StatusRecord]:
        """The remembered statuses of a checkout in stream order, only those after `after`."""
        checkout = self._checkouts.get(checkout_id)
        if checkout is None:
            return []
        cutoff = self._cutoff()
        floor = cutoff if after is None else max(after, cutoff)
        return [record for record in checkout.history if record.entry_id > floor]

    def final_entry(self, checkout_id: str) -> EntryId | None:
        """The entry id of the checkout's final status, if it was seen."""
        checkout = self._checkouts.get(checkout_id)
        finals = [r.entry_id for r in checkout.history if r.is_final] if checkout else []
        return finals[0] if finals else None

    @contextmanager
    def subscribe(self, checkout_id: str) -> Iterator[Subscription]:
        """Live statuses of `checkout_id` from now on, until the block exits or the hub drops it."""
        checkout = self._checkouts.get(checkout_id)
        if checkout is None:
            # Not moved to the end: a subscription is not an update.
            checkout = self._checkouts[checkout_id] = _Checkout()
        subscription = Subscription(checkout_id, max_pending=self._max_pending)
        checkout.subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscription.close()
            checkout.subscribers.discard(subscription)
            if not checkout.subscribers and not checkout.history:
                self._checkouts.pop(checkout_id, None)

    def close(self) -> None:
        """End every subscription (shutdown): their SSE streams end and browsers reconnect."""
        for checkout in self._checkouts.values():
            for subscription in checkout.subscribers:
                subscription.close()

    def _record(self, checkout: _Checkout, record: StatusRecord) -> None:
        checkout.event_ids.add(record.event_id)
        checkout.last_entry = record.entry_id
        cutoff = self._cutoff()
        checkout.history = [r for r in checkout.history if r.entry_id > cutoff]
        checkout.history.append(record)
        for subscription in list(checkout.subscribers):
            if subscription.offer(record):
                continue
            checkout.subscribers.discard(subscription)
            if not subscription.closed:
                log.warning(
                    "dropped a subscriber of %s that fell behind", record.status.checkout_id
                )
                subscription.close()

    def _evict(self) -> None:
        # Oldest update first, and entries arrive in stream order, so the walk can
        # stop at the first fresh checkout once the count is within bounds.
        cutoff = self._cutoff()
        excess = len(self._checkouts) - self._max_checkouts
        victims = []
        for checkout_id, checkout in self._checkouts.items():
            if checkout.subscribers:
                continue
            stale = checkout.last_entry is None or checkout.last_entry <= cutoff
            if not stale and excess <= 0:
                break
            victims.append(checkout_id)
            excess -= 1
        for checkout_id in victims:
            del self._checkouts[checkout_id]

    def _cutoff(self) -> EntryId:
        return EntryId(int(self._clock() * 1000) - self._history_ms, 0)
