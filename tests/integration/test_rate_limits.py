"""Rate limits on real processes and real Redis: two storefront replicas and a notifier,
with small limits. Past a limit the answer is 429 with Retry-After, counted in /metrics;
the replicas share one count; a buyer's limit holds back that buyer only.

The services run behind no proxy, so uvicorn trusts 127.0.0.1's X-Forwarded-For (its
default `--forwarded-allow-ips`): each test speaks from addresses of its own."""

import asyncio
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.local.redis_server import free_port
from services.storefront.seed import seed_demo
from tests.support import demo
from tests.support.stack import ServiceProcess, service_env

pytestmark = pytest.mark.slow

LIMITS = {
    "STOREFRONT_RATE_LIMIT_SESSIONS_PER_ADDRESS": "3/minute",
    "STOREFRONT_RATE_LIMIT_CHECKOUTS_PER_BUYER": "2/minute",
    "STOREFRONT_RATE_LIMIT_CHECKOUTS_PER_ADDRESS": "5/minute",
    "STOREFRONT_RATE_LIMIT_CANCELLATIONS_PER_BUYER": "off",
    "NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS": "3/minute",
}
CHECKOUT = {"room_id": demo.DEMO_ROOM_ID, "items": [{"sku": "LC-MUG-LIVE", "quantity": 1}]}
_addresses = itertools.count(1)


def new_address() -> str:
    """An address (TEST-NET-2) no other test of the module speaks from."""
    n = next(_addresses)
    return f"198.51.{100 + n // 250}.{n % 250 + 1}"


def speaking_from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def refused_count(base_url: str, limit: str) -> float:
    text = httpx.get(f"{base_url}/metrics/", timeout=5).text
    found = re.search(rf'^livecart_rate_limited_total\{{limit="{limit}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def assert_rate_limited(answer: httpx.Response, *, at_most: str) -> None:
    assert answer.status_code == 429, answer.text
    body = answer.json()
    assert body["reason"] == "rate_limited"
    assert f"at most {at_most}" in body["detail"]
    assert 1 <= int(answer.headers["Retry-After"]) <= 60


def new_session(base_url: str, address: str) -> dict[str, str]:
    answer = httpx.post(f"{base_url}/api/sessions", headers=speaking_from(address), timeout=5)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture(scope="module")
def services(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[dict[str, ServiceProcess]]:
    """Storefronts `a` and `b` (one stream prefix, so one count) and a notifier."""
    workdir: Path = tmp_path_factory.mktemp("rate-limits")
    ports = {name: free_port() for name in ("a", "b", "notifier")}
    env = service_env(
        redis_url=redis_url, stream_prefix=f"lc-limits-{ports['a']}", workdir=workdir, **LIMITS
    )
    asyncio.run(seed_demo(env["STOREFRONT_DATABASE_URL"]))
    running = {
        name: ServiceProcess(
            "notifier" if name == "notifier" else "storefront", port,
            {**env, "STOREFRONT_PORT": str(port), "NOTIFIER_PORT": str(port)},
            workdir / f"{name}.log",
        )
        for name, port in ports.items()
    }  # fmt: skip
    try:
        for service in running.values():
            service.start()
        for service in running.values():
            service.wait_ready(60)
        yield running
    finally:
        for service in running.values():
            service.terminate()


def test_sessions_past_the_limit_get_429_with_retry_after_and_are_counted(
    services: dict[str, ServiceProcess],
) -> None:
    base = services["a"].base_url
    address = new_address()
    before = refused_count(base, "sessions_per_address")

    for _ in range(3):
        new_session(base, address)
    refused = httpx.post(f"{base}/api/sessions", headers=speaking_from(address), timeout=5)

    assert_rate_limited(refused, at_most="3 new sessions from one address per minute")
    assert "set-cookie" not in refused.headers
    assert refused_count(base, "sessions_per_address") == before + 1
    new_session(base, new_address())  # another address is not held back


def test_two_storefront_replicas_share_one_count(services: dict[str, ServiceProcess]) -> None:
    a, b = services["a"].base_url, services["b"].base_url
    address = new_address()

    for base in (a, b, a):
        new_session(base, address)
    answers = [
        httpx.post(f"{base}/api/sessions", headers=speaking_from(address), timeout=5)
        for base in (b, a)
    ]

    for answer in answers:
        assert_rate_limited(answer, at_most="3 new sessions")


def test_the_checkout_limit_per_buyer_holds_back_that_buyer_only(
    services: dict[str, ServiceProcess],
) -> None:
    a, b = services["a"].base_url, services["b"].base_url
    address = new_address()
    first, second = new_session(a, address), new_session(a, address)
    headers = speaking_from(address)

    accepted = [
        httpx.post(f"{base}/api/checkouts", json=CHECKOUT, headers=first | headers, timeout=5)
        for base in (a, b)
    ]
    third = httpx.post(f"{a}/api/checkouts", json=CHECKOUT, headers=first | headers, timeout=5)
    other = httpx.post(f"{b}/api/checkouts", json=CHECKOUT, headers=second | headers, timeout=5)

    assert [answer.status_code for answer in accepted] == [202, 202]
    assert_rate_limited(third, at_most="2 checkouts by one buyer per minute")
    assert other.status_code == 202, other.text
    assert refused_count(a, "checkouts_per_buyer") >= 1


def test_checkouts_from_one_address_are_limited_whatever_the_buyer(
    services: dict[str, ServiceProcess],
) -> None:
    a, b = services["a"].base_url, services["b"].base_url
    buyers = [new_session(a, address) for address in (new_address(), new_address()) for _ in "xyz"]
    headers = speaking_from(new_address())

    answers = [
        httpx.post(f"{(a, b)[n % 2]}/api/checkouts", json=CHECKOUT, headers=buyer | headers,
                   timeout=5)
        for n, buyer in enumerate(buyers)
    ]  # fmt: skip

    assert [answer.status_code for answer in answers[:5]] == [202] * 5
    assert_rate_limited(answers[5], at_most="5 checkouts from one address per minute")


def test_sse_connects_past_the_limit_get_429_from_the_notifier(
    services: dict[str, ServiceProcess],
) -> None:
    base = services["notifier"].base_url
    headers = speaking_from(new_address())
    before = refused_count(base, "sse_connects_per_address")

    opened = []
    with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
        for _ in range(3):
            with client.stream("GET", f"/events/rooms/{demo.DEMO_ROOM_ID}") as stream:
                opened.append(stream.status_code)
        room = client.get(f"/events/rooms/{demo.DEMO_ROOM_ID}")
        buyer = client.get("/events/buyers/me")  # counted before the token is looked at

    assert opened == [200, 200, 200]
    assert_rate_limited(room, at_most="3 event-stream connects from one address per minute")
    assert_rate_limited(buyer, at_most="3 event-stream connects")
    assert refused_count(base, "sse_connects_per_address") == before + 2
