"""The seams of the orders service: unit of work and payment gateway.

The service layer talks only to these protocols; adapters implement them for
SQL and the sandbox wallet, and tests may bring fakes of the same shape.
"""

from collections.abc import Sequence
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
    async def add_order(self, order: Order) -> None: ...
    async def save_order(self, order: Order, *, loaded_sequence: int) -> None: ...
    async def products(self, skus: Sequence[str]) -> dict[str, Product]: ...
    async def reserve_stock(self, lines: Sequence[Line]) -> bool: ...
    async def release_stock(self, lines: Sequence[Line]) -> None: ...
    async def complete_sale(self, lines: Sequence[Line]) -> None: ...
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

    async def refund(self, checkout_id: str) -> None:
        """Give back what was captured for `checkout_id` (once; nothing if nothing was)."""
        ...
