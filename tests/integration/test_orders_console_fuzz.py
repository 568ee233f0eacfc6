"""Fuzz every route of the orders service's OpenAPI document (schemathesis): the seller
console's API signed in as the demo seller (session cookie and CSRF header) and the
operational routes. Whatever a client sends, never a 5xx and never a traceback."""

from collections.abc import Iterator

import pytest
from schemathesis.checks import status_code_conformance

from tests.support.demo import DEMO_PRODUCTS
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
KNOWN = {"sku": DEMO_PRODUCTS[0].sku}
"""The demo seller's product: cases with it get past the 404."""


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("fuzz-orders")
    with service_alone(
        "orders", redis_url=redis_url, workdir=workdir, seller_password=PASSWORD
    ) as service:
        yield service


def test_no_input_makes_the_orders_console_answer_5xx_or_show_a_traceback(
    orders: ServiceProcess,
) -> None:
    every = operations(orders)
    paths = {op.path for op in every}
    assert {"/api/seller/session", "/api/seller/products/{sku}/stock"} <= paths

    def seller() -> Credentials:
        # A fresh session each time: fuzzing `DELETE /api/seller/session` ends one.
        return sign_in_demo_seller(orders, PASSWORD)

    statuses = fuzz_operations(
        every, seller, max_examples=25, known=KNOWN, checks=[status_code_conformance]
    )
    # Signed in, so every operation answered something else than 401 at least once.
    assert not [op for op, seen in statuses.items() if set(seen) <= {401}], statuses
    assert_log_clean(orders)
