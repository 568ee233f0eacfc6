"""The reason a consumer gives a dead letter (services/common/streams): the codes of
`contracts.DeadLetterReason`, whatever path (one at a time or in a batch) refused it."""

import json
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts import CheckoutRequestedEvent
from contracts.wire import WireError
from services.common.streams.consumer import BatchReader
from services.common.streams.delivery import DeliveryPolicy, PoisonEntry, reason_for


def validation_error() -> ValidationError:
    class Strict(BaseModel):
        n: int

    with pytest.raises(ValidationError) as refused:
        Strict.model_validate({"n": "x"})
    return refused.value


def json_error() -> json.JSONDecodeError:
    with pytest.raises(json.JSONDecodeError) as refused:
        json.loads("{")
    return refused.value


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (WireError("too_large", "70000 bytes > 65536"), "too_large"),
        (PoisonEntry("unknown_sku"), "unknown_sku"),
        (validation_error(), "invalid_event"),
        (json_error(), "invalid_json"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "invalid_json"),
        (ValueError("a bad value the handler found"), "invalid_entry"),
        (RuntimeError("the handler broke"), "handler_error"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else value,
)
def test_each_failure_is_dead_lettered_with_the_reason_ops_read(
    exc: BaseException, reason: str
) -> None:
    assert reason_for(exc) == reason


def batch_reader(max_entry_bytes: int = 1024) -> BatchReader:
    group: Any = SimpleNamespace(policy=DeliveryPolicy(max_entry_bytes=max_entry_bytes))
    return BatchReader(group, handler=None, batch_handler=None, event_type=CheckoutRequestedEvent)  # type: ignore[arg-type]


def test_a_batch_refuses_an_entry_over_the_consumers_limit_as_too_large() -> None:
    with pytest.raises(WireError) as refused:
        batch_reader()._decode({b"__data__": b"x" * 1100})

    assert refused.value.reason == "too_large"


def test_a_batch_gives_an_entry_without_data_the_reason_one_at_a_time_reading_gives() -> None:
    # FastStream validates the bare fields as the event: `invalid_event`, not missing_field.
    with pytest.raises(WireError) as refused:
        batch_reader()._decode({b"checkout_id": b"c-1"})

    assert refused.value.reason == "invalid_event"
