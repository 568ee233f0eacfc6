"""Which table, column and field names betray record or payment data on the storefront side."""

import pytest

from services.ops.checks.names import PAYMENT_STEMS, RECORD_STEMS, offending_word, words
from services.ops.checks.payment_data import field_paths
from services.ops.checks.result import Outcome
from services.ops.checks.schema import check_storefront_schema, offending_names


def test_names_split_into_words_whatever_their_case_style() -> None:
    assert words("order_lines") == ["order", "lines"]
    assert words("cardHolderName") == ["card", "holder", "name"]
    assert words("HTTPCard.data-items") == ["http", "card", "data", "items"]


@pytest.mark.parametrize(
    "name",
    [
        "orders",
        "order_id",
        "sortOrder",
        "payments",
        "stock_level",
        "available",
        "inventory",
        "reservations",
        "wallet_id",
        "balance_minor",
        "card_last4",
    ],
)
def test_record_data_names_are_caught(name: str) -> None:
    assert offending_word(name, RECORD_STEMS) is not None


@pytest.mark.parametrize(
    "name",
    [
        "pinned_products",
        "price_minor",
        "max_per_checkout",
        "position",
        "border",
        "recorded",
        "seller_id",
        "title",
        "discarded",
    ],
)
def test_showcase_names_are_not_mistaken_for_record_data(name: str) -> None:
    assert offending_word(name, RECORD_STEMS) is None


def test_payment_names_include_amounts_but_not_prices_or_totals() -> None:
    assert offending_word("amount_minor", PAYMENT_STEMS) == "amount"
    assert offending_word("cardNumber", PAYMENT_STEMS) == "card"
    assert offending_word("total_minor", PAYMENT_STEMS) is None
    assert offending_word("price_minor", PAYMENT_STEMS) is None


def test_every_key_of_a_json_document_is_listed_as_a_dotted_path() -> None:
    document = {"data": {"items": [{"sku": "A", "extra": {"cvv": 1}}], "buyer_id": "b"}}

    assert sorted(field_paths(document)) == [
        "data",
        "data.buyer_id",
        "data.items",
        "data.items[].extra",
        "data.items[].extra.cvv",
        "data.items[].sku",
    ]


def test_the_schema_check_names_each_offending_table_and_column() -> None:
    schema = {
        "rooms": ["room_id", "title"],
        "orders": ["order_id", "status"],
        "pinned_products": ["sku", "stock_available"],
    }

    result = check_storefront_schema(schema, where="test")

    assert result.outcome is Outcome.FAILED
    assert (
        result.problems
        == offending_names(schema, RECORD_STEMS)
        == [
            "table `orders` (matches `order`)",
            "column `orders.order_id` (matches `order`)",
            "column `pinned_products.stock_available` (matches `stock`)",
        ]
    )
    assert result.evidence[0] == "inspected test: 3 tables"


def test_the_schema_check_passes_a_showcase_only_schema() -> None:
    result = check_storefront_schema({"rooms": ["room_id", "title"]}, where="test")

    assert (result.outcome, result.problems) == (Outcome.PASSED, [])
