"""Flash-deal rules without any I/O: pricing, the seller's check, cap and per-buyer limit."""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.orders.deals import (
    SOLD_OUT,
    Admission,
    Deal,
    DealUsage,
    admit,
    check_deal,
    deal_for,
    deal_to_show,
    price_with_deals,
)
from services.orders.domain import DealRefused, Line, Product, Reason

START = datetime(2026, 12, 4, 20, 0, tzinfo=UTC)


def deal(**overrides: object) -> Deal:
    values: dict[str, object] = {
        "deal_id": "deal-1",
        "seller_id": "seller-1",
        "room_id": "room-1",
        "sku": "HOT",
        "price_minor": 500,
        "units_cap": 10,
        "per_buyer_limit": 2,
        "starts_at": START,
        "ends_at": START + timedelta(minutes=5),
    }
    values.update(overrides)
    return Deal(**values)  # type: ignore[arg-type]


def deal_line(quantity: int = 1, deal_id: str = "deal-1") -> list[Line]:
    return [Line("HOT", quantity, 500, deal_id)]


def decide(
    requests: Sequence[tuple[str, str, Sequence[Line]]],
    *,
    available: int = 100,
    usage: DealUsage | None = None,
    deals: Sequence[Deal] = (),
) -> Admission[str]:
    return admit(
        requests,
        available={"HOT": available, "COLD": 100},
        deals={d.deal_id: d for d in (deals or [deal()])},
        usage=usage or DealUsage(),
    )


def test_a_line_in_the_deals_room_and_time_is_priced_at_the_deal_with_its_id() -> None:
    lines = [Line("HOT", 2, 1000), Line("COLD", 1, 300)]
    priced = price_with_deals(lines, [deal()], room_id="room-1", at=START + timedelta(seconds=1))
    assert priced == [Line("HOT", 2, 500, "deal-1"), Line("COLD", 1, 300)]


@pytest.mark.parametrize(
    ("room_id", "at"),
    [
        ("room-2", START),  # another room
        ("room-1", START - timedelta(microseconds=1)),  # before it starts
        ("room-1", START + timedelta(minutes=5)),  # at its end: [starts_at, ends_at)
        ("room-1", None),  # a checkout of unknown time
    ],
)
def test_a_line_outside_the_deals_room_or_time_keeps_the_list_price(
    room_id: str, at: datetime | None
) -> None:
    lines = [Line("HOT", 1, 1000)]
    assert price_with_deals(lines, [deal()], room_id=room_id, at=at) == lines


def test_a_deal_without_an_end_runs_on() -> None:
    open_ended = deal(ends_at=None)
    assert deal_for([open_ended], sku="HOT", room_id="room-1", at=START + timedelta(days=9))


def test_of_overlapping_deals_the_one_started_last_prices_the_line() -> None:
    older = deal(deal_id="old", starts_at=START - timedelta(minutes=1))
    newer = deal(deal_id="new", price_minor=400)
    chosen = deal_for([older, newer], sku="HOT", room_id="room-1", at=START)
    assert chosen is not None
    assert chosen.deal_id == "new"


def test_a_checkout_within_the_limit_and_cap_is_granted() -> None:
    result = decide([("c1", "b1", deal_line(2))])
    assert result.granted == {"c1"}
    assert result.taken == {"HOT": 2}


def test_a_single_checkout_asking_more_than_the_limit_is_rejected_limit_exceeded() -> None:
    result = decide([("c1", "b1", deal_line(3))])
    assert result.refused["c1"][0] is Reason.LIMIT_EXCEEDED
    assert not result.taken


def test_a_buyers_earlier_units_in_the_deal_count_toward_the_limit() -> None:
    usage = DealUsage(bought=Counter({("deal-1", "b1"): 2}), taken=Counter({"deal-1": 2}))
    result = decide([("c1", "b1", deal_line(1)), ("c2", "b2", deal_line(1))], usage=usage)
    assert result.refused["c1"][0] is Reason.LIMIT_EXCEEDED
    assert result.granted == {"c2"}


def test_earlier_checkouts_of_the_same_batch_count_toward_the_limit() -> None:
    result = decide([("c1", "b1", deal_line(2)), ("c2", "b1", deal_line(1))])
    assert result.granted == {"c1"}
    assert result.refused["c2"][0] is Reason.LIMIT_EXCEEDED


def test_units_above_the_cap_are_rejected_sold_out_while_stock_remains() -> None:
    requests = [(f"c{n}", f"b{n}", deal_line(2)) for n in range(7)]
    result = decide(requests, available=100)
    assert result.granted == {f"c{n}" for n in range(5)}
    assert {result.refused[f"c{n}"] for n in (5, 6)} == {(Reason.OUT_OF_STOCK, SOLD_OUT)}
    assert result.taken == {"HOT": 10}


def test_units_taken_before_the_batch_count_toward_the_cap() -> None:
    result = decide([("c1", "b1", deal_line(2))], usage=DealUsage(taken=Counter({"deal-1": 9})))
    assert result.refused["c1"] == (Reason.OUT_OF_STOCK, SOLD_OUT)


def test_the_limit_is_checked_before_the_cap() -> None:
    result = decide([("c1", "b1", deal_line(3))], usage=DealUsage(taken=Counter({"deal-1": 10})))
    assert result.refused["c1"][0] is Reason.LIMIT_EXCEEDED


def test_a_checkout_refused_for_stock_takes_nothing_of_the_deal() -> None:
    requests = [("c1", "b1", deal_line(2)), ("c2", "b1", deal_line(2))]
    result = decide(requests, available=1, deals=[deal(per_buyer_limit=2)])
    assert result.refused["c1"] == (Reason.OUT_OF_STOCK, None)  # plain out of stock
    assert result.refused["c2"] == (Reason.OUT_OF_STOCK, None)  # not over the limit: c1 took 0


def test_a_line_without_a_deal_is_not_limited_by_it() -> None:
    result = decide([("c1", "b1", [Line("HOT", 50, 1000)])])
    assert result.granted == {"c1"}


@given(
    cap=st.integers(1, 30),
    limit=st.integers(1, 5),
    wanted=st.lists(st.tuples(st.sampled_from("abcde"), st.integers(1, 6)), max_size=40),
)
def test_granted_deal_units_never_exceed_the_cap_or_any_buyers_limit(
    cap: int, limit: int, wanted: list[tuple[str, int]]
) -> None:
    requests = [(f"c{n}", buyer, deal_line(q)) for n, (buyer, q) in enumerate(wanted)]
    result = decide(requests, deals=[deal(units_cap=cap, per_buyer_limit=limit)])
    granted = [(b, q) for n, (b, q) in enumerate(wanted) if f"c{n}" in result.granted]
    assert sum(q for _, q in granted) <= cap
    for buyer in "abcde":
        assert sum(q for b, q in granted if b == buyer) <= limit


def test_a_deal_on_the_sellers_own_product_at_most_its_list_price_stands() -> None:
    check_deal(deal(price_minor=1000), Product("HOT", 1000, "EUR", "seller-1"))


@pytest.mark.parametrize(
    ("product", "reason"),
    [
        (None, "unknown_sku"),
        (Product("HOT", 1000, "EUR", "seller-2"), "not_sellers_product"),
        (Product("HOT", 1000, "EUR", None), "not_sellers_product"),
        (Product("HOT", 400, "EUR", "seller-1"), "price_above_list"),
    ],
)
def test_a_deal_is_refused_with_the_reason(product: Product | None, reason: str) -> None:
    with pytest.raises(DealRefused) as refused:
        check_deal(deal(), product)
    assert refused.value.reason == reason


def test_a_snapshot_shows_the_running_deal_started_last() -> None:
    older = deal(deal_id="old", starts_at=START - timedelta(minutes=2))
    shown = deal_to_show([older, deal()], sku="HOT", now=START + timedelta(seconds=1))
    assert shown is not None
    assert shown.deal_id == "deal-1"


def test_a_snapshot_shows_a_deal_counting_down_and_no_ended_one() -> None:
    soon = deal(deal_id="soon", starts_at=START + timedelta(minutes=10), ends_at=None)
    ended = deal(deal_id="ended", ends_at=START)
    shown = deal_to_show([soon, ended], sku="HOT", now=START)
    assert shown is not None
    assert shown.deal_id == "soon"
    assert deal_to_show([ended], sku="HOT", now=START) is None
