"""The order state machine and reservation rules. Pure Python: no I/O, no frameworks."""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from contracts.events import FINAL_STATUSES, OrderStatus, RejectionReason

# The contract's enums are the domain's vocabulary too: one list of states, one of reasons.
Status = OrderStatus
Reason = RejectionReason
FINAL = FINAL_STATUSES

TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.RESERVED, Status.REJECTED}),
    Status.RESERVED: frozenset({Status.PAID, Status.REJECTED, Status.EXPIRED}),
    Status.PAID: frozenset({Status.CONFIRMED}),
    # After the sale: a seller (or the buyer, within the window) cancels, or it ships.
    Status.CONFIRMED: frozenset({Status.CANCELLED, Status.SHIPPED}),
    Status.CANCELLED: frozenset({Status.REFUNDED}),
}

MAX_TRACKING_REF = 100

HOLDING_STOCK = frozenset({Status.RESERVED, Status.PAID, Status.CONFIRMED, Status.SHIPPED})
"""Orders whose units are held or sold: what a flash deal's cap and limit count."""


class OrderError(Exception):
    """A domain rule was broken; `reason` is the code mapped at the edge."""

    reason = "order_error"


class IllegalTransition(OrderError):
    reason = "illegal_transition"


class InvalidCheckout(OrderError):
    reason = Reason.INVALID.value


class NotFound(OrderError):
    """No such product or order (the console answers 404)."""

    reason = "not_found"


class NotYours(OrderError):
    """The product or order belongs to someone else (the console answers 403)."""

    reason = "not_yours"


class ProductExists(OrderError):
    """A product with that sku exists already (the console answers 409)."""

    reason = "product_exists"


class InvalidInput(OrderError):
    """What a seller sent breaks a rule of the marketplace (the console answers 422)."""

    reason = "invalid_input"


class InvalidProduct(InvalidInput):
    reason = "invalid_product"


class InvalidTrackingRef(InvalidInput):
    reason = "invalid_tracking_ref"


class CancelWindowClosed(OrderError):
    """A buyer asked to cancel later than the cancel window allows."""

    reason = "cancel_window_closed"


class PaymentClosed(OrderError):
    """The order waits no longer for the buyer's payment decision (declined, expired,
    rejected): the hosted payment page answers 409."""

    reason = "payment_closed"


class PaymentExpired(PaymentClosed):
    """The buyer answered after the payment deadline; the hold is released, no charge."""

    reason = "payment_expired"


DECLINED_BY_BUYER = "declined_by_buyer"
"""The detail of a `payment_failed` rejection the buyer chose on the payment page (a
reason of its own would be a breaking contract change: see README, hosted payment)."""


class DealRefused(OrderError):
    """A flash deal the marketplace will never accept as asked (dead-lettered, not retried)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    price_minor: int
    currency: str
    seller_id: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    quantity: int
    unit_price_minor: int
    deal_id: str | None = None  # the flash deal that priced it

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
    if len({products[line.sku].seller_id for line in lines}) != 1:
        # An order has one seller, who alone may cancel or ship it.
        raise InvalidCheckout("items of more than one seller")
    currencies = {products[line.sku].currency for line in lines}
    if len(currencies) != 1:
        raise InvalidCheckout("items in more than one currency")
    return lines, currencies.pop()


def units_by_sku(lines: Iterable[Line]) -> Counter[str]:
    units: Counter[str] = Counter()
    for line in lines:
        units[line.sku] += line.quantity
    return units


STOCK_EFFECTS: Mapping[str, tuple[int, int, int]] = {
    "reserve": (-1, 1, 0),  # available → reserved: an order holds them
    "release": (1, -1, 0),  # reserved → available: rejected after reserve, or expired
    "sell": (0, -1, 1),  # reserved → sold: paid and confirmed
    "restore": (1, 0, -1),  # sold → available: a cancelled order's units go back on sale
    "restock": (1, 0, 0),  # → available: the seller adds units
}
"""What each kind of stock move does to a product's (available, reserved, sold) units."""


@dataclass(frozen=True, slots=True)
class StockMove:
    """Units per sku a state change (or a seller's restock) moves, by kind; the unit of
    work applies it in the transaction that saves the change."""

    reserve: Mapping[str, int] = field(default_factory=dict)
    release: Mapping[str, int] = field(default_factory=dict)
    sell: Mapping[str, int] = field(default_factory=dict)
    restore: Mapping[str, int] = field(default_factory=dict)
    restock: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, kind: str, units: Mapping[str, int]) -> "StockMove":
        return cls(**{kind: dict(units)})

    @classmethod
    def total(cls, moves: Iterable["StockMove"]) -> "StockMove":
        """All of `moves` as one move."""
        summed: dict[str, dict[str, int]] = {}
        for move in moves:
            for kind in STOCK_EFFECTS:
                if units := getattr(move, kind):
                    into = summed.setdefault(kind, {})
                    for sku, n in units.items():
                        into[sku] = into.get(sku, 0) + n
        return cls(**summed)

    def __add__(self, other: "StockMove") -> "StockMove":
        if other is NO_STOCK_MOVE:  # most transitions move no stock: no copy for them
            return self
        return other if self is NO_STOCK_MOVE else StockMove.total([self, other])

    def __bool__(self) -> bool:
        return any(getattr(self, kind) for kind in STOCK_EFFECTS)

    def deltas(self) -> dict[str, tuple[int, int, int]]:
        """The change of (available, reserved, sold) per sku, by sku."""
        sums: dict[str, list[int]] = {}
        for kind, effect in STOCK_EFFECTS.items():
            for sku, n in getattr(self, kind).items():
                delta = sums.setdefault(sku, [0, 0, 0])
                for i, sign in enumerate(effect):
                    delta[i] += sign * n
        return {sku: (a, r, s) for sku, (a, r, s) in sorted(sums.items())}


NO_STOCK_MOVE = StockMove()

STOCK_RULES: Mapping[tuple[Status, Status], str] = {
    (Status.RECEIVED, Status.RESERVED): "reserve",
    (Status.RESERVED, Status.REJECTED): "release",
    (Status.RESERVED, Status.EXPIRED): "release",
    (Status.PAID, Status.CONFIRMED): "sell",
    (Status.CONFIRMED, Status.CANCELLED): "restore",
}
"""The one place that says which transition moves stock, and how; others move none."""


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
    seller_id: str | None = None
    tracking_ref: str | None = None
    changed_at: datetime | None = None  # when it entered `status`, as stored
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
        seller_id: str | None = None,
    ) -> "Order":
        order = cls(order_id, checkout_id, buyer_id, room_id, currency, lines)
        order.requested_at, order.seller_id = requested_at, seller_id
        order.changes.append(StatusChange(Status.RECEIVED, None, 1))
        return order

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def reserve(self) -> StockMove:
        return self._move(Status.RESERVED)

    def mark_paid(self) -> StockMove:
        return self._move(Status.PAID)

    def confirm(self) -> StockMove:
        return self._move(Status.CONFIRMED)

    def expire(self) -> StockMove:
        return self._move(Status.EXPIRED)

    def reject(self, reason: Reason, detail: str | None = None) -> StockMove:
        return self._move(Status.REJECTED, reason, detail)

    def cancel(self) -> StockMove:
        """A confirmed order is called off; its stock goes back, the refund follows."""
        return self._move(Status.CANCELLED)

    def refund(self) -> StockMove:
        return self._move(Status.REFUNDED)

    def ship(self, tracking_ref: str) -> StockMove:
        ref = tracking_ref.strip()
        if not 1 <= len(ref) <= MAX_TRACKING_REF or not ref.isprintable():
            raise InvalidTrackingRef(
                f"a tracking ref is 1..{MAX_TRACKING_REF} printable characters"
            )
        move = self._move(Status.SHIPPED)
        self.tracking_ref = ref
        return move

    def cancel_for_buyer(self, buyer_id: str, *, now: datetime, window: timedelta) -> StockMove:
        """The buyer's own cancel: only theirs, only confirmed, only within `window` of it."""
        if buyer_id != self.buyer_id:
            raise NotYours(f"{self.checkout_id} is not {buyer_id}'s")
        if self.status is not Status.CONFIRMED:
            raise IllegalTransition(f"{self.checkout_id}: {self.status} cannot be cancelled")
        if self.changed_at is None or now - self.changed_at >= window:
            raise CancelWindowClosed(f"{self.checkout_id}: confirmed more than {window} ago")
        return self.cancel()

    def payment_due_at(self, hold: timedelta) -> datetime | None:
        """When a reservation waiting for the buyer's payment expires (None: not waiting)."""
        if self.status is not Status.RESERVED or self.changed_at is None:
            return None
        return self.changed_at + hold

    def awaits_payment_from(self, buyer_id: str, *, now: datetime, hold: timedelta) -> bool:
        """The buyer's answer on the payment page: True while the order waits for it,
        False when it was paid already (an approval repeated); NotYours, PaymentExpired
        (past the deadline: expire it) or PaymentClosed otherwise."""
        if buyer_id != self.buyer_id:
            raise NotYours(f"{self.checkout_id} is not {buyer_id}'s")
        if self.status in (Status.PAID, Status.CONFIRMED):
            return False
        if self.status is Status.EXPIRED:
            raise PaymentExpired(f"{self.checkout_id}: the time to pay ran out")
        if self.status is not Status.RESERVED:
            raise PaymentClosed(f"{self.checkout_id} is {self.status}, not waiting for payment")
        due = self.payment_due_at(hold)
        if due is not None and now >= due:
            raise PaymentExpired(f"{self.checkout_id}: the time to pay ran out")
        return True

    def decline_payment(self, buyer_id: str, *, now: datetime, hold: timedelta) -> StockMove:
        """The buyer declined on the payment page: rejected, the held stock released. A
        decline repeated changes nothing; after the deadline, PaymentExpired."""
        if self.reason is Reason.PAYMENT_FAILED and self.detail == DECLINED_BY_BUYER:
            if buyer_id != self.buyer_id:
                raise NotYours(f"{self.checkout_id} is not {buyer_id}'s")
            return NO_STOCK_MOVE
        if not self.awaits_payment_from(buyer_id, now=now, hold=hold):
            raise PaymentClosed(f"{self.checkout_id} is paid already")
        return self.reject(Reason.PAYMENT_FAILED, DECLINED_BY_BUYER)

    @property
    def holds_stock(self) -> bool:
        """Whether stock is reserved or sold for it (released on rejection or expiry after
        reserve, given back on cancel)."""
        return self.status in HOLDING_STOCK

    def _move(
        self, to: Status, reason: Reason | None = None, detail: str | None = None
    ) -> StockMove:
        """Enter `to`; the stock the transition moves (STOCK_RULES)."""
        if to not in TRANSITIONS.get(self.status, frozenset()):
            raise IllegalTransition(f"{self.checkout_id}: {self.status} -> {to}")
        previous, self.status = self.status, to
        self.sequence += 1
        self.reason, self.detail = reason, detail
        self.changes.append(StatusChange(to, previous, self.sequence, reason, detail))
        kind = STOCK_RULES.get((previous, to))
        if kind is None:
            return NO_STOCK_MOVE
        units: dict[str, int] = {}
        for line in self.lines:
            units[line.sku] = units.get(line.sku, 0) + line.quantity
        return StockMove(**{kind: units})

    def pull_changes(self) -> list[StatusChange]:
        changes, self.changes = self.changes, []
        return changes
