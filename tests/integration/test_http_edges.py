"""The strict edges of every HTTP API, shown against the real services (orders with its
seller console, notifier, storefront, each its own process) over HTTP and real Redis:
idempotency keys bind one request, request bodies take no unknown field and no number
as text, and no string anywhere (lone surrogates, NUL, bidi marks, huge ones; in bodies,
query strings, paths and headers) gets a 5xx."""

import json
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis

from contracts import Streams
from tests.support.demo import DEMO_ROOM_ID, DEMO_SELLER_EMAIL
from tests.support.stack import (
    ROOT,
    ServiceProcess,
    demo_seller_password,
    running_stack,
    service_env,
)

SKU = "LC-MUG-LIVE"
HOSTILE = {
    "lone surrogate": "\ud800",
    "NUL": "a\x00b",
    "RTL mark": "\u200fdemo",
    "bidi override": "\u202edemo",
    "huge": "x" * 20_000,
}
"""Strings for JSON bodies (sent as ASCII JSON: `\\ud800` escaped, as a client may)."""
RAW = {
    "lone surrogate": b"\xed\xa0\x80",
    "NUL": b"%00",
    "RTL mark": b"\xe2\x80\x8f",
    "invalid UTF-8": b"\xff\xfe",
    "huge": b"x" * 6_000,
}
"""Bytes for request lines and headers (sent raw: no client library would send them)."""


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[dict[str, ServiceProcess]]:
    workdir: Path = tmp_path_factory.mktemp("edges")
    prefix = f"lc-edges-{uuid.uuid4().hex[:8]}"
    env = service_env(redis_url=redis_url, stream_prefix=prefix, workdir=workdir)
    try:
        with running_stack(env, workdir) as services:
            yield services
    finally:
        subprocess.run(
            [sys.executable, "-c", _CLEANUP, redis_url, f"{prefix}:*"], cwd=ROOT, check=False
        )


_CLEANUP = """
import sys, redis
client = redis.Redis.from_url(sys.argv[1])
keys = list(client.scan_iter(match=sys.argv[2]))
if keys:
    client.delete(*keys)
"""


def url(stack: dict[str, ServiceProcess], name: str) -> str:
    return stack[name].base_url


def buyer(stack: dict[str, ServiceProcess]) -> dict[str, str]:
    answer = httpx.post(f"{url(stack, 'storefront')}/api/sessions", timeout=10)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def cart(quantity: Any = 1, **overrides: Any) -> dict[str, Any]:
    return {"room_id": DEMO_ROOM_ID, "items": [{"sku": SKU, "quantity": quantity}]} | overrides


def post_json(
    base: str, path: str, body: Any, headers: dict[str, str], **options: Any
) -> httpx.Response:
    """POST `body` as ASCII JSON, so a lone surrogate travels escaped (`\\ud800`)."""
    raw = json.dumps(body, ensure_ascii=True)
    headers = headers | {"Content-Type": "application/json"}
    return httpx.post(f"{base}{path}", content=raw, headers=headers, timeout=10, **options)


def checkout_entries(stack: dict[str, ServiceProcess], checkout_id: str) -> int:
    env = stack["storefront"].env
    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        stream = Streams(env["LIVECART_STREAM_PREFIX"]).checkout_requested
        entries = client.xrange(stream)
    finally:
        client.close()
    return sum(checkout_id.encode() in fields[b"__data__"] for _id, fields in entries)


def raw_status(
    base: str, target: bytes, headers: bytes = b"", *, method: bytes = b"GET", body: bytes = b""
) -> int:
    """Send a request of these exact bytes over a socket; the status code answered (the
    first line only: an event stream that opened is not read on)."""
    host = urlsplit(base)
    length = b"Content-Length: %d\r\nContent-Type: application/json\r\n" % len(body)
    with socket.create_connection((host.hostname, host.port), timeout=10) as sock:
        sock.sendall(
            method + b" " + target + b" HTTP/1.1\r\nHost: edges\r\n" + headers
            + (length if body else b"") + b"Connection: close\r\n\r\n" + body
        )  # fmt: skip
        status_line = sock.makefile("rb").readline()
    return int(status_line.split()[1])


# ---- idempotency ------------------------------------------------------------------------


def test_the_same_key_and_body_twice_is_one_checkout_with_one_entry(
    stack: dict[str, ServiceProcess],
) -> None:
    auth, base, key = buyer(stack), url(stack, "storefront"), uuid.uuid4().hex

    first = post_json(base, "/api/checkouts", cart(idempotency_key=key), auth)
    again = post_json(base, "/api/checkouts", cart(), auth | {"Idempotency-Key": key})
    quoted = post_json(base, "/api/checkouts", cart(), auth | {"Idempotency-Key": f'"{key}"'})

    assert first.status_code == again.status_code == quoted.status_code == 202, again.text
    assert first.json()["checkout_id"] == again.json()["checkout_id"]
    assert quoted.json()["checkout_id"] == first.json()["checkout_id"]
    assert checkout_entries(stack, first.json()["checkout_id"]) == 1


def test_the_same_key_with_another_body_is_a_conflict_and_appends_nothing(
    stack: dict[str, ServiceProcess],
) -> None:
    auth, base, key = buyer(stack), url(stack, "storefront"), uuid.uuid4().hex
    first = post_json(base, "/api/checkouts", cart(1), auth | {"Idempotency-Key": key})

    other = post_json(base, "/api/checkouts", cart(2), auth | {"Idempotency-Key": key})

    assert first.status_code == 202
    assert other.status_code == 409, other.text
    assert other.json()["reason"] == "idempotency_key_reused"
    assert "already used with a different request" in other.json()["detail"]
    assert checkout_entries(stack, first.json()["checkout_id"]) == 1


def test_another_buyer_may_use_the_same_key(stack: dict[str, ServiceProcess]) -> None:
    base, key = url(stack, "storefront"), uuid.uuid4().hex
    one = post_json(base, "/api/checkouts", cart(1), buyer(stack) | {"Idempotency-Key": key})
    two = post_json(base, "/api/checkouts", cart(2), buyer(stack) | {"Idempotency-Key": key})

    assert one.status_code == two.status_code == 202
    assert one.json()["checkout_id"] != two.json()["checkout_id"]


def test_a_header_key_and_a_body_key_that_differ_are_refused(
    stack: dict[str, ServiceProcess],
) -> None:
    answer = post_json(
        url(stack, "storefront"), "/api/checkouts", cart(idempotency_key="body-key"),
        buyer(stack) | {"Idempotency-Key": "header-key"},
    )  # fmt: skip

    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"] == ["header", "Idempotency-Key"]
    assert "differs from the body's idempotency_key" in error["msg"]


# ---- strict bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (cart("2"), ["body", "items", 0, "quantity"]),
        (cart(2.0), ["body", "items", 0, "quantity"]),
        (cart(True), ["body", "items", 0, "quantity"]),
        (cart(coupon="FREE"), ["body", "coupon"]),
        (cart() | {"items": [{"sku": SKU, "quantity": 1, "x": 0}]}, ["body", "items", 0, "x"]),
    ],
    ids=["quantity as text", "as float", "as bool", "unknown field", "unknown item field"],
)
def test_the_checkout_body_takes_no_number_as_text_and_no_unknown_field(
    stack: dict[str, ServiceProcess], body: dict[str, Any], loc: list[Any]
) -> None:
    answer = post_json(url(stack, "storefront"), "/api/checkouts", body, buyer(stack))

    assert answer.status_code == 422, answer.text
    assert loc in [error["loc"] for error in answer.json()["detail"]]


def test_a_buyer_id_in_the_body_is_still_refused_by_name(stack: dict[str, ServiceProcess]) -> None:
    answer = post_json(
        url(stack, "storefront"), "/api/checkouts", cart(buyer_id="someone"), buyer(stack)
    )

    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["type"] == "buyer_from_token"


@pytest.fixture(scope="module")
def storefront_seller(stack: dict[str, ServiceProcess]) -> httpx.Client:
    client = httpx.Client(base_url=url(stack, "storefront"), timeout=10)
    password = demo_seller_password(stack)
    answer = client.post(
        "/api/seller/session", json={"email": DEMO_SELLER_EMAIL, "password": password}
    )
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


@pytest.fixture(scope="module")
def console(stack: dict[str, ServiceProcess]) -> httpx.Client:
    client = httpx.Client(base_url=url(stack, "orders"), timeout=10)
    password = demo_seller_password(stack)
    answer = client.post(
        "/api/seller/session", json={"email": DEMO_SELLER_EMAIL, "password": password}
    )
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/seller/rooms", {"title": "Live", "colour": "red"}),
        ("/api/seller/rooms", {"title": 12}),
        (f"/api/seller/rooms/{DEMO_ROOM_ID}/pins", {"sku": SKU, "max_per_checkout": "2"}),
    ],
    ids=["unknown field", "number for text", "number as text"],
)
def test_the_storefront_seller_api_is_strict(
    storefront_seller: httpx.Client, path: str, body: dict[str, Any]
) -> None:
    answer = storefront_seller.post(path, json=body)

    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/seller/products", {"sku": "LC-NEW", "title": "New", "price_minor": "100"}),
        ("POST", "/api/seller/products", {"sku": "LC-N", "title": "N", "price_minor": 1, "x": 1}),
        ("PATCH", f"/api/seller/products/{SKU}", {"price_minor": "100"}),
    ],
    ids=["number as text", "unknown field", "number as text in a change"],
)  # fmt: skip
def test_the_marketplace_console_api_is_strict(
    console: httpx.Client, method: str, path: str, body: dict[str, Any]
) -> None:
    answer = console.request(method, path, json=body)

    assert answer.status_code == 422, answer.text


# ---- no string makes a 5xx --------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("field", ["idempotency_key", "room_id", "sku", "unknown field"])
def test_no_string_in_a_checkout_body_makes_a_server_error(
    stack: dict[str, ServiceProcess], field: str, name: str
) -> None:
    value = HOSTILE[name]
    if field == "sku":
        body = cart() | {"items": [{"sku": value, "quantity": 1}]}
    elif field == "unknown field":
        body = cart() | {value[:100]: value}
    else:
        body = cart() | {field: value}

    answer = post_json(url(stack, "storefront"), "/api/checkouts", body, buyer(stack))

    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    answer.text.encode("utf-8")  # whatever it says is valid UTF-8


@pytest.mark.parametrize("name", HOSTILE)
def test_no_string_in_a_seller_body_makes_a_server_error(
    storefront_seller: httpx.Client, console: httpx.Client, name: str
) -> None:
    value = HOSTILE[name]
    answers = [
        post_json(str(storefront_seller.base_url), "/api/seller/rooms", {"title": value},
                  dict(storefront_seller.headers), cookies=storefront_seller.cookies),
        post_json(str(storefront_seller.base_url), f"/api/seller/rooms/{DEMO_ROOM_ID}/pins",
                  {"sku": value}, dict(storefront_seller.headers),
                  cookies=storefront_seller.cookies),
        post_json(str(console.base_url), "/api/seller/products",
                  {"sku": value, "title": value, "price_minor": 1}, dict(console.headers),
                  cookies=console.cookies),
        post_json(str(console.base_url), "/api/seller/session",
                  {"email": value, "password": value}, {}),
        post_json(str(console.base_url), "/api/seller/products", {value[:50]: 1},
                  dict(console.headers), cookies=console.cookies),
    ]  # fmt: skip

    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.url, answer.status_code, answer.text[:300])


def _targets(stack: dict[str, ServiceProcess], raw: bytes) -> list[tuple[str, bytes, bytes, bytes]]:
    """(service, method, request target, header lines) carrying `raw` in a path, a query
    string or a header, where the service reads it."""
    token = buyer(stack)["Authorization"].encode()
    path, raw = raw, raw.replace(b"%00", b"\x00")  # a header has no %-escapes: the NUL itself
    sse = b"Last-Event-ID: " + raw + b"\r\nCookie: livecart_buyer=" + raw + b"\r\n"
    return [
        ("storefront", b"GET", b"/api/rooms/" + path, b""),
        ("storefront", b"GET", b"/rooms/" + path, b""),
        ("storefront", b"POST", b"/api/checkouts", b"Authorization: Bearer " + raw + b"\r\n"),
        ("storefront", b"POST", b"/api/checkouts?x=" + path,
         b"Authorization: " + token + b"\r\nIdempotency-Key: " + raw + b"\r\n"),
        ("storefront", b"GET", b"/api/seller/rooms/" + path, b"Cookie: livecart_seller=" + raw
         + b"\r\n"),
        ("storefront", b"POST", b"/api/seller/rooms", b"X-CSRF-Token: " + raw + b"\r\n"),
        ("orders", b"GET", b"/api/seller/products/" + path, b"Cookie: livecart_seller=" + raw
         + b"\r\n"),
        ("orders", b"GET", b"/api/seller/orders?status=" + path, b""),
        ("orders", b"GET", b"/seller/login?next=" + path, b""),
        ("notifier", b"GET", b"/events/rooms/" + path, b""),
        ("notifier", b"GET", b"/events/rooms/demo?skus=" + path, b""),
        ("notifier", b"GET", b"/events/buyers/me?token=" + path, sse),
        ("notifier", b"GET", b"/events/buyers/me", b"Authorization: Bearer " + raw + b"\r\n"),
        ("notifier", b"GET", b"/events/checkouts/" + path, b"Authorization: " + token + b"\r\n"),
        ("notifier", b"GET", b"/events/buyers/me?after=" + path,
         b"Authorization: " + token + b"\r\nLast-Event-ID: " + raw + b"\r\n"),
    ]  # fmt: skip


@pytest.mark.parametrize("name", RAW)
def test_no_bytes_in_a_path_query_or_header_make_a_server_error(
    stack: dict[str, ServiceProcess], name: str
) -> None:
    body = json.dumps(cart()).encode()
    answers = [
        (service, target[:60], raw_status(url(stack, service), target, headers, method=method,
                                          body=body if method == b"POST" else b""))
        for service, method, target, headers in _targets(stack, RAW[name])
    ]  # fmt: skip

    assert [answer for answer in answers if answer[2] >= 500] == []
    # Each of these reads the hostile part and refuses it (the login page ignores a
    # `next` it cannot use, and shows the form).
    refused = [answer for answer in answers if b"/seller/login" not in answer[1]]
    assert [answer for answer in refused if not 400 <= answer[2] < 500] == []


def test_a_nul_byte_in_a_header_is_refused_before_any_service_sees_it(
    stack: dict[str, ServiceProcess],
) -> None:
    for service in ("storefront", "orders", "notifier"):
        status = raw_status(url(stack, service), b"/ready", b"X-Edge: a\x00b\r\n")
        assert 400 <= status < 500


# ---- unknown rooms ----------------------------------------------------------------------


def room_stream_status(stack: dict[str, ServiceProcess], room_id: str) -> tuple[int, str]:
    """The status of the room's event stream, and the first bytes it sent."""
    with httpx.stream(
        "GET", f"{url(stack, 'notifier')}/events/rooms/{room_id}", timeout=10
    ) as answer:
        first = next(answer.iter_text(), "")
        return answer.status_code, first


def test_a_room_nobody_announced_is_404_while_the_demo_room_streams(
    stack: dict[str, ServiceProcess],
) -> None:
    nope = httpx.get(f"{url(stack, 'notifier')}/events/rooms/nope", timeout=10)
    demo_status, demo_first = room_stream_status(stack, DEMO_ROOM_ID)

    assert nope.status_code == 404
    assert nope.json()["reason"] == "room_not_found"
    assert demo_status == 200
    assert "snapshot" in demo_first


def test_a_room_a_seller_just_created_streams_at_once(
    stack: dict[str, ServiceProcess], storefront_seller: httpx.Client
) -> None:
    made = storefront_seller.post("/api/seller/rooms", json={"title": "Edges live"})
    assert made.status_code == 201, made.text

    status, first = room_stream_status(stack, made.json()["room_id"])

    assert status == 200
    assert "snapshot" in first
