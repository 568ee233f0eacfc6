"""`livecart-ops dlq list|show|replay|purge` on real dead-letter streams, and a replay end to
end: a checkout dead-lettered by the running orders service, replayed after the fix,
becomes one confirmed order, and replaying it again changes nothing."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from contracts import (
    GROUP_ORDERS,
    CancellationRequested,
    CancellationRequestedEvent,
    CheckoutRequested,
    FlashDealRequested,
    FlashDealRequestedEvent,
    Streams,
    encode_entry,
    utc_now,
)
from services.common.streams.dead_letters import list_dead_letters
from services.orders.adapters.tables import OrderRow
from tests.conftest import Database
from tests.integration.test_ops_support import (
    checkout_fields,
    entries,
    new_checkouts,
    ops,
    ops_json,
)
from tests.support.flow import checkout, eventually, final_statuses, statuses_by_checkout
from tests.support.orders import (
    break_payments,
    count,
    orders_settings,
    product,
    running_orders,
)

T1, T2, T3 = 1_790_000_000_000, 1_790_000_060_000, 1_790_000_120_000  # one minute apart
ISO_T2 = datetime.fromtimestamp(T2 / 1000, UTC).isoformat()


async def add_letter(
    client: Redis,
    streams: Streams,
    *,
    at_ms: int,
    reason: str,
    item: CheckoutRequested | None = None,
) -> str:
    """A dead letter of checkout.requested as `dead_letter` writes it, at a chosen time."""
    fields: dict[str, Any] = checkout_fields(item) if item else {"__data__": "{not json"}
    meta = {
        "stream": streams.checkout_requested,
        "entry_id": f"{at_ms - 5000}-0",
        "reason": reason,
        "error": "RuntimeError('boom')",
        "group": GROUP_ORDERS,
        "consumer": "orders-x",
        "deliveries": "5",
        "at": "2026-09-21T00:00:00+00:00",
    }
    fields.update({f"dlq.{k}": v for k, v in meta.items()})
    dlq = Streams.dead_letters(streams.checkout_requested)
    await client.xadd(dlq, fields, id=f"{at_ms}-0")  # type: ignore[arg-type]
    return f"{at_ms}-0"


@pytest.fixture
async def letters(redis_client: Redis, stream_prefix: str) -> list[CheckoutRequested]:
    streams = Streams(stream_prefix)
    first, third = new_checkouts(2)
    await add_letter(redis_client, streams, at_ms=T1, reason="handler_error", item=first)
    await add_letter(redis_client, streams, at_ms=T2, reason="invalid_json")
    await add_letter(redis_client, streams, at_ms=T3, reason="handler_error", item=third)
    return [first, third]


def global_args(redis_url: str, prefix: str) -> list[str]:
    return ["--redis-url", redis_url, "--prefix", prefix]


async def listed(redis_url: str, prefix: str, *filters: str) -> list[str]:
    result = await ops(*global_args(redis_url, prefix), "dlq", "list", "--json", *filters)
    return [letter["dlq_id"] for letter in ops_json(result)["dead_letters"]]


async def test_dlq_list_selects_by_reason_and_time_window(
    letters: list[CheckoutRequested], redis_url: str, stream_prefix: str
) -> None:
    every = [f"{T1}-0", f"{T2}-0", f"{T3}-0"]
    assert await listed(redis_url, stream_prefix) == every
    assert await listed(redis_url, stream_prefix, "--reason", "handler_error") == [
        every[0],
        every[2],
    ]
    assert await listed(redis_url, stream_prefix, "--since", ISO_T2) == every[1:]
    assert await listed(redis_url, stream_prefix, "--until", ISO_T2) == every[:2]
    assert await listed(redis_url, stream_prefix, "--since", ISO_T2, "--until", ISO_T2) == [
        every[1]
    ]


async def test_dlq_list_json_carries_the_checkout_and_why_and_the_table_shows_them(
    letters: list[CheckoutRequested], redis_url: str, stream_prefix: str
) -> None:
    args = global_args(redis_url, stream_prefix)
    document = ops_json(await ops(*args, "dlq", "list", "--json"))
    table = await ops(*args, "dlq", "list", "--stream", "checkout.requested")

    first = document["dead_letters"][0]
    assert document["stream"] == f"{stream_prefix}:{{checkout.requested}}"
    assert (first["checkout_id"], first["reason"], first["deliveries"]) == (
        letters[0].checkout_id,
        "handler_error",
        5,
    )
    assert first["dead_lettered_at"] == datetime.fromtimestamp(T1 / 1000, UTC).isoformat()
    assert document["dead_letters"][1]["checkout_id"] is None  # not JSON: no checkout to name
    assert table.exit_code == 0, table.output
    assert "3 dead letters" in table.stdout
    assert letters[0].checkout_id in table.stdout


async def test_dlq_show_prints_the_original_entry_as_json_and_the_metadata(
    letters: list[CheckoutRequested], redis_url: str, stream_prefix: str
) -> None:
    args = global_args(redis_url, stream_prefix)
    shown = await ops(*args, "dlq", "show", f"{T1}-0")
    document = ops_json(await ops(*args, "dlq", "show", f"{T1}-0", "--json"))
    broken = ops_json(await ops(*args, "dlq", "show", f"{T2}-0", "--json"))

    assert shown.exit_code == 0, shown.output
    assert f'"checkout_id": "{letters[0].checkout_id}"' in shown.stdout
    assert "handler_error" in shown.stdout
    assert "orders-x" in shown.stdout
    assert document["entry"]["__data__"]["data"]["checkout_id"] == letters[0].checkout_id
    assert broken["entry"] == {"__data__": "{not json"}


async def test_dlq_show_of_an_unknown_id_says_so_without_a_traceback(
    letters: list[CheckoutRequested], redis_url: str, stream_prefix: str
) -> None:
    args = global_args(redis_url, stream_prefix)
    missing = await ops(*args, "dlq", "show", "1-0")
    malformed = await ops(*args, "dlq", "show", "not-an-id")

    assert missing.exit_code == 2
    assert "no dead letter 1-0" in missing.stderr
    assert malformed.exit_code == 2
    assert "not a stream entry id" in malformed.stderr
    assert "Traceback" not in missing.output + malformed.output


async def test_dlq_purge_asks_first_and_deletes_only_the_selected_letters(
    letters: list[CheckoutRequested], redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    args = [*global_args(redis_url, stream_prefix), "dlq", "purge", "--reason", "invalid_json"]
    declined = await ops(*args, input="n\n")
    assert "Nothing done" in declined.stdout
    assert len(await listed(redis_url, stream_prefix)) == 3

    accepted = await ops(*args, input="y\n")
    again = await ops(*args, "--yes")

    assert "Delete 1 dead letter of" in accepted.stdout
    assert "Purged 1 dead letter of" in accepted.stdout
    assert await listed(redis_url, stream_prefix) == [f"{T1}-0", f"{T3}-0"]
    assert "nothing to do" in again.stdout


async def test_dlq_replay_puts_the_selected_letters_back_into_their_stream(
    letters: list[CheckoutRequested], redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    streams = Streams(stream_prefix)
    args = [*global_args(redis_url, stream_prefix), "dlq", "replay"]
    declined = await ops(*args, "--since", ISO_T2, "--reason", "handler_error", input="n\n")
    assert await redis_client.xlen(streams.checkout_requested) == 0, declined.output

    replayed = await ops(*args, "--since", ISO_T2, "--reason", "handler_error", "--yes")

    assert replayed.exit_code == 0, replayed.output
    assert "Replayed 1 dead letter into" in replayed.stdout
    ((_, fields),) = await entries(redis_client, streams.checkout_requested)
    assert list(fields) == [b"__data__"]  # the original entry, without the dlq.* metadata
    assert json.loads(fields[b"__data__"])["data"]["checkout_id"] == letters[1].checkout_id
    assert await listed(redis_url, stream_prefix) == [f"{T1}-0", f"{T2}-0"]


async def test_a_dead_letter_replayed_with_the_cli_after_the_fix_yields_one_order_even_twice(
    redis_client: Redis,
    redis_url: str,
    sqlite_database: Database,
    stream_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings_ = orders_settings(sqlite_database, redis_url, stream_prefix, max_deliveries=2)
    item = checkout(items=[("SKU-A", 2)])
    args = global_args(redis_url, stream_prefix)
    async with running_orders(settings_, {"SKU-A": 10}) as orders:
        streams = orders.settings.streams
        dlq = Streams.dead_letters(streams.checkout_requested)
        fix_payments = break_payments(monkeypatch, orders.gateway)
        await redis_client.xadd(streams.checkout_requested, checkout_fields(item))  # type: ignore[arg-type]
        await eventually(
            lambda: list_dead_letters(redis_client, streams.checkout_requested),
            until=lambda found: len(found) == 1,
        )
        ((_, letter_fields),) = await entries(redis_client, dlq)
        assert (
            ops_json(await ops(*args, "dlq", "list", "--json"))["dead_letters"][0]["checkout_id"]
            == item.checkout_id
        )

        fix_payments()  # the fix is deployed
        first = await ops(*args, "dlq", "replay", "--yes")
        found = await final_statuses(redis_client, streams.order_status, [item.checkout_id])
        # The same dead letter comes back (restored from a backup, or set aside twice by
        # two consumers) and is replayed again after the order was confirmed.
        await redis_client.xadd(dlq, letter_fields)  # type: ignore[arg-type]
        second = await ops(*args, "dlq", "replay", "--yes")
        await eventually(
            lambda: redis_client.xinfo_groups(streams.checkout_requested),
            until=lambda groups: groups[0]["lag"] == 0 and groups[0]["pending"] == 0,
        )
        statuses = await statuses_by_checkout(redis_client, streams.order_status)

        assert "Replayed 1 dead letter into" in first.stdout
        assert "Replayed 1 dead letter into" in second.stdout
        assert [s.status.value for s in found[item.checkout_id]] == [
            "received",
            "reserved",
            "paid",
            "confirmed",
        ]
        assert len(statuses[item.checkout_id]) == 4
        assert await count(orders, OrderRow) == 1
        assert (await product(orders, "SKU-A")).sold == 2
        assert await redis_client.xlen(streams.checkout_requested) == 3  # original + 2 replays
        assert await list_dead_letters(redis_client, streams.checkout_requested) == []


async def test_with_partitions_dlq_commands_cover_every_partition_or_the_one_named(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    streams = Streams(stream_prefix, 3)
    first, third = streams.checkout_streams[0], streams.checkout_streams[2]
    items = new_checkouts(2)
    # The same DLQ id in two partitions' DLQs (they are separate streams).
    for key, item in ((first, items[0]), (third, items[1])):
        fields = {**checkout_fields(item), "dlq.reason": "handler_error", "dlq.stream": key}
        await redis_client.xadd(Streams.dead_letters(key), fields, id=f"{T1}-0")  # type: ignore[arg-type]
    args = [*global_args(redis_url, stream_prefix), "--checkout-partitions", "3"]

    every = ops_json(await ops(*args, "dlq", "list", "--json"))
    table = await ops(*args, "dlq", "list")
    one = ops_json(await ops(*args, "dlq", "list", "--json", "--stream", "checkout.requested.2"))
    ambiguous = await ops(*args, "dlq", "show", f"{T1}-0")
    shown = ops_json(
        await ops(*args, "dlq", "show", f"{T1}-0", "--stream", "checkout.requested.2", "--json")
    )
    replayed = await ops(*args, "dlq", "replay", "--stream", "checkout.requested.2", "--yes")

    assert every["stream"] == f"{stream_prefix}:{{checkout.requested*}}"
    assert every["streams"] == list(streams.checkout_streams)
    assert [(x["stream"], x["checkout_id"]) for x in every["dead_letters"]] == [
        (first, items[0].checkout_id),
        (third, items[1].checkout_id),
    ]
    assert "partition" in table.stdout
    assert "checkout.requested.2" in table.stdout
    assert [x["checkout_id"] for x in one["dead_letters"]] == [items[1].checkout_id]
    assert ambiguous.exit_code == 2
    assert "name one with --stream" in " ".join(ambiguous.stderr.split())
    assert shown["entry"]["__data__"]["data"]["checkout_id"] == items[1].checkout_id
    assert "Replayed 1 dead letter into" in replayed.stdout, replayed.output
    assert [await redis_client.xlen(key) for key in streams.checkout_streams] == [0, 0, 1]
    assert await redis_client.xlen(Streams.dead_letters(first)) == 1


async def test_dead_flash_deals_and_cancel_requests_are_listed_shown_and_replayed(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    """The orders group's other streams: a flash deal refused (not the seller's product)
    and a cancel request that kept failing, each replayed into its own stream."""
    streams = Streams(stream_prefix)
    deal = FlashDealRequested(
        deal_id="deal-1", seller_id="demo-seller", room_id="r1", sku="SKU-A", price_minor=900,
        units_cap=10, per_buyer_limit=2, starts_at=utc_now(),
    )  # fmt: skip
    cancel = CancellationRequested(checkout_id="co-to-cancel", buyer_id="ann")
    requests = (
        (streams.flash_deals, FlashDealRequestedEvent.new(
            correlation_id="deal-1", producer="storefront", data=deal)),
        (streams.cancellations, CancellationRequestedEvent.new(
            correlation_id="co-to-cancel", producer="storefront", data=cancel)),
    )  # fmt: skip
    for n, (key, event) in enumerate(requests):
        fields: dict[Any, Any] = encode_entry(event)
        fields |= {"dlq.reason": "not_the_sellers_product" if n == 0 else "handler_error"}
        fields |= {"dlq.stream": key, "dlq.group": GROUP_ORDERS, "dlq.deliveries": "1"}
        await redis_client.xadd(Streams.dead_letters(key), fields, id=f"{T1 + n}-0")
    args = global_args(redis_url, stream_prefix)

    deals = ops_json(await ops(*args, "dlq", "list", "--json", "--stream", "flash_deal.requested"))
    table = await ops(*args, "dlq", "list", "--stream", "flash_deal.requested")
    cancels = ops_json(
        await ops(*args, "dlq", "list", "--json", "--stream", "order.cancellation_requested")
    )
    shown = ops_json(
        await ops(*args, "dlq", "show", f"{T1}-0", "--stream", "flash_deal.requested", "--json")
    )
    replayed = [
        await ops(*args, "dlq", "replay", "--stream", name, "--yes")
        for name in ("flash_deal.requested", "order.cancellation_requested")
    ]
    checkouts = ops_json(await ops(*args, "dlq", "list", "--json"))

    (dead_deal,) = deals["dead_letters"]
    assert deals["stream"] == streams.flash_deals
    assert (dead_deal["checkout_id"], dead_deal["correlation_id"]) == (None, "deal-1")
    assert dead_deal["reason"] == "not_the_sellers_product"
    assert "deal-1" in table.stdout, table.output
    (dead_cancel,) = cancels["dead_letters"]
    assert (dead_cancel["checkout_id"], dead_cancel["reason"]) == ("co-to-cancel", "handler_error")
    assert shown["entry"]["__data__"]["data"]["sku"] == "SKU-A"
    assert all("Replayed 1 dead letter into" in r.stdout for r in replayed), replayed
    for key, event in requests:
        ((_, fields),) = await entries(redis_client, key)
        assert list(fields) == [b"__data__"]
        assert json.loads(fields[b"__data__"])["event_id"] == event.event_id
        assert await redis_client.xlen(Streams.dead_letters(key)) == 0
    assert checkouts["dead_letters"] == [], "checkout.requested, the default, holds none"


async def test_dlq_advises_purging_entries_that_cannot_succeed_and_replaying_handler_failures(
    letters: list[CheckoutRequested], redis_url: str, stream_prefix: str
) -> None:
    args = global_args(redis_url, stream_prefix)

    table = await ops(*args, "dlq", "list")
    document = ops_json(await ops(*args, "dlq", "list", "--json"))
    shown = await ops(*args, "dlq", "show", f"{T2}-0")
    handler_failure = await ops(*args, "dlq", "show", f"{T1}-0")
    replayed = await ops(*args, "dlq", "replay", "--reason", "invalid_json", "--yes")

    assert table.exit_code == 0, table.output
    assert (
        "invalid_json (1): the entry itself can never be processed: a replay would only "
        "dead-letter it again: livecart-ops dlq purge --reason invalid_json"
    ) in table.stdout
    assert (
        "handler_error (2): its handler failed up to the delivery cap: replay once the cause "
        "is fixed: livecart-ops dlq replay --reason handler_error"
    ) in table.stdout
    assert [x["advice"] for x in document["dead_letters"]] == ["replay", "purge", "replay"]
    assert f"livecart-ops dlq purge --id {T2}-0" in shown.stdout
    assert f"livecart-ops dlq replay --id {T1}-0" in handler_failure.stdout
    assert "Replaying will not help: invalid_json (1)" in replayed.stdout
