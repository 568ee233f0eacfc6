"""Reading stream entries the way an operator needs them: envelopes parsed loosely (a broken
entry is shown, not refused), values fit for JSON. Entry ids and their times are
`contracts.EntryId`'s."""

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from redis.asyncio import Redis

from contracts import (
    DATA_FIELD,
    CatalogChangedEvent,
    FlashDealRequestedEvent,
    RoomChangedEvent,
    RoomSalesChangedEvent,
)
from services.common.times import as_utc

Fields = Mapping[bytes, bytes]
PAGE = 1000
NOT_OF_A_CHECKOUT = frozenset(
    {
        FlashDealRequestedEvent.TYPE,
        RoomChangedEvent.TYPE,
        RoomSalesChangedEvent.TYPE,
        CatalogChangedEvent.TYPE,
    }
)
"""Event types whose correlation id names a deal, a room or the catalog, not a checkout."""


def text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def parse_time(value: str) -> datetime:
    """ISO 8601 text as an aware UTC datetime (naive means UTC); ValueError otherwise."""
    return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))


def envelope_of(fields: Fields) -> dict[str, Any] | None:
    """The entry's envelope as a dict, or None when `__data__` is missing or not a JSON object."""
    raw = fields.get(DATA_FIELD.encode())
    if raw is None:
        return None
    try:
        loaded = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return loaded if isinstance(loaded, dict) else None


def checkout_id_of(envelope: Mapping[str, Any] | None) -> str | None:
    """The checkout an envelope belongs to: `data.checkout_id`, else its correlation id
    (unless its type correlates something else: `NOT_OF_A_CHECKOUT`)."""
    if envelope is None:
        return None
    data = envelope.get("data")
    found = data.get("checkout_id") if isinstance(data, dict) else None
    if not found and envelope.get("type") not in NOT_OF_A_CHECKOUT:
        found = envelope.get("correlation_id")
    return found if isinstance(found, str) else None


def correlation_id_of(envelope: Mapping[str, Any] | None) -> str | None:
    """The envelope's correlation id: a checkout's id, a flash deal's, a room's."""
    found = envelope.get("correlation_id") if envelope is not None else None
    return found if isinstance(found, str) else None


def readable_fields(fields: Fields) -> dict[str, Any]:
    """An entry's fields for people and JSON: `__data__` parsed when it is JSON."""
    shown: dict[str, Any] = {}
    for key, value in fields.items():
        name = text(key)
        if name == DATA_FIELD and (envelope := envelope_of(fields)) is not None:
            shown[name] = envelope
        else:
            shown[name] = text(value)
    return shown


async def scan_stream(
    client: Redis, key: str, *, start: str = "-", needle: bytes | None = None
) -> AsyncIterator[tuple[str, Fields]]:
    """Every entry of `key` from `start` on, oldest first, read a page at a time; with
    `needle`, only entries whose raw fields contain it (cheap prefilter before parsing)."""
    low = start
    while True:
        page: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(  # type: ignore[assignment]
            key, min=low, count=PAGE
        )
        for entry_id, fields in page:
            if needle is None or any(needle in value for value in fields.values()):
                yield text(entry_id), fields
        if len(page) < PAGE:
            return
        low = "(" + text(page[-1][0])


def json_default(value: object) -> Any:
    """`json.dumps(default=...)` for datetimes, enums, dataclasses and bytes."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, bytes):
        return text(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_json(document: object) -> str:
    return json.dumps(document, default=json_default, indent=2, ensure_ascii=False)
