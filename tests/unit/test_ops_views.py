"""The pure parts of livecart-ops: durations, entry times, dead-letter selection, the trace
timeline, and the audit report as Markdown and HTML."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from contracts import EntryId, Streams
from services.common.streams.dead_letters import DeadLetter
from services.ops.audit import AuditReport
from services.ops.audit_report import to_html, to_markdown
from services.ops.checks.result import CheckResult, Outcome
from services.ops.config import OpsError
from services.ops.dlq import Selection, StreamLetter, letter_document, stream_keys
from services.ops.entries import checkout_id_of, parse_time
from services.ops.keys import partition_of
from services.ops.stream_stats import stream_keys as reported_streams
from services.ops.streams_view import duration
from services.ops.trace import Hop, timeline

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (None, "-"),
        (850, "850ms"),
        (12_300, "12.3s"),
        (245_000, "4m05s"),
        (7_800_000, "2h10m"),
        (273_600_000, "3d04h"),
    ],
)
def test_durations_read_at_a_glance(ms: int | None, shown: str) -> None:
    assert duration(ms) == shown


def test_an_entry_id_tells_when_redis_added_the_entry() -> None:
    assert EntryId.parse(b"1795000000123-7").added_at == datetime.fromtimestamp(1795000000.123, UTC)
    assert parse_time("2026-11-28T12:00:00Z") == parse_time("2026-11-28T12:00:00") == T0


def letter(at: datetime, reason: str) -> DeadLetter:
    dlq_id = f"{int(at.timestamp() * 1000)}-0"
    return DeadLetter(dlq_id, "s", "1-0", reason, "", "g", "c", 1, "", {})


def test_a_selection_matches_only_letters_meeting_every_filter_given() -> None:
    early, late = letter(T0, "handler_error"), letter(T0 + timedelta(hours=1), "invalid_json")

    assert Selection().matches(early)
    assert Selection().matches(late)
    assert [Selection(reason="invalid_json").matches(x) for x in (early, late)] == [False, True]
    assert [Selection(since=T0 + timedelta(minutes=1)).matches(x) for x in (early, late)] == [
        False,
        True,
    ]
    assert Selection(until=T0).matches(early)
    assert not Selection(ids=frozenset({late.dlq_id})).matches(early)


def test_streams_are_named_short_or_by_key_and_unknown_ones_refused() -> None:
    streams = Streams("lc")
    assert stream_keys(streams, "checkout.requested") == ["lc:{checkout.requested}"]
    assert stream_keys(streams, "checkout.requested.dlq") == ["lc:{checkout.requested}"]
    assert stream_keys(streams, "order.status") == ["lc:{order.status}"]
    assert stream_keys(streams, "lc:{order.status}") == ["lc:{order.status}"]
    assert stream_keys(streams, "lc:{order.status}.dlq") == ["lc:{order.status}"]
    assert stream_keys(streams, "lc:order.status") == ["lc:order.status"]  # an older key
    with pytest.raises(OpsError, match="unknown stream"):
        stream_keys(streams, "payments")
    with pytest.raises(OpsError, match="unknown stream"):
        stream_keys(streams, "checkout.requested.0")  # one partition: no numbered one


def test_checkout_requested_names_every_partition_and_a_number_one_of_them() -> None:
    streams = Streams("lc", 3)
    every = ["lc:{checkout.requested.0}", "lc:{checkout.requested.1}", "lc:{checkout.requested.2}"]

    assert stream_keys(streams, "checkout.requested") == every
    assert stream_keys(streams, "checkout.requested.dlq") == every
    assert stream_keys(streams, "checkout.requested.2.dlq") == [every[2]]
    with pytest.raises(OpsError, match=r"checkout\.requested\.<0\.\.2>"):
        stream_keys(streams, "checkout.requested.3")


def test_keys_are_shown_without_the_prefix_and_the_hash_tags_braces() -> None:
    streams = Streams("lc", 2)

    assert streams.short_name("lc:{checkout.requested.1}") == "checkout.requested.1"
    assert streams.short_name("lc:{checkout.requested.1}.dlq") == "checkout.requested.1.dlq"
    assert streams.short_name("lc:{order.status.buyer:b-1}") == "order.status.buyer:b-1"
    assert streams.short_name("lc:order.status") == "order.status"
    assert [partition_of(streams, key) for key in streams.checkout_streams] == [0, 1]
    assert partition_of(streams, "lc:{checkout.requested}") == -1
    assert partition_of(streams, "lc:{checkout.requested.1}.dlq") is None
    assert partition_of(streams, "other:{checkout.requested.1}") is None
    assert partition_of(streams, "lc:{checkout.requested.x}") is None


def test_the_streams_report_puts_each_partition_beside_its_dlq_and_found_ones_after() -> None:
    streams = Streams("lc", 2)

    rows = reported_streams(streams, ["lc:{checkout.requested}"])

    assert [(name, configured) for name, _, is_dlq, configured in rows if not is_dlq] == [
        ("checkout.requested.0", True),
        ("checkout.requested.1", True),
        ("checkout.requested", False),
        ("order.status", True),
        ("catalog.changed", True),
        ("room.sales", True),
        ("flash_deal.requested", True),
        ("order.cancellation_requested", True),
        ("room.changed", True),
    ]
    assert rows[1] == ("checkout.requested.0.dlq", "lc:{checkout.requested.0}.dlq", True, True)


def test_only_the_streams_a_group_reads_are_shown_beside_their_dead_letters() -> None:
    streams = Streams("lc")

    rows = reported_streams(streams, stray_dlqs={"lc:{order.status}.dlq"})

    assert [name for name, _, is_dlq, _ in rows if is_dlq] == [
        "checkout.requested.dlq",
        "order.status.dlq",  # none should exist, but Redis holds one: shown
        "flash_deal.requested.dlq",
        "order.cancellation_requested.dlq",
    ]
    names = [name for name, *_ in rows]
    assert names.index("flash_deal.requested.dlq") == names.index("flash_deal.requested") + 1


def test_the_sellers_streams_are_named_by_their_short_names_for_dead_letters() -> None:
    streams = Streams("lc", 2)

    assert stream_keys(streams, "flash_deal.requested") == ["lc:{flash_deal.requested}"]
    assert stream_keys(streams, "order.cancellation_requested.dlq") == [
        "lc:{order.cancellation_requested}"
    ]
    assert stream_keys(streams, "room.changed") == ["lc:{room.changed}"]
    with pytest.raises(OpsError, match=r"flash_deal\.requested, order\.cancellation_requested"):
        stream_keys(streams, "flash_deals")


def test_a_dead_flash_deal_names_its_deal_and_no_checkout() -> None:
    deal = {"type": "flash_deal.requested", "correlation_id": "deal-1", "data": {"sku": "A"}}
    cancel = {
        "type": "order.cancellation_requested",
        "correlation_id": "co-1",
        "data": {"checkout_id": "co-1", "buyer_id": "b"},
    }
    letter = DeadLetter("2-0", "s", "1-0", "handler_error", "", "orders", "c", 5, "", {})

    def document(envelope: dict[str, object]) -> dict[str, object]:
        fields = {b"__data__": json.dumps(envelope).encode()}
        found = StreamLetter("lc:{x}", replace(letter, fields=fields))
        return letter_document(found)

    assert (document(deal)["checkout_id"], document(deal)["correlation_id"]) == (None, "deal-1")
    assert (document(cancel)["checkout_id"], document(cancel)["correlation_id"]) == ("co-1",) * 2
    assert checkout_id_of({"correlation_id": "co-2", "data": {}}) == "co-2"
    assert checkout_id_of({"type": "room.changed", "correlation_id": "r1"}) is None


def test_a_timeline_is_in_time_order_with_the_time_since_the_hop_before() -> None:
    hops = [
        Hop(T0 + timedelta(milliseconds=40), "status", "received", "order.status"),
        Hop(T0, "tap", "buyer tapped buy", "checkout.requested"),
        Hop(T0 + timedelta(milliseconds=5), "accepted", "checkout accepted", "checkout.requested"),
    ]

    ordered = timeline(hops)

    assert [(h.step, h.since_previous_ms) for h in ordered] == [
        ("tap", None),
        ("accepted", 5),
        ("status", 35),
    ]


def report(*checks: CheckResult) -> AuditReport:
    return AuditReport(
        T0, 1.25, "redis://ops:***@h:1/0", "lc", "sqlite:///o.db", "sqlite:///s.db", list(checks)
    )


PASSED = CheckResult(
    "storefront-schema", "Schema | clean", Outcome.PASSED, "3 tables", ["`rooms`: a"]
)
FAILED = CheckResult(
    "redis-acl", "ACL", Outcome.FAILED, "1 problem", ["probe <x>"], ["default user & co"]
)
SKIPPED = CheckResult("payment-data", "Payment", Outcome.SKIPPED, "skipped on request (--skip)")


def test_the_markdown_report_has_a_verdict_a_summary_table_and_each_checks_evidence() -> None:
    text = to_markdown(report(PASSED, FAILED, SKIPPED))

    assert text.startswith("# livecart separation audit: FAILED\n")
    assert "| 1 | Schema \\| clean (`storefront-schema`) | ✅ passed | 3 tables |" in text
    assert "| 2 | ACL (`redis-acl`) | ❌ failed | 1 problem |" in text
    assert "## 2. ACL: failed\n\n1 problem\n\n**Problems**\n\n- default user & co" in text
    assert "- probe <x>" in text
    assert "redis://ops:***@h:1/0" in text
    assert to_markdown(report(PASSED, SKIPPED)).startswith("# livecart separation audit: PASSED")


def test_the_html_report_escapes_what_it_shows_and_links_each_check() -> None:
    html = to_html(report(PASSED, FAILED))

    assert html.startswith("<!doctype html>")
    assert '<span class="failed">FAILED</span>' in html
    assert "<li>probe &lt;x&gt;</li>" in html
    assert "<li>default user &amp; co</li>" in html
    assert '<a href="#redis-acl">ACL</a>' in html
