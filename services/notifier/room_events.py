"""What a live room's SSE stream carries: `snapshot`, `stock`, `purchase`, `sales`, `viewers`."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts import CheckoutItem, OrderStatusChanged, ProductSnapshot, RoomSales

RoomEventName = Literal["snapshot", "stock", "purchase", "sales", "viewers"]
_PRODUCTS = TypeAdapter(list[ProductSnapshot])


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True)


class Purchase(_Payload):
    """A confirmed order on the room's ticker: what and how much, never who or which order."""

    items: list[CheckoutItem] = Field(description="Skus and quantities bought.")
    total_minor: int = Field(description="Order total in minor units.")
    currency: str = Field(description="ISO 4217 currency code.")

    @classmethod
    def from_status(cls, status: OrderStatusChanged) -> Self:
        return cls(items=status.items, total_minor=status.total_minor, currency=status.currency)


class Viewers(_Payload):
    """Open connections to the room on this notifier replica (not across replicas)."""

    count: int


class RoomSnapshot(_Payload):
    """The room as this replica knows it when a connection opens."""

    stock: list[ProductSnapshot] = Field(description="Current stock of the room's products.")
    sales: RoomSales | None = Field(description="The latest sales snapshot, if any.")
    viewers: int = Field(description="Open connections to the room on this replica.")


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One SSE event of a room stream: its name and its JSON data."""

    name: RoomEventName
    data: str

    @classmethod
    def snapshot(cls, snapshot: RoomSnapshot) -> Self:
        return cls("snapshot", snapshot.model_dump_json())

    @classmethod
    def stock(cls, products: Iterable[ProductSnapshot]) -> Self:
        return cls("stock", _PRODUCTS.dump_json(list(products)).decode())

    @classmethod
    def purchase(cls, purchase: Purchase) -> Self:
        return cls("purchase", purchase.model_dump_json())

    @classmethod
    def sales(cls, sales: RoomSales) -> Self:
        return cls("sales", sales.model_dump_json())

    @classmethod
    def viewers(cls, count: int) -> Self:
        return cls("viewers", Viewers(count=count).model_dump_json())
