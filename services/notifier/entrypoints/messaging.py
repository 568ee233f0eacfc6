"""The notifier's one FastStream reader: every `order.status` entry, fan-out, into the hub.

Plain XREAD, no consumer group: every notifier replica must see every status,
and nothing is acknowledged because nothing durable is done with it.
"""

import logging
import time
from typing import Annotated, Any

from faststream import Context
from faststream.middlewares import ExceptionMiddleware
from faststream.redis import RedisBroker, StreamSub
from faststream.redis.annotations import RedisStreamMessage
from pydantic import ValidationError

from contracts import OrderStatusChangedEvent
from services.common.broker import build_broker as build_service_broker
from services.notifier.config import NotifierSettings
from services.notifier.hub import StatusHub
from services.notifier.records import EntryId

log = logging.getLogger(__name__)

MAX_RECORDS = 100

READER_DESCRIPTION = (
    "Every order status change, read by each notifier replica on its own (XREAD, no group). "
    "A starting replica reads back `history_seconds` to rebuild recent history; statuses are "
    "deduplicated on `event_id` and pushed to browsers over Server-Sent Events. "
    "Malformed entries are logged and skipped."
)


def history_start_id(history_seconds: int, *, now: float | None = None) -> str:
    """The entry id `history_seconds` ago: reading from it costs the window, not the stream."""
    now_ms = int((time.time() if now is None else now) * 1000)
    return f"{max(now_ms - history_seconds * 1000, 0)}-0"


def build_broker(settings: NotifierSettings, hub: StatusHub) -> RedisBroker:
    """A broker whose one subscriber reads `order.status` into `hub`; it connects on start."""
    broker = build_service_broker(
        settings, description="livecart notifier: order statuses to live rooms"
    )
    # ValueError covers undecodable JSON, bad UTF-8 and pydantic's ValidationError.
    broker.add_middleware(ExceptionMiddleware(handlers={ValueError: _skip_malformed_entry}))
    stream = StreamSub(
        settings.streams.order_status,
        last_id=history_start_id(settings.history_seconds),
        max_records=MAX_RECORDS,
    )

    @broker.subscriber(stream=stream, title="notifier:order.status", description=READER_DESCRIPTION)
    async def on_order_status(event: OrderStatusChangedEvent, message: RedisStreamMessage) -> None:
        """Hand one status to the hub, keyed by its Redis entry id."""
        entry_id = EntryId.parse(message.raw_message["message_ids"][0])
        hub.publish(entry_id=entry_id, event_id=event.event_id, status=event.data)

    return broker


def specification_broker() -> RedisBroker:
    """The broker as the AsyncAPI generator should see it; connects to nothing."""
    # Field defaults only, not the environment: the document describes the
    # contract, not whichever deployment happens to generate it.
    settings = NotifierSettings.model_construct()
    return build_broker(settings, StatusHub())


async def _skip_malformed_entry(
    exc: ValueError, message: Annotated[Any, Context("message")]
) -> None:
    # A bad entry must not stop the reader, and it is the producer's bug, not
    # ours: a warning with the entry id is enough to find it with XRANGE.
    raw = getattr(message, "raw_message", message)
    entry_ids = raw.get("message_ids") if isinstance(raw, dict) else None
    entry_id = entry_ids[0].decode() if entry_ids else "?"
    log.warning("skipped malformed order.status entry %s: %s", entry_id, _reason(exc))


def _reason(exc: ValueError) -> str:
    if isinstance(exc, ValidationError) and exc.errors():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{first['type']} at {where}: {first['msg']}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"
