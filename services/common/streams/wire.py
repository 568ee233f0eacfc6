"""FastStream message format that writes and reads the JSON wire format of `contracts.wire`."""

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

from services.common.streams.faststream_internals import (
    CodecProto,
    MessageFormat,
    SendableMessage,
)

if TYPE_CHECKING:
    from fast_depends.library.serializer import SerializerProto


class JsonEnvelopeFormat(MessageFormat):
    """The entry's `__data__` is the envelope's JSON text, with no binary header.

    FastStream's default format prefixes a binary header that `redis-cli` and
    non-Python services cannot read. Headers are not carried: everything a reader
    needs (event id, correlation id) is inside the envelope.
    """

    __slots__ = ()

    @classmethod
    async def encode(
        cls,
        *,
        message: Union[Sequence["SendableMessage"], "SendableMessage"],
        reply_to: str | None,
        headers: dict[str, Any] | None,
        correlation_id: str,
        serializer: Optional["SerializerProto"] = None,
        codec: Optional["CodecProto"] = None,
    ) -> bytes:
        built = await cls.build(
            message=message,
            reply_to=reply_to,
            headers=headers,
            correlation_id=correlation_id,
            serializer=serializer,
            codec=codec,
        )
        return built.data

    @classmethod
    def parse(cls, data: bytes) -> tuple[bytes, dict[str, Any]]:
        headers: dict[str, Any] = {"content-type": "application/json"}
        # Best effort only: a malformed entry is still handed on, so the consumer
        # can dead-letter it with a reason instead of FastStream dropping it.
        try:
            envelope = json.loads(data)
        # TypeError: a batch hands on an entry's raw fields; RecursionError: JSON nested
        # deeper than the interpreter's stack (`[[[[...`), which pydantic refuses later.
        except (ValueError, TypeError, RecursionError):
            return data, headers
        if isinstance(envelope, dict):
            if isinstance(cid := envelope.get("correlation_id"), str):
                headers["correlation_id"] = cid
            if isinstance(eid := envelope.get("event_id"), str):
                headers["message_id"] = eid
        return data, headers
