"""Values the notifier passes around: status records (by their Redis entry id, a
`contracts.EntryId`), bounded id memories."""

from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from contracts import AFTER_SALE_STATUSES, FINAL_STATUSES, EntryId, OrderStatusChanged

CHECKOUT_OVER = FINAL_STATUSES | AFTER_SALE_STATUSES
"""Statuses a checkout's stream ends at: its final one, or one after the sale, which
only a confirmed order reaches (its final status came first, perhaps trimmed since)."""


@dataclass(frozen=True, slots=True)
class StatusRecord:
    """One entry of a buyer's status stream: its id there, the event id, the status."""

    entry_id: EntryId
    event_id: str
    status: OrderStatusChanged

    @property
    def is_final(self) -> bool:
        return self.status.is_final

    @property
    def ends_checkout(self) -> bool:
        """The checkout's way through the marketplace is over at this status (see
        CHECKOUT_OVER); a buyer's own stream goes on regardless."""
        return self.status.status in CHECKOUT_OVER


@dataclass(frozen=True, slots=True)
class HistoryReset:
    """The buyer's stream no longer reaches back to the client's Last-Event-ID (trimmed or
    expired): what follows is everything still retained, and the client refetches state."""

    reason: Literal["history_expired"] = "history_expired"


class RecentIds:
    """The last `maxlen` ids seen; remembering one more forgets the oldest."""

    def __init__(self, maxlen: int) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self._maxlen = maxlen
        self._ids: OrderedDict[str, None] = OrderedDict()

    def add(self, item: str) -> bool:
        """Remember `item`; False when it was already remembered."""
        if item in self._ids:
            return False
        self._ids[item] = None
        if len(self._ids) > self._maxlen:
            self._ids.popitem(last=False)
        return True

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __len__(self) -> int:
        return len(self._ids)
