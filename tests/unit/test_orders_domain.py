"""The order state machine and reservation rules, without any I/O."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orders.domain import (
    IllegalTransition,
    InvalidCheckout,
    Line,
    Order,
    Product,
    Reason,
    Status,
    allocate,
    price_lines,
    units_by_sku,
)

PRODUCTS = {
    "A": Product("A", 1000, "EUR"),
    "B": Product("B", 250, "EUR"),
    "U": Product("U", 99, "USD"),
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


def test_only_reserved_paid_and_confirmed_orders_hold_stock() -> None:
    order = new_order()
    assert not order.holds_stock
    order.reserve()
    assert order.holds_stock
    order.expire()
    assert not order.holds_stock


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
        ([], "no items"),
    ],
)
def test_an_invalid_checkout_is_refused_with_why(
    items: list[tuple[str, int]], message: str
) -> None:
    with pytest.raises(InvalidCheckout, match=message):
        price_lines(items, PRODUCTS, max_quantity=10)


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
