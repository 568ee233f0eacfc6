"""What to do with dead letters, told under `dlq list`, `dlq show` and `dlq replay`: purge
the entries that can never be processed (a replay only dead-letters them again), replay the
handler failures once their cause is fixed."""

from collections import Counter

from rich.text import Text

from services.ops.dlq import StreamLetter, replay_may_succeed
from services.ops.dlq_options import DEFAULT_STREAM

CANNOT_SUCCEED = "the entry itself can never be processed: a replay would only dead-letter it again"
HANDLER_FAILED = "its handler failed up to the delivery cap: replay once the cause is fixed"


def advice_lines(letters: list[StreamLetter], *, stream: str) -> list[Text]:
    """One line per reason among `letters`: what it means and the command to run."""
    counts = Counter(found.letter.reason for found in letters)
    return [_advice(reason, count, stream=stream) for reason, count in sorted(counts.items())]


def letter_advice(found: StreamLetter, *, stream: str) -> Text:
    """What to do with one dead letter, naming it by its id."""
    reason = found.letter.reason
    command = "replay" if replay_may_succeed(reason) else "purge"
    why = HANDLER_FAILED if replay_may_succeed(reason) else CANNOT_SUCCEED
    return Text.assemble(
        (f"{reason or 'no reason'}: {why}: ", _style(reason)),
        f"livecart-ops dlq {command}{_stream(stream)} --id {found.letter.dlq_id}",
    )


def replay_warning(letters: list[StreamLetter], *, stream: str) -> list[Text]:
    """Lines warning that some selected letters cannot succeed, with the purge command."""
    hopeless = [found for found in letters if not replay_may_succeed(found.letter.reason)]
    return advice_lines(hopeless, stream=stream)


def _advice(reason: str, count: int, *, stream: str) -> Text:
    if replay_may_succeed(reason):
        command = f"livecart-ops dlq replay{_stream(stream)}" + (
            f" --reason {reason}" if reason else ""
        )
        why = HANDLER_FAILED
    else:
        command = f"livecart-ops dlq purge{_stream(stream)} --reason {reason}"
        why = CANNOT_SUCCEED
    return Text.assemble((f"{reason or 'no reason'} ({count}): {why}: ", _style(reason)), command)


def _stream(stream: str) -> str:
    return "" if stream == DEFAULT_STREAM else f" --stream {stream}"


def _style(reason: str) -> str:
    return "yellow" if replay_may_succeed(reason) else "red"
