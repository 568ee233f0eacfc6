"""The whole stack as real processes: a buyer session, an HTTP checkout in, the final status
out over SSE at the URL the storefront returned."""

import json

import httpx
import pytest
from httpx_sse import connect_sse

from tests.support.stack import ServiceProcess

pytestmark = pytest.mark.slow


def test_a_checkout_posted_over_http_reaches_confirmed_on_the_sse_stream(
    stack: dict[str, ServiceProcess],
) -> None:
    storefront = stack["storefront"]
    with httpx.Client(base_url=storefront.base_url, timeout=10) as client:
        session = client.post("/api/sessions").json()
        room = client.get("/api/rooms/demo").json()
        sku = room["products"][0]["sku"]
        accepted = client.post(
            "/api/checkouts",
            json={"room_id": "demo", "items": [{"sku": sku, "quantity": 1}]},
            headers={"Authorization": f"Bearer {session['token']}"},
        )
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["status"] == "accepted"
    assert body["events_url"].startswith(stack["notifier"].base_url)

    statuses = []
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=30)) as client,
        connect_sse(client, "GET", body["events_url"]) as source,
    ):
        for event in source.iter_sse():
            assert event.event == "status"
            assert event.id
            statuses.append(json.loads(event.data))

    assert [s["status"] for s in statuses] == ["received", "reserved", "paid", "confirmed"]
    assert {s["checkout_id"] for s in statuses} == {body["checkout_id"]}
    assert {s["buyer_id"] for s in statuses} == {session["buyer_id"]}


def test_every_service_stops_cleanly_on_sigterm(stack: dict[str, ServiceProcess]) -> None:
    exit_codes = {name: service.terminate() for name, service in stack.items()}
    assert exit_codes == {"orders": 0, "notifier": 0, "storefront": 0}
