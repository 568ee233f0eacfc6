"""The room page computes order references itself (static/reference.js): in a real Chromium,
it must give exactly what contracts/references.py gives, for the fixed values and for many
checkout ids of every length a SHA-256 block boundary cares about."""

import uuid

import pytest

from contracts import order_reference
from services.storefront.entrypoints.pages import STATIC_DIR
from tests.support.browser import chromium
from tests.unit.test_order_reference import VECTORS

pytestmark = pytest.mark.slow

REFERENCES = "(ids) => ids.map((id) => window.livecart.orderReference(id))"


async def test_the_page_and_the_contract_give_every_checkout_the_same_reference() -> None:
    checkout_ids = [
        *VECTORS,
        *(str(uuid.uuid4()) for _ in range(200)),
        # Around the 55/56/64-byte padding boundaries, and the longest identifier.
        *("k" * n for n in range(1, 65)),
        "A.b_c:d-9",
    ]
    async with chromium() as browser:
        page = await browser.new_page()
        await page.add_script_tag(content=(STATIC_DIR / "vendor" / "sha256.min.js").read_text())
        await page.add_script_tag(content=(STATIC_DIR / "reference.js").read_text())
        in_page = await page.evaluate(REFERENCES, checkout_ids)
        await page.close()
    assert in_page == [order_reference(checkout_id) for checkout_id in checkout_ids]
    assert in_page[: len(VECTORS)] == list(VECTORS.values())
