"""Check 4: payment data never reaches the storefront side: no field named like a payment,
card, wallet, balance or amount in recent entries of the streams the storefront writes
(every checkout.requested partition, flash_deal.requested, order.cancellation_requested,
room.changed, the rooms' chat and room.reactions) or reads (catalog.changed), nor in the
storefront's tables.

`room.sales`, which the storefront reads too, is left out: its maps are keyed by sku
(`units_sold`, `revenue_minor_by_sku`), and a sku such as `GIFT-CARD` would read as a
payment field; its fields are fixed by the contract (counts and revenue, no payment)."""

from collections.abc import Iterator
from typing import Any

from redis.asyncio import Redis

from contracts import Streams
from services.ops.checks.names import PAYMENT_STEMS, offending_word
from services.ops.checks.result import CheckResult, plural, verdict
from services.ops.checks.schema import Schema, offending_names
from services.ops.entries import envelope_of, text

KEY = "payment-data"
TITLE = "No payment data on the storefront side"


def storefront_side_streams(streams: Streams) -> dict[str, str]:
    """Short name → key of every stream the storefront writes or reads."""
    written = (*streams.checkout_streams, *streams.live_requests, streams.room_changed)
    written += (streams.chat, streams.reactions)
    keys = (*written, streams.catalog_changed)
    return {streams.short_name(key): key for key in keys}


def field_paths(value: Any, path: str = "") -> Iterator[str]:
    """Every key of a JSON document, as a dotted path (`data.items[].sku`)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            here = f"{path}.{key}" if path else str(key)
            yield here
            yield from field_paths(inner, here)
    elif isinstance(value, list):
        for item in value:
            yield from field_paths(item, f"{path}[]")


async def sampled_fields(client: Redis, key: str, sample: int) -> tuple[int, set[str]]:
    """How many recent entries were read, and every field path seen in them."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrevrange(  # type: ignore[assignment]
        key, count=sample
    )
    paths: set[str] = set()
    for _, fields in entries:
        paths.update(text(name) for name in fields)
        if (envelope := envelope_of(fields)) is not None:
            paths.update(field_paths(envelope, "__data__"))
    return len(entries), paths


async def check_payment_data(
    *, client: Redis, streams: Streams, sample: int, schema: Schema | None, where: str
) -> CheckResult:
    problems: list[str] = []
    evidence: list[str] = []
    for name, key in storefront_side_streams(streams).items():
        read, paths = await sampled_fields(client, key, sample)
        last_words = sorted({path.rsplit(".", 1)[-1].removesuffix("[]") for path in paths})
        fields = ", ".join(last_words) or "none"
        evidence.append(f"{name}: {read} most recent entries, fields: {fields}")
        problems += [
            f"{name}: field `{path}` (matches `{stem}`)"
            for path in sorted(paths)
            if (stem := offending_word(path.rsplit(".", 1)[-1], PAYMENT_STEMS))
        ]
    if schema is None:
        problems.append(f"storefront tables not inspected ({where})")
    else:
        evidence.append(f"storefront tables ({where}): {', '.join(schema) or 'none'}")
        problems += [f"storefront DB: {name}" for name in offending_names(schema, PAYMENT_STEMS)]
    return verdict(
        KEY,
        TITLE,
        problems=problems,
        evidence=evidence,
        passed=f"no payment field in up to {sample} recent entries per stream, nor in tables",
        failed=plural(len(problems), "payment field", "payment fields") + " on the storefront side",
    )
