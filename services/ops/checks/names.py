"""Which names betray data the storefront must not hold: matched word by word, so
`order_id` and `Orders` match `order` but `border` or `recorded` do not."""

import re
from collections.abc import Iterable

RECORD_STEMS = (
    "order",
    "payment",
    "stock",
    "available",
    "inventory",
    "reserv",
    "wallet",
    "balance",
    "card",
    "charge",
    "refund",
    "ledger",
)
"""Orders, payments or stock of record: none may name a storefront table or column."""

PAYMENT_STEMS = ("payment", "card", "wallet", "balance", "amount", "iban", "cvv", "cvc")
"""Payment data: no field of a storefront-side stream or table may be named so."""

_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def words(name: str) -> list[str]:
    """`name` split into lower-case words: snake_case, camelCase, dots and dashes."""
    return [word.lower() for word in _WORD.findall(name)]


def offending_word(name: str, stems: Iterable[str]) -> str | None:
    """The first stem a word of `name` starts with, or None."""
    for word in words(name):
        for stem in stems:
            if word.startswith(stem):
                return stem
    return None
