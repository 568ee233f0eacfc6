"""Hosted payment on real Redis and a real database (SQLite and PostgreSQL): an order
waits at `reserved` with its payment page in the buyer's status; the buyer's approval
confirms it once, a decline rejects it with the stock back, no answer expires it with
the stock back. The page's HTTP routes run in-process (ASGI) on the running service."""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from contracts import OrderStatusChanged
from services.orders.adapters.tables import PaymentRow
from services.orders.entrypoints.app import OrdersRuntime
from services.orders.entrypoints.payment import install_payment_page
from services.orders.payment_page import PaymentTickets
from tests.conftest import Database
from tests.support.flow import StatusTally, checkout, eventually, publish_checkouts
from tests.support.orders import order_of, orders_settings, product, row, running_orders

STOREFRONT = "http://127.0.0.1:18000"
SECRET = "integration-payment-ticket-secret-0123456789"


def hosted(database: Database, redis_url: str, prefix: str, **overrides: Any) -> Any:
    settings = orders_settings(
        database, redis_url, prefix, payment_mode="hosted", public_url="http://market.test",
        payment_frame_ancestors=STOREFRONT, payment_ticket_secret=SECRET, **overrides,
    )  # fmt: skip
    return running_orders(settings, {"HOT": 10})


@pytest.fixture
async def orders(
    database: Database, redis_url: str, stream_prefix: str
) -> AsyncIterator[OrdersRuntime]:
    async with hosted(database, redis_url, stream_prefix) as runtime:
        yield runtime


def page_client(runtime: OrdersRuntime) -> httpx.AsyncClient:
    app = FastAPI()
    app.state.runtime = runtime
    install_payment_page(app, runtime)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://market.test")


async def statuses_until(
    runtime: OrdersRuntime, client: Redis, checkout_id: str, status: str
) -> list[OrderStatusChanged]:
    tally = StatusTally(client, runtime.settings.streams.order_status)
    found = await eventually(
        tally.read_new,
        until=lambda f: status in [s.status.value for s in f.get(checkout_id, [])],
    )
    return found[checkout_id]


async def reserved(runtime: OrdersRuntime, client: Redis, quantity: int = 2) -> tuple[str, str]:
    """A checkout of HOT, waiting at reserved: (checkout id, its payment page path+query)."""
    item = checkout(items=[("HOT", quantity)])
    await publish_checkouts(client, runtime.settings.streams.checkout_requested, [item])
    statuses = await statuses_until(runtime, client, item.checkout_id, "reserved")
    url = statuses[-1].payment_url
    assert url is not None
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://market.test"
    return item.checkout_id, f"{parts.path}?{parts.query}"


def ticket_of(page: str) -> str:
    return parse_qs(urlsplit(page).query)["ticket"][0]


async def answer(
    web: httpx.AsyncClient, checkout_id: str, ticket: str, verb: str, **extra: str
) -> httpx.Response:
    form = {"ticket": ticket, "method": "sandbox_wallet", **extra}
    return await web.post(
        f"/pay/{checkout_id}/{verb}", data=form, headers={"Accept": "application/json"}
    )


async def test_a_hosted_order_waits_at_reserved_and_its_page_may_be_framed_by_the_storefront(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    checkout_id, page = await reserved(orders, redis_client)

    async with page_client(orders) as web:
        response = await web.get(page)

    assert response.status_code == 200
    assert f"frame-ancestors {STOREFRONT}" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert 'data-testid="pay-approve"' in response.text
    assert (await order_of(orders, checkout_id)).status == "reserved"
    assert await row(orders, PaymentRow, checkout_id) is None
    hot = await product(orders, "HOT")
    assert (hot.available, hot.reserved, hot.sold) == (8, 2, 0)


async def test_approving_twice_at_once_charges_once_and_confirms(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    checkout_id, page = await reserved(orders, redis_client)
    before = await orders.gateway.balance((await order_of(orders, checkout_id)).buyer_id)

    async with page_client(orders) as web:
        first, second = await asyncio.gather(
            answer(web, checkout_id, ticket_of(page), "approve"),
            answer(web, checkout_id, ticket_of(page), "approve"),
        )

    assert [first.status_code, second.status_code] == [200, 200]
    assert first.json()["status"] == second.json()["status"] == "confirmed"
    statuses = await statuses_until(orders, redis_client, checkout_id, "confirmed")
    assert [s.status.value for s in statuses] == ["received", "reserved", "paid", "confirmed"]
    payment = await row(orders, PaymentRow, checkout_id)
    assert payment is not None
    assert payment.outcome == "captured"
    buyer = (await order_of(orders, checkout_id)).buyer_id
    assert before is None or await orders.gateway.balance(buyer) == before - 2000
    hot = await product(orders, "HOT")
    assert (hot.available, hot.reserved, hot.sold) == (8, 0, 2)


async def test_declining_rejects_the_order_and_puts_the_stock_back(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    checkout_id, page = await reserved(orders, redis_client)

    async with page_client(orders) as web:
        declined = await answer(web, checkout_id, ticket_of(page), "decline")
        approved_after = await answer(web, checkout_id, ticket_of(page), "approve")

    assert declined.status_code == 200
    assert declined.json()["state"] == "declined"
    assert approved_after.status_code == 409
    rejected = (await statuses_until(orders, redis_client, checkout_id, "rejected"))[-1]
    assert (rejected.reason, rejected.detail) == ("payment_failed", "declined_by_buyer")
    assert await row(orders, PaymentRow, checkout_id) is None
    hot = await product(orders, "HOT")
    assert (hot.available, hot.reserved, hot.sold) == (10, 0, 0)


async def test_no_answer_in_time_expires_the_order_and_a_late_approval_charges_nothing(
    database: Database, redis_url: str, stream_prefix: str, redis_client: Redis
) -> None:
    async with hosted(database, redis_url, stream_prefix, hold_seconds=1.0) as runtime:
        checkout_id, page = await reserved(runtime, redis_client)
        await statuses_until(runtime, redis_client, checkout_id, "expired")

        async with page_client(runtime) as web:
            late = await answer(web, checkout_id, ticket_of(page), "approve")
            shown = await web.get(page)

        assert late.status_code == 409
        assert late.json()["reason"] == "payment_expired"
        assert 'data-state="expired"' in shown.text
        assert await row(runtime, PaymentRow, checkout_id) is None
        hot = await product(runtime, "HOT")
        assert (hot.available, hot.reserved, hot.sold) == (10, 0, 0)


async def test_bad_tickets_and_bad_forms_are_refused_with_a_4xx(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    checkout_id, page = await reserved(orders, redis_client)
    ticket = ticket_of(page)
    tickets = PaymentTickets(SECRET, timedelta(seconds=orders.settings.hold_seconds))
    other = tickets.issue(checkout_id=checkout_id, buyer_id="someone-else")
    unknown = tickets.issue(checkout_id="co-unknown", buyer_id="someone-else")

    async with page_client(orders) as web:
        answers = {
            "no ticket": (await web.get(f"/pay/{checkout_id}")).status_code,
            "forged": (await web.get(f"/pay/{checkout_id}?ticket=abc.def.ghi")).status_code,
            "other checkout's": (await web.get(f"/pay/co-other?ticket={ticket}")).status_code,
            "other buyer's": (await answer(web, checkout_id, other, "approve")).status_code,
            "unknown order": (await web.get(f"/pay/co-unknown?ticket={unknown}")).status_code,
            "bad id": (await web.get(f"/pay/%20bad%00?ticket={ticket}")).status_code,
            "bad method": (await answer(web, checkout_id, ticket, "approve", method="card"))
            .status_code,
            "json body": (
                await web.post(f"/pay/{checkout_id}/approve", json={"ticket": ticket})
            ).status_code,
            "huge form": (
                await answer(web, checkout_id, ticket, "approve", pad="x" * 10_000)
            ).status_code,
            "bad utf-8": (
                await web.post(
                    f"/pay/{checkout_id}/decline", content=b"ticket=%ff%fe",
                    headers={"content-type": "application/x-www-form-urlencoded"},
                )
            ).status_code,
        }  # fmt: skip

    assert answers == {
        "no ticket": 403, "forged": 403, "other checkout's": 403, "other buyer's": 403,
        "unknown order": 404, "bad id": 404, "bad method": 422, "json body": 415,
        "huge form": 413, "bad utf-8": 422,
    }  # fmt: skip
    assert (await order_of(orders, checkout_id)).status == "reserved"


async def test_without_the_pages_script_a_form_post_returns_to_the_page_which_tells_the_outcome(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    checkout_id, page = await reserved(orders, redis_client)
    form = {"ticket": ticket_of(page), "method": "sandbox_wallet"}

    async with page_client(orders) as web:
        posted = await web.post(f"/pay/{checkout_id}/approve", data=form)
        shown = await web.get(posted.headers["location"])
        again = await web.post(f"/pay/{checkout_id}/decline", data=form)

    assert posted.status_code == 303
    assert shown.status_code == 200
    assert 'data-state="confirmed"' in shown.text
    assert again.status_code == 409
    assert "Payment closed" in again.text
    assert "frame-ancestors" in again.headers["content-security-policy"]
