"""Short order references: what a buyer reads out and a seller types in, instead of a checkout id.

`order_reference(checkout_id)` is the first 40 bits of the SHA-256 of the checkout id's
UTF-8 bytes in Crockford base32 (no I, L, O or U), grouped as `LC-7K3M-9QX2`. It is a pure
function of the checkout id, so every side computes it and nobody stores it; the room page
computes the same in `services/storefront/static/reference.js`. 40 bits make a clash
between two orders of one seller's last thousand about one in two million: a lookup by
reference lists every order that has it.
"""

import hashlib
import re

REFERENCE_PREFIX = "LC"
CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_BITS = 40
REFERENCE_PATTERN = r"^LC-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"
"""A canonical reference, as `order_reference` writes it."""
MAX_REFERENCE_INPUT = 32
"""The longest text `parse_order_reference` reads (a reference with spaces around)."""

# Crockford's decoding: case-insensitive, and the letters people mistake for digits read
# as those digits.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s-]+")
_CANONICAL = re.compile(REFERENCE_PATTERN)


def order_reference(checkout_id: str) -> str:
    """The short reference of a checkout, e.g. `LC-7K3M-9QX2`."""
    digest = hashlib.sha256(checkout_id.encode("utf-8")).digest()
    value = int.from_bytes(digest[: REFERENCE_BITS // 8], "big")
    symbols = "".join(
        CROCKFORD_ALPHABET[(value >> shift) & 31] for shift in range(REFERENCE_BITS - 5, -1, -5)
    )
    return f"{REFERENCE_PREFIX}-{symbols[:4]}-{symbols[4:]}"


def parse_order_reference(text: str) -> str:
    """The canonical reference a person typed: any case, with or without the `LC` prefix,
    dashes or spaces, O for 0 and I or L for 1. Raises ValueError when it is not one."""
    if len(text) > MAX_REFERENCE_INPUT:
        raise ValueError("an order reference is 8 characters, like LC-7K3M-9QX2")
    compact = _SEPARATORS.sub("", text.strip().upper())
    if len(compact) == len(REFERENCE_PREFIX) + 8 and compact.startswith(REFERENCE_PREFIX):
        compact = compact[len(REFERENCE_PREFIX) :]
    symbols = compact.translate(_LOOKALIKES)
    reference = f"{REFERENCE_PREFIX}-{symbols[:4]}-{symbols[4:]}"
    if len(symbols) != 8 or not _CANONICAL.fullmatch(reference):
        raise ValueError("an order reference is 8 characters, like LC-7K3M-9QX2")
    return reference


def is_order_reference(text: str) -> bool:
    """Whether `text` is a reference as `order_reference` writes it (canonical form)."""
    return _CANONICAL.fullmatch(text) is not None
