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
from services.orders.domain import Line, Order, Product


class DuplicateCheckout(Exception):
    """Another delivery of the same checkout created the order first."""


class ConcurrentUpdate(Exception):
    """The order changed since it was loaded; the caller reloads and retries."""


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
    async def lock_stock(self, skus: Collection[str]) -> dict[str, int]:
        """Units available per sku, locked until the transaction ends."""
        ...

    async def reserve_stock(self, lines: Sequence[Line]) -> bool: ...
    async def change_stock(
        self,
        *,
        reserve: Mapping[str, int] | None = None,
        release: Mapping[str, int] | None = None,
        sell: Mapping[str, int] | None = None,
    ) -> None:
        """Move units per sku: available→reserved, reserved→available, reserved→sold."""
        ...

    async def overdue_reservations(self, *, older_than: datetime, limit: int) -> list[str]: ...
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
