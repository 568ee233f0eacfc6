"""What crosses the boundary between livecart's services: events, stream names, the wire format.

This is the only package every service imports. It holds no I/O: pydantic models
and constants, so a service written in another language can follow the same
contract from `contracts/WIRE.md` and the committed AsyncAPI document.
"""

from contracts.envelope import Envelope, new_event_id, utc_now
from contracts.events import (
    AFTER_SALE_STATUSES,
    FINAL_STATUSES,
    CancellationRequested,
    CancellationRequestedEvent,
    CatalogChanged,
    CatalogChangedEvent,
    CheckoutItem,
    CheckoutRequested,
    CheckoutRequestedEvent,
    DealSnapshot,
    FlashDealRequested,
    FlashDealRequestedEvent,
    OrderStatus,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    ProductSnapshot,
    RejectionReason,
    RoomChanged,
    RoomChangedEvent,
    RoomSales,
    RoomSalesChangedEvent,
)
from contracts.references import is_order_reference, order_reference, parse_order_reference
from contracts.streams import (
    DEFAULT_PREFIX,
    GROUP_ORDERS,
    MAX_CHECKOUT_PARTITIONS,
    Streams,
    checkout_partition,
)
from contracts.wire import (
    DATA_FIELD,
    DeadLetterReason,
    EntryId,
    WireError,
    decode_entry,
    encode_entry,
)

__all__ = [
    "AFTER_SALE_STATUSES",
    "DATA_FIELD",
    "DEFAULT_PREFIX",
    "FINAL_STATUSES",
    "GROUP_ORDERS",
    "MAX_CHECKOUT_PARTITIONS",
    "CancellationRequested",
    "CancellationRequestedEvent",
    "CatalogChanged",
    "CatalogChangedEvent",
    "CheckoutItem",
    "CheckoutRequested",
    "CheckoutRequestedEvent",
    "DeadLetterReason",
    "DealSnapshot",
    "EntryId",
    "Envelope",
    "FlashDealRequested",
    "FlashDealRequestedEvent",
    "OrderStatus",
    "OrderStatusChanged",
    "OrderStatusChangedEvent",
    "ProductSnapshot",
    "RejectionReason",
    "RoomChanged",
    "RoomChangedEvent",
    "RoomSales",
    "RoomSalesChangedEvent",
    "Streams",
    "WireError",
    "checkout_partition",
    "decode_entry",
    "encode_entry",
    "is_order_reference",
    "new_event_id",
    "order_reference",
    "parse_order_reference",
    "utc_now",
]
