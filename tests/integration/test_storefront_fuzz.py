"""Fuzz every route of the storefront's OpenAPI document (schemathesis), the buyer's API
with a buyer token and the seller's signed in (session cookie and CSRF header): whatever a
client sends, the answer is never a 5xx and never shows a traceback."""

from collections.abc import Iterator

import httpx
import pytest
from schemathesis.checks import status_code_conformance

from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID
from tests.support.fuzz import (
    Credentials,
    assert_log_clean,
    fuzz_operations,
    new_seller_password,
    operations,
    service_alone,
    sign_in_demo_seller,
)
from tests.support.stack import ServiceProcess

# Hundreds of requests against a real process: more than the suite's default 120 s on a
# busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

PASSWORD = new_seller_password()
KNOWN = {"room_id": DEMO_ROOM_ID, "sku": DEMO_PRODUCTS[0].sku}
"""The demo seller's room and product: cases with them get past the 404."""


@pytest.fixture(scope="module")
def storefront(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("fuzz-storefront")
    with service_alone(
        "storefront", redis_url=redis_url, workdir=workdir, seller_password=PASSWORD
    ) as service:
        yield service


@pytest.fixture(scope="module")
def buyer(storefront: ServiceProcess) -> Credentials:
    answer = httpx.post(f"{storefront.base_url}/api/sessions", timeout=10)
    answer.raise_for_status()
    return Credentials(headers={"Authorization": f"Bearer {answer.json()['token']}"})


def test_no_input_makes_the_storefront_answer_5xx_or_show_a_traceback(
    storefront: ServiceProcess, buyer: Credentials
) -> None:
    every = operations(storefront)
    paths = {op.path for op in every}
    assert {"/api/checkouts", "/api/sessions", "/api/seller/rooms/{room_id}/deals"} <= paths

    def buyer_and_seller() -> Credentials:
        # A fresh seller session each time: fuzzing `DELETE /api/seller/session` ends one.
        seller = sign_in_demo_seller(storefront, PASSWORD)
        return Credentials(headers={**buyer.headers, **seller.headers}, cookies=seller.cookies)

    statuses = fuzz_operations(
        every, buyer_and_seller, max_examples=25, known=KNOWN, checks=[status_code_conformance]
    )
    # Signed in, so every operation answered something else than 401 at least once.
    assert not [op for op, seen in statuses.items() if set(seen) <= {401}], statuses
    assert_log_clean(storefront)
