"""Dead letters as ops handle them: select by stream, reason and time; show; replay; purge.

`checkout.requested` means the dead letters of every checkout partition, each put back
into its own partition on replay. The storefront's other requests to the marketplace
(`flash_deal.requested`, `order.cancellation_requested`) are consumed by the same group
and dead-lettered the same way; their letters are named by `--stream`.

Replaying goes through `services.common.streams.dead_letters.replay_dead_letters` (re-add and
remove in one transaction); consumers are idempotent (on the checkout id; a flash deal
is an upsert by its deal id, a cancel request is granted once), so replaying the same
entry twice never makes a second order, deal or refund.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from contracts import DeadLetterReason, EntryId, Streams
from services.common.streams.dead_letters import DeadLetter, list_dead_letters, replay_dead_letters
from services.ops.config import OpsError
from services.ops.entries import (
    checkout_id_of,
    correlation_id_of,
    envelope_of,
    readable_fields,
)
from services.ops.keys import CHECKOUTS, STREAM_NAMES
from services.ops.keys import stream_keys as livecart_streams


def stream_keys(streams: Streams, name: str) -> list[str]:
    """The streams whose dead letters `name` means: a short name (`order.status`; with
    partitions `checkout.requested` is every one of them and `checkout.requested.2` one),
    or a full key under the prefix; with or without `.dlq`."""
    base = name.removesuffix(".dlq")
    if base.startswith(f"{streams.prefix}:"):
        return [base]
    if base == CHECKOUTS:
        return list(streams.checkout_streams)
    named = dict(livecart_streams(streams))
    if base not in named:
        partitions = (
            f", {CHECKOUTS}.<0..{streams.checkout_partitions - 1}>"
            if streams.checkout_partitions > 1
            else ""
        )
        raise OpsError(f"unknown stream {name!r}: one of {', '.join(STREAM_NAMES)}{partitions}")
    return [named[base]]


def replay_may_succeed(reason: str) -> bool:
    """Whether replaying a dead letter given `reason` may process it. `handler_error`: the
    handler failed on every delivery up to the cap (a bug, a refused payment, a missing row),
    which a fix may cure. Every other reason was given at the first delivery to an entry that
    can never be processed as it is (`contracts.DeadLetterReason`): `invalid_json`,
    `invalid_event` (an unknown version or type included), `missing_field`, `too_large`,
    `invalid_entry`, or a refusal for good such as a flash deal's `unknown_sku`;
    a replay only dead-letters it again, so purge it. A letter without a reason (written by
    hand) counts as a handler failure."""
    return reason in {DeadLetterReason.HANDLER_ERROR, ""}


def label(streams: Streams, keys: list[str]) -> str:
    """How a command names the streams it acts on: the key, or the checkout pattern."""
    return keys[0] if len(keys) == 1 else streams.checkout_pattern


@dataclass(frozen=True)
class StreamLetter:
    """A dead letter and the stream whose DLQ holds it (where a replay puts it back)."""

    stream: str
    letter: DeadLetter


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
    return EntryId.parse(letter.dlq_id).added_at


async def select_dead_letters(
    client: Redis, streams: list[str], selection: Selection
) -> list[StreamLetter]:
    """The dead letters of `streams` that `selection` matches, oldest first."""
    found = [
        StreamLetter(stream, letter)
        for stream in streams
        for letter in await list_dead_letters(client, stream)
        if selection.matches(letter)
    ]
    return sorted(found, key=lambda x: EntryId.parse(x.letter.dlq_id))  # stable: streams in order


async def find_dead_letter(client: Redis, streams: list[str], dlq_id: str) -> StreamLetter:
    found = []
    for stream in streams:
        try:
            entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(  # type: ignore[assignment]
                Streams.dead_letters(stream), min=dlq_id, max=dlq_id
            )
        except ResponseError as exc:  # a malformed id is refused by Redis with an ERR
            if "Invalid stream ID" in str(exc):
                raise OpsError(
                    f"{dlq_id!r} is not a stream entry id (like 1700000000000-0)"
                ) from exc
            raise
        found += [StreamLetter(stream, DeadLetter.from_entry(i, fields)) for i, fields in entries]
    if not found:
        dlqs = ", ".join(Streams.dead_letters(stream) for stream in streams)
        raise OpsError(f"no dead letter {dlq_id} in {dlqs}")
    if len(found) > 1:
        where = ", ".join(Streams.dead_letters(x.stream) for x in found)
        raise OpsError(f"dead letter {dlq_id} is in {where}: name one with --stream")
    return found[0]


async def replay(client: Redis, letters: list[StreamLetter]) -> list[str]:
    """Put `letters` back into their streams, each in a transaction with its removal from
    the DLQ (a stream and its DLQ share a hash tag: one Cluster slot); the new entry ids
    (letters gone meanwhile are skipped)."""
    replayed: list[str] = []
    for stream, ids in _by_stream(letters).items():
        replayed += await replay_dead_letters(client, stream, ids=ids)
    return replayed


async def purge(client: Redis, letters: list[StreamLetter]) -> int:
    """Delete `letters` from their DLQs for good; how many were deleted."""
    deleted = 0
    for stream, ids in _by_stream(letters).items():
        deleted += int(await client.xdel(Streams.dead_letters(stream), *ids))
    return deleted


def _by_stream(letters: list[StreamLetter]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for found in letters:
        grouped.setdefault(found.stream, []).append(found.letter.dlq_id)
    return grouped


def letter_document(found: StreamLetter, *, with_entry: bool = False) -> dict[str, Any]:
    """A dead letter as JSON-able data; `with_entry` adds the original entry's fields."""
    letter = found.letter
    envelope = envelope_of(letter.fields)
    document: dict[str, Any] = {
        "dlq_id": letter.dlq_id,
        "dead_lettered_at": dead_lettered_at(letter).isoformat(),
        "stream": found.stream,
        "entry_id": letter.entry_id,
        "checkout_id": checkout_id_of(envelope),
        "correlation_id": correlation_id_of(envelope),
        "reason": letter.reason,
        "error": letter.error,
        "group": letter.group,
        "consumer": letter.consumer,
        "deliveries": letter.deliveries,
        "advice": "replay" if replay_may_succeed(letter.reason) else "purge",
    }
    if with_entry:
        document["entry"] = readable_fields(letter.fields)
    return document
