"""The language-neutral wire format of a stream entry (see WIRE.md), and its one reader.

An entry has one field, `__data__`, whose value is the envelope as UTF-8 JSON
text. `__data__` is the field FastStream reads and writes, so entries written by
any language with a plain XADD are consumed like our own.

Every service and ops read entries through this module: the entry id (`EntryId`), the
size limit (`check_entry_size`), the decoder (`decode_entry`) and the reason codes a
dead letter carries (`DeadLetterReason`) are spelt here only.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import NamedTuple, Self, TypeVar

from pydantic import ValidationError

from contracts.envelope import Envelope

DATA_FIELD = "__data__"
MAX_ENTRY_BYTES = 64 * 1024
"""Entries larger than this are refused by readers (dead-lettered, never parsed)."""

EnvelopeT = TypeVar("EnvelopeT", bound=Envelope)  # type: ignore[type-arg]


Fields = Mapping[bytes, bytes] | Mapping[str, str]
"""An entry's fields as redis-py hands them (bytes) or as a producer writes them (text)."""


class DeadLetterReason(StrEnum):
    """Why a consumer set an entry aside: a dead letter's `dlq.reason`, which ops and the
    stored dead letters read, so a value never changes. A handler may give a reason of its
    own for an entry refused for good (a flash deal's `unknown_sku`)."""

    MISSING_FIELD = "missing_field"  # no `__data__` field
    TOO_LARGE = "too_large"  # over the size limit: never parsed
    INVALID_JSON = "invalid_json"  # `__data__` is not JSON text
    INVALID_EVENT = "invalid_event"  # JSON, but not the event (type, version, a field)
    INVALID_ENTRY = "invalid_entry"  # bad input found by the handler, not the decoder
    HANDLER_ERROR = "handler_error"  # the handler failed on every delivery up to the cap


UNREADABLE = frozenset(
    {
        DeadLetterReason.MISSING_FIELD,
        DeadLetterReason.TOO_LARGE,
        DeadLetterReason.INVALID_JSON,
        DeadLetterReason.INVALID_EVENT,
    }
)
"""The reasons `decode_entry` and `check_entry_size` refuse an entry with."""


class EntryId(NamedTuple):
    """A Redis stream entry id; compares numerically, so `10-0` comes after `9-5`."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, text: str | bytes) -> Self:
        """`1795831750546-0` as an EntryId; ValueError for anything else."""
        if isinstance(text, bytes):
            text = text.decode("ascii")
        ms, sep, seq = text.partition("-")
        if not (sep and ms.isdecimal() and seq.isdecimal() and ms.isascii() and seq.isascii()):
            raise ValueError(f"not a stream entry id: {text!r}")
        return cls(int(ms), int(seq))

    @property
    def added_at(self) -> datetime:
        """When Redis added the entry (its clock, in the id's milliseconds), in UTC."""
        return datetime.fromtimestamp(self.ms / 1000, UTC)

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


class WireError(ValueError):
    """A stream entry that cannot be read as the expected event; `reason` is a short code
    (one of `UNREADABLE`)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode_entry(event: Envelope) -> dict[str, str]:  # type: ignore[type-arg]
    """The fields to XADD for `event`."""
    return {DATA_FIELD: event.model_dump_json()}


def entry_size(fields: Fields) -> int:
    """The entry's size on the wire: every field's name and value, in (UTF-8) bytes."""
    return sum(_encoded_size(name) + _encoded_size(value) for name, value in fields.items())


def check_entry_size(fields: Fields, *, limit: int = MAX_ENTRY_BYTES) -> None:
    """Refuse (WireError `too_large`) an entry over `limit` bytes before anyone parses it."""
    if (size := entry_size(fields)) > limit:
        raise WireError(DeadLetterReason.TOO_LARGE, f"{size} bytes > {limit}")


def data_of(fields: Fields) -> bytes | str:
    """The entry's `__data__` value, or WireError `missing_field`."""
    raw = fields.get(DATA_FIELD)  # type: ignore[call-overload]
    if raw is None:
        raw = fields.get(DATA_FIELD.encode())  # type: ignore[call-overload]
    if raw is None:
        raise WireError(DeadLetterReason.MISSING_FIELD, f"entry has no `{DATA_FIELD}` field")
    return raw


def decode_entry(
    fields: Fields, model: type[EnvelopeT], *, max_entry_bytes: int | None = None
) -> EnvelopeT:
    """Read one entry's fields as `model`, or raise WireError with the reason; with
    `max_entry_bytes`, the whole entry is held to that limit first."""
    if max_entry_bytes is not None:
        check_entry_size(fields, limit=max_entry_bytes)
    return decode_payload(data_of(fields), model)


def decode_payload(raw: bytes | str, model: type[EnvelopeT]) -> EnvelopeT:
    """Validate the JSON text of an envelope as `model`, or raise WireError."""
    size = _utf8_size(raw)
    if size > MAX_ENTRY_BYTES:
        raise WireError(DeadLetterReason.TOO_LARGE, f"{size} bytes > {MAX_ENTRY_BYTES}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "entry"
        invalid_json = first["type"] == "json_invalid"
        reason = DeadLetterReason.INVALID_JSON if invalid_json else DeadLetterReason.INVALID_EVENT
        raise WireError(reason, f"{where}: {first['msg']}") from exc


def _utf8_size(raw: bytes | str) -> int:
    """The size on the wire: text counts in UTF-8 bytes (up to 4 a character), not characters.
    Text longer than the limit is over it whatever its encoding, so is not encoded to count."""
    if isinstance(raw, str) and len(raw) > MAX_ENTRY_BYTES:
        return len(raw)
    return _encoded_size(raw)


def _encoded_size(raw: bytes | str) -> int:
    return len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
