"""The language-neutral wire format of a stream entry (see WIRE.md).

An entry has one field, `__data__`, whose value is the envelope as UTF-8 JSON
text. `__data__` is the field FastStream reads and writes, so entries written by
any language with a plain XADD are consumed like our own.
"""

from typing import TypeVar

from pydantic import ValidationError

from contracts.envelope import Envelope

DATA_FIELD = "__data__"
MAX_ENTRY_BYTES = 64 * 1024
"""Entries larger than this are refused by readers (dead-lettered, never parsed)."""

EnvelopeT = TypeVar("EnvelopeT", bound=Envelope)  # type: ignore[type-arg]


class WireError(ValueError):
    """A stream entry that cannot be read as the expected event; `reason` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode_entry(event: Envelope) -> dict[str, str]:  # type: ignore[type-arg]
    """The fields to XADD for `event`."""
    return {DATA_FIELD: event.model_dump_json()}


def decode_entry(fields: dict[bytes, bytes] | dict[str, str], model: type[EnvelopeT]) -> EnvelopeT:
    """Read one entry's fields as `model`, or raise WireError with the reason."""
    raw = fields.get(DATA_FIELD)  # type: ignore[call-overload]
    if raw is None:
        raw = fields.get(DATA_FIELD.encode())  # type: ignore[call-overload]
    if raw is None:
        raise WireError("missing_field", f"entry has no `{DATA_FIELD}` field")
    return decode_payload(raw, model)


def decode_payload(raw: bytes | str, model: type[EnvelopeT]) -> EnvelopeT:
    """Validate the JSON text of an envelope as `model`, or raise WireError."""
    size = _utf8_size(raw)
    if size > MAX_ENTRY_BYTES:
        raise WireError("too_large", f"{size} bytes > {MAX_ENTRY_BYTES}")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "entry"
        reason = "invalid_json" if first["type"] == "json_invalid" else "invalid_event"
        raise WireError(reason, f"{where}: {first['msg']}") from exc


def _utf8_size(raw: bytes | str) -> int:
    """The size on the wire: text counts in UTF-8 bytes (up to 4 a character), not characters."""
    if isinstance(raw, bytes) or len(raw) > MAX_ENTRY_BYTES:
        return len(raw)
    return len(raw.encode("utf-8", "surrogatepass"))
