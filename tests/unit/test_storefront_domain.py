"""The storefront's checkout rules and checkout-id derivation, without any I/O."""

import uuid

import pytest

from contracts.events import MAX_ITEMS_PER_CHECKOUT
from services.storefront.domain import (
    CheckoutRequest,
    LiveState,
    PinnedProduct,
    RequestedItem,
    Room,
    Violation,
    checkout_violations,
    derive_checkout_id,
    format_price,
)

HOODIE = PinnedProduct("HOODIE", "Hoodie", 4990, "EUR", max_per_checkout=5)
MUG = PinnedProduct("MUG", "Mug", 1490, "EUR", max_per_checkout=2, position=1)
ROOM = Room(
    "demo", "Friday Night Drop", "seller-1", "Mia", products=(HOODIE, MUG), state=LiveState.LIVE
)


def request(*items: tuple[str, int], key: str | None = None) -> CheckoutRequest:
    return CheckoutRequest(
        room_id="demo",
        buyer_id="buyer-1",
        items=tuple(RequestedItem(sku, quantity) for sku, quantity in items),
        idempotency_key=key,
    )


def test_a_checkout_of_pinned_products_within_their_caps_breaks_no_rule() -> None:
    assert checkout_violations(ROOM, request(("HOODIE", 5), ("MUG", 1))) == []


def test_an_unknown_room_is_named_as_the_room_id_field() -> None:
    assert checkout_violations(None, request(("HOODIE", 1))) == [
        Violation(("room_id",), "room_not_found", "no live room with this id")
    ]


def test_a_product_not_pinned_in_the_room_is_named_by_its_item_index() -> None:
    violations = checkout_violations(ROOM, request(("HOODIE", 1), ("LAPTOP", 1)))
    assert [(v.loc, v.type) for v in violations] == [(("items", 1, "sku"), "sku_not_pinned")]


@pytest.mark.parametrize("quantity", [0, -1, 3, 100])
def test_a_quantity_outside_one_to_the_products_cap_is_refused(quantity: int) -> None:
    violations = checkout_violations(ROOM, request(("MUG", quantity)))
    assert [(v.loc, v.type) for v in violations] == [
        (("items", 0, "quantity"), "quantity_out_of_range")
    ]
    assert "between 1 and 2" in violations[0].msg


def test_the_same_sku_twice_is_refused_at_its_second_occurrence() -> None:
    violations = checkout_violations(ROOM, request(("MUG", 1), ("HOODIE", 1), ("MUG", 1)))
    assert [(v.loc, v.type) for v in violations] == [(("items", 2, "sku"), "duplicate_sku")]


def test_every_broken_item_is_reported_not_only_the_first() -> None:
    violations = checkout_violations(ROOM, request(("NOPE", 1), ("MUG", 9)))
    assert [v.loc for v in violations] == [("items", 0, "sku"), ("items", 1, "quantity")]


def test_an_empty_checkout_and_one_with_too_many_items_are_refused() -> None:
    assert checkout_violations(ROOM, request())[0].type == "too_short"
    crowded = request(*[(f"SKU-{i}", 1) for i in range(MAX_ITEMS_PER_CHECKOUT + 1)])
    assert [(v.loc, v.type) for v in checkout_violations(ROOM, crowded)] == [
        (("items",), "too_long")
    ]


def test_the_same_buyer_and_idempotency_key_always_give_the_same_checkout_id() -> None:
    first = derive_checkout_id(buyer_id="buyer-1", idempotency_key="tap-1")
    again = derive_checkout_id(buyer_id="buyer-1", idempotency_key="tap-1")
    assert first == again
    assert uuid.UUID(first).version == 5


def test_another_buyer_or_another_key_gives_another_checkout_id() -> None:
    ids = {
        derive_checkout_id(buyer_id="buyer-1", idempotency_key="tap-1"),
        derive_checkout_id(buyer_id="buyer-2", idempotency_key="tap-1"),
        derive_checkout_id(buyer_id="buyer-1", idempotency_key="tap-2"),
        # The separator keeps "a" + "b\nc" apart from "a\nb" + "c".
        derive_checkout_id(buyer_id="buyer-1\ntap", idempotency_key="1"),
    }
    assert len(ids) == 4


def test_the_derived_checkout_id_is_stable_across_releases() -> None:
    # Pinned: a retry sent across a deploy must still map to the checkout already accepted.
    assert derive_checkout_id(buyer_id="buyer-1", idempotency_key="tap-1") == str(
        uuid.uuid5(uuid.UUID("5f0d3c8e-2b6a-5d1e-9c43-7a1e0c6b9f21"), "buyer-1\ntap-1")
    )


def test_without_an_idempotency_key_every_checkout_gets_a_fresh_id() -> None:
    fresh = iter(["id-1", "id-2"])
    assert (
        derive_checkout_id(buyer_id="b", idempotency_key=None, fresh_id=lambda: next(fresh))
        == "id-1"
    )
    assert derive_checkout_id(buyer_id="b", idempotency_key=None) != derive_checkout_id(
        buyer_id="b", idempotency_key=None
    )


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [(4990, "EUR", "49.90"), (5, "EUR", "0.05"), (0, "USD", "0.00"), (1500, "JPY", "1500")],
)
def test_prices_are_decimal_strings_in_major_units(minor: int, currency: str, text: str) -> None:
    assert format_price(minor, currency) == text
    assert PinnedProduct("X", "X", minor, currency, 1).price == text
