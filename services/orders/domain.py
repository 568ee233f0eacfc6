"""The order state machine and reservation rules. Pure Python: no I/O, no frameworks."""

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from contracts.events import FINAL_STATUSES, OrderStatus, RejectionReason

# The contract's enums are the domain's vocabulary too: one list of states, one of reasons.
Status = OrderStatus
Reason = RejectionReason
FINAL = FINAL_STATUSES

TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.RESERVED, Status.REJECTED}),
    Status.RESERVED: frozenset({Status.PAID, Status.REJECTED, Status.EXPIRED}),
    Status.PAID: frozenset({Status.CONFIRMED}),
}


class OrderError(Exception):
    """A domain rule was broken; `reason` is the code mapped at the edge."""

    reason = "order_error"


class IllegalTransition(OrderError):
    reason = "illegal_transition"


class InvalidCheckout(OrderError):
    reason = Reason.INVALID.value


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    price_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    quantity: int
    unit_price_minor: int

    @property
    def amount_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One transition; each becomes exactly one `order.status` event."""

    status: Status
    previous: Status | None
    sequence: int
    reason: Reason | None = None
    detail: str | None = None


def price_lines(
    items: Iterable[tuple[str, int]], products: Mapping[str, Product], *, max_quantity: int
) -> tuple[list[Line], str]:
    """Lines at the marketplace's own prices, and their one currency; InvalidCheckout if not."""
    lines: list[Line] = []
    seen: set[str] = set()
    for sku, quantity in items:
        product = products.get(sku)
        if product is None:
            raise InvalidCheckout(f"unknown sku {sku}")
        if sku in seen:
            raise InvalidCheckout(f"sku {sku} listed twice")
        if not 1 <= quantity <= max_quantity:
            raise InvalidCheckout(f"quantity {quantity} of {sku} not in 1..{max_quantity}")
        seen.add(sku)
        lines.append(Line(sku, quantity, product.price_minor))
    if not lines:
        raise InvalidCheckout("no items")
    currencies = {products[line.sku].currency for line in lines}
    if len(currencies) != 1:
        raise InvalidCheckout("items in more than one currency")
    return lines, currencies.pop()


K = TypeVar("K", bound=Hashable)


def allocate(
    requests: Sequence[tuple[K, Sequence[Line]]], available: Mapping[str, int]
) -> tuple[set[K], Counter[str]]:
    """Which requests get their stock, in arrival order, and the units taken per sku.

    A request is granted only if every one of its lines fits in what is left (all or
    nothing); a request that does not fit takes nothing, and later, smaller ones may
    still fit. Never grants more than `available`.
    """
    left = dict(available)
    granted: set[K] = set()
    taken: Counter[str] = Counter()
    for key, lines in requests:
        if all(left.get(line.sku, 0) >= line.quantity for line in lines):
            for line in lines:
                left[line.sku] -= line.quantity
                taken[line.sku] += line.quantity
            granted.add(key)
    return granted, taken


def units_by_sku(lines: Iterable[Line]) -> Counter[str]:
    units: Counter[str] = Counter()
    for line in lines:
        units[line.sku] += line.quantity
    return units


@dataclass
class Order:
    """An order and its transitions since it was loaded (`changes`, drained by the service)."""

    order_id: str
    checkout_id: str
    buyer_id: str
    room_id: str
    currency: str
    lines: list[Line]
    status: Status = Status.RECEIVED
    sequence: int = 1
    reason: Reason | None = None
    detail: str | None = None
    requested_at: datetime | None = None
    changes: list[StatusChange] = field(default_factory=list)

    @classmethod
    def receive(
        cls,
        *,
        order_id: str,
        checkout_id: str,
        buyer_id: str,
        room_id: str,
        currency: str,
        lines: list[Line],
        requested_at: datetime | None = None,
    ) -> "Order":
        order = cls(order_id, checkout_id, buyer_id, room_id, currency, lines)
        order.requested_at = requested_at
        order.changes.append(StatusChange(Status.RECEIVED, None, 1))
        return order

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def reserve(self) -> None:
        self._move(Status.RESERVED)

    def mark_paid(self) -> None:
        self._move(Status.PAID)

    def confirm(self) -> None:
        self._move(Status.CONFIRMED)

    def expire(self) -> None:
        self._move(Status.EXPIRED)

    def reject(self, reason: Reason, detail: str | None = None) -> None:
        self._move(Status.REJECTED, reason, detail)

    @property
    def holds_stock(self) -> bool:
        """Whether stock is reserved for it (released on rejection or expiry after reserve)."""
        return self.status in {Status.RESERVED, Status.PAID, Status.CONFIRMED}

    def _move(self, to: Status, reason: Reason | None = None, detail: str | None = None) -> None:
        if to not in TRANSITIONS.get(self.status, frozenset()):
            raise IllegalTransition(f"{self.checkout_id}: {self.status} -> {to}")
        previous, self.status = self.status, to
        self.sequence += 1
        self.reason, self.detail = reason, detail
        self.changes.append(StatusChange(to, previous, self.sequence, reason, detail))

    def pull_changes(self) -> list[StatusChange]:
        changes, self.changes = self.changes, []
        return changes
