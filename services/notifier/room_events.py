"""What a live room's SSE stream carries: `snapshot`, `stock`, `purchase`, `sales`, `viewers`
and `room` (the storefront changed the room's pins or live state: reload it), and its chat:
`chat`, `chat_deleted` and `reaction` (see chat.py).

Each event is encoded once, as JSON and as its SSE frame, however many connections
send it: a room of 10,000 viewers costs one encoding per event, not 10,000.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts import CheckoutItem, OrderStatusChanged, ProductSnapshot, RoomChanged, RoomSales
from services.notifier.chat_lines import ChatLine

RoomEventName = Literal[
    "snapshot", "stock", "purchase", "sales", "viewers", "room", "chat", "chat_deleted", "reaction"
]
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
    chat: list[ChatLine] = Field(
        default_factory=list, description="The room's last chat messages, oldest first."
    )


@dataclass(frozen=True, slots=True)
class RoomEvent:
    """One SSE event of a room stream: its name, its JSON data and its SSE frame without
    the id line (ids count per connection: `frame_with_id` adds it)."""

    name: RoomEventName
    data: str
    frame: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lines = "".join(f"data: {line}\r\n" for line in self.data.splitlines() or [""])
        object.__setattr__(self, "frame", f"event: {self.name}\r\n{lines}\r\n".encode())

    def frame_with_id(self, event_id: int) -> bytes:
        return b"id: %d\r\n%b" % (event_id, self.frame)

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

    @classmethod
    def room(cls, change: RoomChanged) -> Self:
        """The RoomChanged payload as the storefront sent it (`room_id`, `state`, `skus`)."""
        return cls("room", change.model_dump_json())


class StockFrames:
    """`stock` events by the (sku, version) pairs they carry: connections showing the same
    products in the same push share one encoding. Bounded; forgets everything when full."""

    def __init__(self, *, max_entries: int = 256) -> None:
        self._max_entries = max_entries
        self._events: dict[tuple[tuple[str, int], ...], RoomEvent] = {}

    def event(self, products: Sequence[ProductSnapshot]) -> RoomEvent:
        # A sku's version names its whole snapshot: the highest version per sku is kept.
        key = tuple((product.sku, product.version) for product in products)
        event = self._events.get(key)
        if event is None:
            if len(self._events) >= self._max_entries:
                self._events.clear()
            event = self._events[key] = RoomEvent.stock(products)
        return event
