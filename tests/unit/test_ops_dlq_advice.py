"""Which dead letters a replay may cure: handler failures only; an entry dead-lettered at
its first delivery as unreadable or refused for good can only be purged."""

import pytest

from services.common.streams.dead_letters import DeadLetter
from services.ops.dlq import StreamLetter, replay_may_succeed
from services.ops.dlq_advice import advice_lines, letter_advice, replay_warning


@pytest.mark.parametrize("reason", ["handler_error", ""])
def test_a_handler_failure_may_succeed_when_replayed(reason: str) -> None:
    assert replay_may_succeed(reason)


@pytest.mark.parametrize(
    "reason",
    ["invalid_json", "invalid_event", "missing_field", "too_large", "invalid_entry", "unknown_sku"],
)
def test_an_entry_that_cannot_be_processed_is_not_worth_a_replay(reason: str) -> None:
    assert not replay_may_succeed(reason)


def letter(dlq_id: str, reason: str) -> StreamLetter:
    fields = {b"__data__": b"{}", b"dlq.reason": reason.encode()}
    return StreamLetter("lc:{order.status}", DeadLetter.from_entry(dlq_id.encode(), fields))


def test_the_advice_names_each_reason_once_with_its_command_and_the_stream_given() -> None:
    letters = [
        letter("1-0", "too_large"),
        letter("2-0", "handler_error"),
        letter("3-0", "too_large"),
    ]

    lines = [line.plain for line in advice_lines(letters, stream="order.status")]

    assert lines == [
        "handler_error (1): its handler failed up to the delivery cap: replay once the cause is "
        "fixed: livecart-ops dlq replay --stream order.status --reason handler_error",
        "too_large (2): the entry itself can never be processed: a replay would only "
        "dead-letter it again: livecart-ops dlq purge --stream order.status --reason too_large",
    ]
    assert letter_advice(letters[0], stream="checkout.requested").plain.endswith(
        "livecart-ops dlq purge --id 1-0"
    )
    assert [line.plain[:12] for line in replay_warning(letters, stream="x")] == ["too_large (2"]
