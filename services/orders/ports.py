"""The seams of the orders service: unit of work and payment gateway.

The service layer talks only to these protocols; adapters implement them for
SQL and the sandbox wallet, and tests may bring fakes of the same shape.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from contracts import Envelope
from services.orders.deals import Deal, DealUsage
from services.orders.domain import Order, Product, StockMove


class DuplicateCheckout(Exception):
    """Another delivery of the same checkout created the order first."""


class ConcurrentUpdate(Exception):
    """The order changed since it was loaded; the caller reloads and retries."""


@dataclass(frozen=True)
class ProductView:
    """A product as its seller manages it: details, stock and version."""

    sku: str
    seller_id: str | None
    title: str
    price_minor: int
    currency: str
    image_url: str | None
    available: int
    reserved: int
    sold: int
    version: int


@dataclass(frozen=True)
class OrderView:
    """An order as its seller sees it; `items` are (sku, quantity, unit_price_minor)."""

    order_id: str
    checkout_id: str
    buyer_id: str
    room_id: str
    seller_id: str | None
    status: str
    reason: str | None
    detail: str | None
    total_minor: int
    currency: str
    items: list[tuple[str, int, int]]
    tracking_ref: str | None
    created_at: datetime
    updated_at: datetime


class UnitOfWork(Protocol):
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...

    async def get_order(self, checkout_id: str) -> Order | None: ...
    async def existing_checkouts(self, checkout_ids: Collection[str]) -> set[str]: ...
    async def add_orders(self, orders: Sequence[Order]) -> None:
        """Insert new orders with their lines; DuplicateCheckout if one exists already."""
        ...

    async def save_orders(self, orders: Sequence[Order], loaded: Mapping[str, int]) -> set[str]:
        """Save orders whose stored sequence is still `loaded[checkout_id]`; the checkout
        ids of those that changed meanwhile (not saved)."""
        ...

    async def products(self, skus: Collection[str]) -> dict[str, Product]: ...
    async def product_view(self, sku: str) -> ProductView | None: ...
    async def seller_products(self, seller_id: str) -> list[ProductView]: ...
    async def add_product(self, product: ProductView) -> None:
        """Insert a new product; ProductExists if the sku is taken."""
        ...

    async def update_product(
        self, sku: str, *, title: str | None, price_minor: int | None, image_url: str | None
    ) -> None:
        """Change the given details (None: keep) and bump the version."""
        ...

    async def set_available(self, sku: str, units: int) -> None:
        """Set the available units (a seller's count); bump the version."""
        ...

    async def order_view(self, order_id: str) -> OrderView | None: ...
    async def seller_orders(
        self, seller_id: str, *, status: str | None, limit: int
    ) -> list[OrderView]:
        """The seller's orders, newest first."""
        ...

    async def flash_deals(self, skus: Collection[str], *, not_ended_at: datetime) -> list[Deal]:
        """Deals on `skus` that had not ended at `not_ended_at`."""
        ...

    async def deal_usage(self, deal_ids: Collection[str]) -> DealUsage:
        """Units held or sold in each deal, per deal and per buyer (read under the stock lock)."""
        ...

    async def upsert_deal(self, deal: Deal) -> None: ...
    async def lock_stock(self, skus: Collection[str]) -> dict[str, int]:
        """Units available per sku, locked until the transaction ends."""
        ...

    async def move_stock(self, move: StockMove) -> None:
        """Apply `move` (its `deltas()`) to the products' units; bump their versions.
        Within the `lock_stock` of the same transaction a reserve never oversells."""
        ...

    async def overdue_reservations(self, *, older_than: datetime, limit: int) -> list[str]: ...
    async def unrefunded_cancellations(self, *, older_than: datetime, limit: int) -> list[str]:
        """Checkout ids of orders cancelled before `older_than` and not refunded yet."""
        ...

    def stage_event(self, event: Envelope) -> None: ...  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class Charge:
    checkout_id: str
    buyer_id: str
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class PaymentResult:
    captured: bool
    detail: str | None = None


class PaymentTimeout(Exception):
    """The gateway did not answer in time; nothing was captured."""


class PaymentGateway(Protocol):
    async def charge(self, charge: Charge) -> PaymentResult:
        """Capture `charge` once: a second call for the same checkout returns the first result."""
        ...

    async def charge_many(self, charges: Sequence[Charge]) -> dict[str, PaymentResult | None]:
        """`charge` for many at once, by checkout id; None where the answer is not
        immediate (the caller charges that one alone, with its timeout)."""
        ...

    async def refund(self, checkout_id: str) -> None:
        """Give back what was captured for `checkout_id` (once; nothing if nothing was)."""
        ...
