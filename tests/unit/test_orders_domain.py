"""The order state machine and reservation rules, without any I/O."""

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orders.deals import DealUsage, admit
from services.orders.domain import (
    CancelWindowClosed,
    IllegalTransition,
    InvalidCheckout,
    InvalidTrackingRef,
    Line,
    NotYours,
    Order,
    Product,
    Reason,
    Status,
    price_lines,
    units_by_sku,
)

PRODUCTS = {
    "A": Product("A", 1000, "EUR"),
    "B": Product("B", 250, "EUR"),
    "U": Product("U", 99, "USD"),
    "S": Product("S", 500, "EUR", seller_id="other-seller"),
}


def new_order(lines: list[Line] | None = None) -> Order:
    return Order.receive(
        order_id="o1",
        checkout_id="c1",
        buyer_id="b1",
        room_id="r1",
        currency="EUR",
        lines=lines or [Line("A", 2, 1000)],
    )


def test_a_new_order_is_received_with_sequence_one() -> None:
    order = new_order()
    assert order.status is Status.RECEIVED
    assert [(c.status, c.previous, c.sequence) for c in order.pull_changes()] == [
        (Status.RECEIVED, None, 1)
    ]


def test_the_happy_path_emits_one_change_per_transition() -> None:
    order = new_order()
    order.reserve()
    order.mark_paid()
    order.confirm()
    changes = order.pull_changes()
    assert [c.status for c in changes] == [
        Status.RECEIVED,
        Status.RESERVED,
        Status.PAID,
        Status.CONFIRMED,
    ]
    assert [c.sequence for c in changes] == [1, 2, 3, 4]
    assert [c.previous for c in changes[1:]] == [Status.RECEIVED, Status.RESERVED, Status.PAID]
    assert order.is_final
    assert order.pull_changes() == []


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "confirm"),
        ([], "mark_paid"),
        (["reserve", "mark_paid"], "expire"),
        (["reserve", "mark_paid", "confirm"], "reserve"),
        (["reserve", "expire"], "mark_paid"),
    ],
)
def test_transitions_outside_the_state_machine_are_refused(path: list[str], illegal: str) -> None:
    order = new_order()
    for step in path:
        getattr(order, step)()
    with pytest.raises(IllegalTransition):
        getattr(order, illegal)()


def test_a_final_order_cannot_be_rejected_again() -> None:
    order = new_order()
    order.reject(Reason.OUT_OF_STOCK)
    with pytest.raises(IllegalTransition):
        order.reject(Reason.INVALID)


def test_a_rejection_carries_its_reason_and_detail() -> None:
    order = new_order()
    order.reserve()
    order.reject(Reason.PAYMENT_FAILED, "declined")
    last = order.pull_changes()[-1]
    assert (last.status, last.reason, last.detail) == (
        Status.REJECTED,
        Reason.PAYMENT_FAILED,
        "declined",
    )


def test_only_reserved_paid_confirmed_and_shipped_orders_hold_stock() -> None:
    order = new_order()
    assert not order.holds_stock
    order.reserve()
    assert order.holds_stock
    order.expire()
    assert not order.holds_stock
    shipped = confirmed_order()
    shipped.ship("TRACK-1")
    assert shipped.holds_stock
    cancelled = confirmed_order()
    cancelled.cancel()
    assert not cancelled.holds_stock


def test_lines_are_priced_at_the_marketplace_price() -> None:
    lines, currency = price_lines([("A", 2), ("B", 4)], PRODUCTS, max_quantity=10)
    assert currency == "EUR"
    assert sum(line.amount_minor for line in lines) == 3000


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([("Z", 1)], "unknown sku"),
        ([("A", 0)], "not in 1..10"),
        ([("A", 11)], "not in 1..10"),
        ([("A", 1), ("A", 1)], "twice"),
        ([("A", 1), ("U", 1)], "currency"),
        ([("A", 1), ("S", 1)], "more than one seller"),
        ([], "no items"),
    ],
)
def test_an_invalid_checkout_is_refused_with_why(
    items: list[tuple[str, int]], message: str
) -> None:
    with pytest.raises(InvalidCheckout, match=message):
        price_lines(items, PRODUCTS, max_quantity=10)


K = Hashable


def allocate(
    requests: Sequence[tuple[K, Sequence[Line]]], available: Mapping[str, int]
) -> tuple[set[K], Counter[str]]:
    """Plain stock allocation: `admit` without any flash deal."""
    admission = admit(
        [(key, "buyer", lines) for key, lines in requests],
        available=available,
        deals={},
        usage=DealUsage(),
    )
    return admission.granted, admission.taken


def test_allocation_grants_in_arrival_order_and_never_more_than_available() -> None:
    requests = [(n, [Line("HOT", 1, 100)]) for n in range(1000)]
    granted, taken = allocate(requests, {"HOT": 5})
    assert granted == {0, 1, 2, 3, 4}
    assert taken == {"HOT": 5}


def test_allocation_is_all_lines_or_none_and_a_later_smaller_request_may_fit() -> None:
    requests = [
        ("both", [Line("A", 2, 1), Line("B", 1, 1)]),
        ("too-many-b", [Line("A", 1, 1), Line("B", 5, 1)]),  # B does not fit: takes no A
        ("one-a", [Line("A", 1, 1)]),
        ("unknown", [Line("C", 1, 1)]),
    ]
    granted, taken = allocate(requests, {"A": 3, "B": 2})
    assert granted == {"both", "one-a"}
    assert taken == {"A": 3, "B": 1}


@given(
    st.dictionaries(st.sampled_from("ABC"), st.integers(0, 20), min_size=1),
    st.lists(
        st.dictionaries(st.sampled_from("ABC"), st.integers(1, 5), min_size=1, max_size=3),
        max_size=60,
    ),
)
def test_allocation_never_oversells(
    available: dict[str, int], wanted: list[dict[str, int]]
) -> None:
    requests = [(n, [Line(s, q, 1) for s, q in w.items()]) for n, w in enumerate(wanted)]
    granted, taken = allocate(requests, available)
    for sku, units in taken.items():
        assert units <= available.get(sku, 0)
    assert taken == units_by_sku(line for n, lines in requests if n in granted for line in lines)


def confirmed_order(confirmed_at: datetime | None = None) -> Order:
    order = new_order()
    order.reserve()
    order.mark_paid()
    order.confirm()
    order.changed_at = confirmed_at
    order.pull_changes()
    return order


def test_a_confirmed_order_can_be_cancelled_then_refunded() -> None:
    order = confirmed_order()
    order.cancel()
    order.refund()
    changes = order.pull_changes()
    assert [(c.previous, c.status) for c in changes] == [
        (Status.CONFIRMED, Status.CANCELLED),
        (Status.CANCELLED, Status.REFUNDED),
    ]
    assert [c.sequence for c in changes] == [5, 6]


def test_a_confirmed_order_can_be_shipped_with_its_tracking_ref() -> None:
    order = confirmed_order()
    order.ship("  DHL 0034 5678  ")
    assert (order.status, order.tracking_ref) == (Status.SHIPPED, "DHL 0034 5678")
    assert [c.status for c in order.pull_changes()] == [Status.SHIPPED]


@pytest.mark.parametrize("ref", ["", "   ", "x" * 101, "line\nbreak", "tab\there"])
def test_a_tracking_ref_is_one_to_a_hundred_printable_characters(ref: str) -> None:
    order = confirmed_order()
    with pytest.raises(InvalidTrackingRef):
        order.ship(ref)
    assert order.status is Status.CONFIRMED


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        (["reserve"], "cancel"),
        (["reserve", "mark_paid"], "cancel"),
        (["reserve", "mark_paid", "confirm"], "refund"),
        (["reserve", "mark_paid", "confirm", "cancel"], "cancel"),
        (["reserve", "mark_paid", "confirm", "cancel", "refund"], "cancel"),
    ],
)
def test_only_a_confirmed_order_is_cancelled_and_only_a_cancelled_one_refunded(
    path: list[str], illegal: str
) -> None:
    order = new_order()
    for step in path:
        getattr(order, step)()
    with pytest.raises(IllegalTransition):
        getattr(order, illegal)()


def test_a_shipped_or_cancelled_order_cannot_be_shipped() -> None:
    shipped = confirmed_order()
    shipped.ship("T-1")
    cancelled = confirmed_order()
    cancelled.cancel()
    for order in (shipped, cancelled):
        with pytest.raises(IllegalTransition):
            order.ship("T-2")


NOW = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


def test_a_buyer_may_cancel_their_order_within_the_window() -> None:
    order = confirmed_order(confirmed_at=NOW - timedelta(minutes=9))
    order.cancel_for_buyer("b1", now=NOW, window=WINDOW)
    assert order.status is Status.CANCELLED


def test_a_buyer_may_not_cancel_once_the_window_has_passed() -> None:
    order = confirmed_order(confirmed_at=NOW - WINDOW)
    with pytest.raises(CancelWindowClosed):
        order.cancel_for_buyer("b1", now=NOW, window=WINDOW)
    assert order.status is Status.CONFIRMED


def test_a_buyer_may_not_cancel_someone_elses_order() -> None:
    order = confirmed_order(confirmed_at=NOW)
    with pytest.raises(NotYours):
        order.cancel_for_buyer("b2", now=NOW, window=WINDOW)


def test_a_buyer_may_not_cancel_an_order_that_is_not_confirmed() -> None:
    order = confirmed_order(confirmed_at=NOW)
    order.ship("T-1")
    with pytest.raises(IllegalTransition):
        order.cancel_for_buyer("b1", now=NOW, window=WINDOW)


def test_a_zero_window_lets_no_buyer_cancel() -> None:
    order = confirmed_order(confirmed_at=NOW)
    with pytest.raises(CancelWindowClosed):
        order.cancel_for_buyer("b1", now=NOW, window=timedelta(0))
