"""The whole stack as real processes: a buyer session, an HTTP checkout in, the final status
out over SSE at the URL the storefront returned; the buyer token never in a URL."""

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
        started = client.post("/api/sessions")
        session = started.json()
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
    assert "token" not in body["events_url"]
    assert "token" not in body["buyer_events_url"]
    # The stack serves plain http, so LIVECART_BUYER_COOKIE_SECURE=false: not Secure.
    cookie = started.headers["set-cookie"]
    assert cookie.startswith(f"livecart_buyer={session['token']};")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie

    statuses = []
    bearer = {"Authorization": f"Bearer {session['token']}"}
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=30)) as client,
        connect_sse(client, "GET", body["events_url"], headers=bearer) as source,
    ):
        for event in source.iter_sse():
            assert event.event == "status"
            assert event.id
            statuses.append(json.loads(event.data))

    assert [s["status"] for s in statuses] == ["received", "reserved", "paid", "confirmed"]
    assert {s["checkout_id"] for s in statuses} == {body["checkout_id"]}
    assert {s["buyer_id"] for s in statuses} == {session["buyer_id"]}


def test_the_notifier_takes_the_buyer_cookie_from_the_room_pages_origin_and_no_url_token(
    stack: dict[str, ServiceProcess],
) -> None:
    storefront, notifier = stack["storefront"], stack["notifier"]
    with httpx.Client(timeout=10) as client:
        token = client.post(f"{storefront.base_url}/api/sessions").json()["token"]
        # The client kept the cookie, and would send it to the notifier (same host): not now.
        client.cookies.clear()
        in_url = client.get(f"{notifier.base_url}/events/buyers/me", params={"token": token})
        with client.stream(
            "GET", f"{notifier.base_url}/events/buyers/me",
            headers={"Origin": storefront.base_url, "Cookie": f"livecart_buyer={token}"},
        ) as by_cookie:  # fmt: skip
            status, headers = by_cookie.status_code, by_cookie.headers

    assert in_url.status_code == 401
    assert "Authorization: Bearer" in in_url.json()["detail"]
    assert status == 200
    # What a browser needs to hand a credentialed stream to the room page.
    assert headers["access-control-allow-origin"] == storefront.base_url
    assert headers["access-control-allow-credentials"] == "true"


def test_every_service_stops_cleanly_on_sigterm(stack: dict[str, ServiceProcess]) -> None:
    exit_codes = {name: service.terminate() for name, service in stack.items()}
    assert exit_codes == {"orders": 0, "notifier": 0, "storefront": 0}
