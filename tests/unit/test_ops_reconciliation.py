"""The reconciliation across the boundary, as a pure function of what was read: published
checkouts, orders, payments, where the group stands on each partition and what was
dead-lettered."""

from datetime import UTC, datetime, timedelta

from services.ops.checks.reconciliation import payment_mismatches, reconcile, why_missing
from services.ops.checks.result import CheckResult, Outcome
from services.ops.checks.sources import GroupPosition, Published
from services.ops.orders_db import OrderSummary

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=5)


def entry_id(ago: timedelta, seq: int = 0) -> str:
    return f"{int((NOW - ago).timestamp() * 1000)}-{seq}"


def order(
    checkout_id: str, status: str = "confirmed", ago: timedelta = timedelta(hours=1)
) -> OrderSummary:
    return OrderSummary(checkout_id, f"o-{checkout_id}", status, NOW - ago, NOW - ago)


def published(*checkouts: tuple[str, timedelta]) -> Published:
    first = {cid: entry_id(ago, n) for n, (cid, ago) in enumerate(checkouts)}
    return Published(entries=len(first), first_entry=first, first_entry_at=NOW - timedelta(days=1))


def run(
    pub: Published,
    orders: list[OrderSummary],
    payments: dict[str, str],
    group: GroupPosition | None = None,
    letters: dict[str, str] | None = None,
) -> CheckResult:
    everything_delivered = GroupPosition(True, entry_id(timedelta(0), 99))
    return reconcile(
        published=pub,
        orders=orders,
        payments=payments,
        groups={"checkout.requested": group or everything_delivered},
        dead_letters=letters or {},
        now=NOW,
        grace=GRACE,
    )


HOUR = timedelta(hours=1)


def test_published_received_final_and_paid_agreeing_pass_with_the_counts() -> None:
    result = run(
        published(("a", HOUR), ("b", HOUR)),
        [order("a"), order("b", "rejected")],
        {"a": "captured", "b": "declined"},
    )

    assert result.outcome is Outcome.PASSED
    assert result.summary == "2 published = 2 received = 2 final; 1 confirmed = 1 captured"


def test_a_missing_checkout_is_explained_dead_lettered_pending_lagging_or_unknown() -> None:
    old = published(("dlq", HOUR), ("gone", HOUR), ("pending", HOUR), ("lag", HOUR))
    group = GroupPosition(True, old.first_entry["pending"], frozenset({old.first_entry["pending"]}))

    result = run(old, [], {}, group, {"dlq": "handler_error"})

    assert result.outcome is Outcome.FAILED
    assert result.problems == [
        "checkout dlq: in the DLQ (handler_error): `livecart-ops dlq replay`",
        "checkout gone: unknown: delivered and acknowledged, but no order and no dead letter",
        "checkout pending: pending in the group (being processed or retried)",
        "checkout lag: not yet delivered to the group (lag)",
    ]


def test_checkouts_and_orders_still_moving_within_the_grace_are_in_flight_not_faults() -> None:
    young = timedelta(seconds=3)
    pub = published(("new", young), ("paying", young))

    result = run(pub, [order("paying", "reserved", ago=young)], {}, GroupPosition(True, "0-0"))

    assert result.outcome is Outcome.PASSED
    assert result.summary.endswith("; 2 in flight")
    assert any("in flight" in line and "checkout new" in line for line in result.evidence)


def test_an_order_left_unfinished_past_the_grace_fails() -> None:
    result = run(published(("stuck", HOUR)), [order("stuck", "reserved")], {})

    assert result.problems == ["checkout stuck: order reserved since 11:00:00"]


def test_an_order_never_published_fails_unless_the_stream_was_trimmed_before_it() -> None:
    pub = published(("a", HOUR))
    pub.first_entry_at = NOW - HOUR

    result = run(
        pub,
        [
            order("a"),
            order("ghost", ago=timedelta(minutes=30)),
            order("trimmed", ago=timedelta(days=2)),
        ],
        {"a": "captured", "ghost": "captured", "trimmed": "captured"},
    )

    assert result.problems == [
        "order o-ghost for checkout ghost that checkout.requested never carried"
    ]


def test_confirmed_orders_and_captured_payments_must_pair_up_refunds_counting_as_not_captured() -> (
    None
):
    orders = [order("a"), order("b"), order("c", "expired"), order("d", "rejected")]
    payments = {"a": "captured", "b": "refunded", "c": "captured", "e": "captured"}

    assert payment_mismatches(orders, payments) == [
        "checkout b: order confirmed, payment refunded",
        "checkout c: payment captured, order expired",
        "checkout e: payment captured, order missing",
    ]
    assert payment_mismatches([order("x")], {}) == ["checkout x: order confirmed, payment missing"]


def test_after_the_sale_each_status_calls_for_its_own_payment_outcome() -> None:
    orders = [
        order("shipped", "shipped"),
        order("cancelling", "cancelled"),  # the refund not yet through
        order("cancelled", "cancelled"),
        order("refunded", "refunded"),
        order("shipped-unpaid", "shipped"),
        order("refunded-still-captured", "refunded"),
        order("cancelled-declined", "cancelled"),
        order("rejected", "rejected"),
    ]
    payments = {
        "shipped": "captured",
        "cancelling": "captured",
        "cancelled": "refunded",
        "refunded": "refunded",
        "shipped-unpaid": "refunded",
        "refunded-still-captured": "captured",
        "cancelled-declined": "declined",
        "rejected": "refunded",
        "nobody": "refunded",
    }

    assert payment_mismatches(orders, payments) == [
        "checkout shipped-unpaid: order shipped, payment refunded",
        "checkout refunded-still-captured: order refunded, payment captured",
        "checkout cancelled-declined: order cancelled, payment declined",
        "checkout rejected: payment refunded, order rejected",
        "checkout nobody: payment refunded, order missing",
    ]


def test_orders_cancelled_refunded_or_shipped_count_as_final_and_reconcile() -> None:
    result = run(
        published(("a", HOUR), ("b", HOUR), ("c", HOUR), ("d", HOUR), ("e", HOUR)),
        [
            order("a"),
            order("b", "shipped"),
            order("c", "cancelled"),
            order("d", "refunded"),
            order("e", "cancelled"),
        ],
        {"a": "captured", "b": "captured", "c": "captured", "d": "refunded", "e": "refunded"},
    )

    assert result.outcome is Outcome.PASSED, result.problems
    assert result.summary == (
        "5 published = 5 received = 5 final; 1 confirmed + 1 shipped + 1 cancelled awaiting "
        "the refund = 3 captured; 2 refunded"
    )
    assert "after the sale: 2 cancelled, 1 refunded, 1 shipped" in result.evidence[1]


def test_an_after_sale_order_is_not_taken_for_one_in_flight() -> None:
    result = run(published(("a", HOUR)), [order("a", "shipped", ago=timedelta(days=3))], {})

    assert result.problems == ["checkout a: order shipped, payment missing"]


def test_without_a_consumer_group_nothing_can_have_been_received() -> None:
    why, moving = why_missing("a", "1-0", group=GroupPosition(False), dead_letters={})

    assert (why, moving) == ("no consumer group `orders` reads checkout.requested", False)


def test_with_partitions_a_missing_checkout_is_explained_by_its_own_partitions_group() -> None:
    # Entry ids of different streams may be equal: each is judged against its own group.
    same_id = entry_id(HOUR)
    pub = Published(
        entries=3,
        first_entry={"lagging": same_id, "pending": same_id, "orphan": entry_id(HOUR, 1)},
        first_entry_at=NOW - timedelta(days=1),
        stream_of={
            "lagging": "checkout.requested.0",
            "pending": "checkout.requested.1",
            "orphan": "checkout.requested.2",
        },
        streams=["checkout.requested.0", "checkout.requested.1", "checkout.requested.2"],
    )
    groups = {
        "checkout.requested.0": GroupPosition(True, "0-0"),
        "checkout.requested.1": GroupPosition(True, same_id, frozenset({same_id})),
        "checkout.requested.2": GroupPosition(False),
    }

    result = reconcile(
        published=pub,
        orders=[],
        payments={},
        groups=groups,
        dead_letters={},
        now=NOW,
        grace=GRACE,
    )

    assert result.problems == [
        "checkout lagging: not yet delivered to the group (lag)",
        "checkout pending: pending in the group (being processed or retried)",
        "checkout orphan: no consumer group `orders` reads checkout.requested.2",
    ]
    assert result.evidence[0].startswith("checkout.requested (3 partitions): 3 entries")
    assert "group `orders` on checkout.requested.1: last delivered" in result.evidence[3]
    assert result.evidence[4] == "group `orders` on checkout.requested.2: none"
