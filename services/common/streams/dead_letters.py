"""Dead-letter streams: move an entry aside with why, and replay it once the cause is fixed.

A dead letter is the original entry's fields, unchanged, plus `dlq.*` fields saying
where it came from and why it was set aside. Replaying XADDs the original fields
back into their stream; consumers are idempotent, so a replay never duplicates.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis

from contracts.streams import Streams

META_PREFIX = b"dlq."
MAX_KEPT_FIELD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class DeadLetter:
    dlq_id: str
    stream: str
    entry_id: str
    reason: str
    error: str
    group: str
    consumer: str
    deliveries: int
    dead_lettered_at: str
    fields: dict[bytes, bytes]

    @classmethod
    def from_entry(cls, dlq_id: bytes, raw: Mapping[bytes, bytes]) -> "DeadLetter":
        meta = {k[len(META_PREFIX) :].decode(): v.decode() for k, v in raw.items() if _is_meta(k)}
        return cls(
            dlq_id=dlq_id.decode(),
            stream=meta.get("stream", ""),
            entry_id=meta.get("entry_id", ""),
            reason=meta.get("reason", ""),
            error=meta.get("error", ""),
            group=meta.get("group", ""),
            consumer=meta.get("consumer", ""),
            deliveries=int(meta.get("deliveries", "0") or 0),
            dead_lettered_at=meta.get("at", ""),
            fields={k: v for k, v in raw.items() if not _is_meta(k)},
        )


def _is_meta(key: bytes) -> bool:
    return key.startswith(META_PREFIX)


async def dead_letter(
    client: Redis,
    *,
    stream: str,
    entry_id: bytes,
    fields: Mapping[bytes, bytes],
    group: str,
    consumer: str,
    reason: str,
    error: str,
    deliveries: int,
) -> None:
    """Ack the entry and copy it to `<stream>.dlq` with the reason, atomically."""
    kept = {k: v[:MAX_KEPT_FIELD_BYTES] for k, v in fields.items() if not _is_meta(k)}
    meta = {
        "stream": stream,
        "entry_id": entry_id.decode(),
        "reason": reason,
        "error": error,
        "group": group,
        "consumer": consumer,
        "deliveries": str(deliveries),
        "at": datetime.now(UTC).isoformat(),
        "truncated": "1" if any(len(v) > MAX_KEPT_FIELD_BYTES for v in fields.values()) else "0",
    }
    kept.update({META_PREFIX + k.encode(): v.encode() for k, v in meta.items()})
    if not any(not _is_meta(k) for k in kept):
        kept[b"__empty__"] = b""
    args: list[bytes] = [group.encode(), entry_id]
    for key, value in kept.items():
        args += [key, value]
    await client.eval(_ACK_THEN_DEAD_LETTER, 2, stream, Streams.dead_letters(stream), *args)


# Ack and dead-letter atomically, and only if this call acked the entry: when two
# consumers hold the same entry (a claim raced a slow reader), one dead letter is kept.
_ACK_THEN_DEAD_LETTER = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
end
return false
"""


async def list_dead_letters(client: Redis, stream: str, *, page: int = 500) -> list[DeadLetter]:
    """Every dead letter of `stream`, oldest first."""
    letters: list[DeadLetter] = []
    start = "-"
    while True:
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(  # type: ignore[assignment]
            Streams.dead_letters(stream), min=start, count=page
        )
        letters.extend(DeadLetter.from_entry(dlq_id, raw) for dlq_id, raw in entries)
        if len(entries) < page:
            return letters
        start = "(" + entries[-1][0].decode()


async def replay_dead_letters(
    client: Redis, stream: str, *, ids: list[str] | None = None, reason: str | None = None
) -> list[str]:
    """Put dead letters of `stream` back into it (all, or those with `ids` / `reason`).

    Each one is re-added and removed from the DLQ in one transaction; returns the
    new entry ids. Consumers deduplicate on the checkout id, so nothing doubles.
    """
    replayed: list[str] = []
    for letter in await list_dead_letters(client, stream):
        if ids is not None and letter.dlq_id not in ids:
            continue
        if reason is not None and letter.reason != reason:
            continue
        pipe = client.pipeline(transaction=True)
        pipe.xadd(stream, letter.fields)  # type: ignore[arg-type]
        pipe.xdel(Streams.dead_letters(stream), letter.dlq_id)
        new_id, _ = await pipe.execute()
        replayed.append(new_id.decode() if isinstance(new_id, bytes) else str(new_id))
    return replayed
