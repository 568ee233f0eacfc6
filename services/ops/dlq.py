"""Dead letters as ops handle them: select by stream, reason and time; show; replay; purge.

Replaying goes through `services.common.dead_letters.replay_dead_letters` (re-add and
remove in one transaction); consumers are idempotent on the checkout id, so replaying
the same checkout twice never makes a second order.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from contracts import Streams
from services.common.dead_letters import DeadLetter, list_dead_letters, replay_dead_letters
from services.ops.config import OpsError
from services.ops.entries import checkout_id_of, entry_time, envelope_of, readable_fields
from services.ops.stream_stats import STREAM_NAMES


def stream_key(streams: Streams, name: str) -> str:
    """The key of a stream given by short name (`checkout.requested`) or full key."""
    if name.startswith(f"{streams.prefix}:"):
        return name.removesuffix(".dlq")
    short = name.removesuffix(".dlq")
    if short not in STREAM_NAMES:
        raise OpsError(f"unknown stream {name!r}: one of {', '.join(STREAM_NAMES)}")
    return f"{streams.prefix}:{short}"


@dataclass(frozen=True)
class Selection:
    """Which dead letters a command acts on; every filter given must match."""

    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ids: frozenset[str] | None = None

    def matches(self, letter: DeadLetter) -> bool:
        at = dead_lettered_at(letter)
        return (
            (self.reason is None or letter.reason == self.reason)
            and (self.since is None or at >= self.since)
            and (self.until is None or at <= self.until)
            and (self.ids is None or letter.dlq_id in self.ids)
        )


def dead_lettered_at(letter: DeadLetter) -> datetime:
    """When it was set aside: the DLQ entry's id time (Redis's clock, always present)."""
    return entry_time(letter.dlq_id)


async def select_dead_letters(client: Redis, stream: str, selection: Selection) -> list[DeadLetter]:
    return [
        letter for letter in await list_dead_letters(client, stream) if selection.matches(letter)
    ]


async def find_dead_letter(client: Redis, stream: str, dlq_id: str) -> DeadLetter:
    try:
        found: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(  # type: ignore[assignment]
            Streams.dead_letters(stream), min=dlq_id, max=dlq_id
        )
    except ResponseError as exc:  # a malformed id is refused by Redis with an ERR
        if "Invalid stream ID" in str(exc):
            raise OpsError(f"{dlq_id!r} is not a stream entry id (like 1700000000000-0)") from exc
        raise
    if not found:
        raise OpsError(f"no dead letter {dlq_id} in {Streams.dead_letters(stream)}")
    entry_id, fields = found[0]
    return DeadLetter.from_entry(entry_id, fields)


async def replay(client: Redis, stream: str, letters: list[DeadLetter]) -> list[str]:
    """Put `letters` back into `stream`; the new entry ids (letters gone meanwhile are skipped)."""
    if not letters:
        return []
    return await replay_dead_letters(client, stream, ids=[letter.dlq_id for letter in letters])


async def purge(client: Redis, stream: str, letters: list[DeadLetter]) -> int:
    """Delete `letters` from the DLQ for good; how many were deleted."""
    if not letters:
        return 0
    return int(await client.xdel(Streams.dead_letters(stream), *[x.dlq_id for x in letters]))


def letter_document(letter: DeadLetter, *, with_entry: bool = False) -> dict[str, Any]:
    """A dead letter as JSON-able data; `with_entry` adds the original entry's fields."""
    document: dict[str, Any] = {
        "dlq_id": letter.dlq_id,
        "dead_lettered_at": dead_lettered_at(letter).isoformat(),
        "stream": letter.stream,
        "entry_id": letter.entry_id,
        "checkout_id": checkout_id_of(envelope_of(letter.fields)),
        "reason": letter.reason,
        "error": letter.error,
        "group": letter.group,
        "consumer": letter.consumer,
        "deliveries": letter.deliveries,
    }
    if with_entry:
        document["entry"] = readable_fields(letter.fields)
    return document
