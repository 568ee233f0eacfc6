"""Short order references (contracts/references.py): fixed values, the format, and reading
back what a person typed."""

import hashlib
import re
import uuid

import pytest

from contracts import is_order_reference, order_reference, parse_order_reference
from contracts.references import CROCKFORD_ALPHABET, REFERENCE_PATTERN

# Checked by hand: SHA-256("a") starts ca 97 81 12 ca, whose 40 bits in groups of five are
# 25 10 11 24 2 4 22 10, "SABR24PA" in Crockford's alphabet.
VECTORS = {
    "a": "LC-SABR-24PA",
    "00000000-0000-0000-0000-000000000000": "LC-2AWK-EZ5Y",
    "b7e2c1f0-1c2d-4e5f-8a9b-0c1d2e3f4a5b": "LC-G73N-GXGV",
}
"""Fixed values; static/reference.js must give the same (test_order_reference_js.py)."""


@pytest.mark.parametrize(("checkout_id", "reference"), VECTORS.items())
def test_a_checkout_id_has_a_fixed_reference(checkout_id: str, reference: str) -> None:
    assert order_reference(checkout_id) == reference


def test_the_reference_is_the_first_40_bits_of_the_sha256_in_crockford_base32() -> None:
    checkout_id = str(uuid.uuid4())
    bits = int.from_bytes(hashlib.sha256(checkout_id.encode()).digest()[:5], "big")
    symbols = order_reference(checkout_id).removeprefix("LC-").replace("-", "")
    decoded = 0
    for symbol in symbols:
        decoded = decoded * 32 + CROCKFORD_ALPHABET.index(symbol)
    assert decoded == bits


def test_every_reference_is_lc_and_two_groups_of_four_without_lookalike_letters() -> None:
    for _ in range(500):
        reference = order_reference(str(uuid.uuid4()))
        assert re.fullmatch(REFERENCE_PATTERN, reference), reference
        assert not set(reference.removeprefix("LC-")) & set("ILOU")
        assert is_order_reference(reference)


def test_different_checkouts_get_different_references() -> None:
    references = {order_reference(str(uuid.uuid4())) for _ in range(2000)}
    assert len(references) == 2000


@pytest.mark.parametrize(
    "typed",
    [
        "LC-SABR-24PA",
        "lc-sabr-24pa",
        "  LC-SABR-24PA\n",
        "sabr24pa",
        "SABR-24PA",
        "lc sabr 24pa",
        "LCSABR24PA",
        "Lc-Sabr-24pa",
    ],
)
def test_a_typed_reference_is_read_in_any_case_with_or_without_prefix_and_dashes(
    typed: str,
) -> None:
    assert parse_order_reference(typed) == "LC-SABR-24PA"


def test_letters_mistaken_for_digits_read_as_those_digits() -> None:
    assert parse_order_reference("LC-2AWK-EZSY") != "LC-2AWK-EZ5Y"  # S is a symbol of its own
    assert parse_order_reference("lc-2awk-ez5y") == "LC-2AWK-EZ5Y"
    assert parse_order_reference("LC-O0I1-L1oi") == "LC-0011-1101"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "LC-",
        "LC-SABR-24P",
        "LC-SABR-24PAX",
        "LC-SABU-24PA",  # U is not in the alphabet
        "LC-SABR_24PA",
        "XX-SABR-24PA",
        "LC-ŚABR-24PA",
        "LC-SABR-24PA" + " " * 40,
        "b7e2c1f0-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    ],
)
def test_anything_else_is_refused(typed: str) -> None:
    with pytest.raises(ValueError, match="LC-7K3M-9QX2"):
        parse_order_reference(typed)


def test_only_the_canonical_form_is_a_reference() -> None:
    assert is_order_reference("LC-SABR-24PA")
    assert not is_order_reference("lc-sabr-24pa")
    assert not is_order_reference("LC-SABR-24PA\n")
    assert not is_order_reference("SABR24PA")
