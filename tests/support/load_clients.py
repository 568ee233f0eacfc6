"""Buyers over HTTP for load drivers: sessions, taps on buy, and the notifier's SSE streams
that bring their order statuses back, each stamped with `time.perf_counter()`.

Only the public HTTP and SSE APIs are used, as a browser would: no service is imported.
"""

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

FINAL_NAMES = frozenset({"confirmed", "rejected", "expired"})
# A cheap look before json.loads: most events on a buyer stream are not final.
_FINAL_MARKS = tuple(f'"{name}"'.encode() for name in FINAL_NAMES)


@dataclass(frozen=True, slots=True)
class BuyerSession:
    buyer_id: str
    token: str


@dataclass(frozen=True, slots=True)
class FinalStatus:
    """A final status as it arrived on SSE; `at` is `time.perf_counter()` at arrival."""

    checkout_id: str
    status: str
    reason: str | None
    at: float


@dataclass(frozen=True, slots=True)
class TapAnswer:
    """One `POST /api/checkouts`: when it was sent and answered, the HTTP status (0 when
    no answer came: connection error or timeout) and the checkout id of a 202."""

    sent_at: float
    answered_at: float
    http_status: int
    checkout_id: str | None


async def open_session(http: aiohttp.ClientSession, storefront_url: str) -> BuyerSession:
    """A new buyer: `POST /api/sessions`."""
    async with http.post(f"{storefront_url}/api/sessions") as answer:
        answer.raise_for_status()
        body = await answer.json()
    return BuyerSession(buyer_id=body["buyer_id"], token=body["token"])


async def tap_buy(
    http: aiohttp.ClientSession,
    storefront_url: str,
    buyer: BuyerSession,
    *,
    room_id: str,
    sku: str,
    quantity: int = 1,
) -> TapAnswer:
    """One tap on buy, with a fresh idempotency key as the room page sends."""
    body = {
        "room_id": room_id,
        "items": [{"sku": sku, "quantity": quantity}],
        "idempotency_key": uuid.uuid4().hex,
    }
    headers = {"Authorization": f"Bearer {buyer.token}"}
    sent = time.perf_counter()
    try:
        async with http.post(
            f"{storefront_url}/api/checkouts", json=body, headers=headers
        ) as answer:
            accepted = await answer.json() if answer.status == 202 else None
            await answer.read()
            answered, status = time.perf_counter(), answer.status
    except (aiohttp.ClientError, TimeoutError):
        return TapAnswer(sent, time.perf_counter(), 0, None)
    return TapAnswer(sent, answered, status, accepted["checkout_id"] if accepted else None)


def buyer_stream_url(notifier_url: str) -> str:
    return f"{notifier_url}/events/buyers/me"


def checkout_stream_url(notifier_url: str, checkout_id: str) -> str:
    return f"{notifier_url}/events/checkouts/{quote(checkout_id)}"


async def follow_finals(
    http: aiohttp.ClientSession,
    url: str,
    buyer: BuyerSession,
    on_final: Callable[[FinalStatus], None],
    *,
    last_event_id: str | None = None,
    on_open: Callable[[], None] | None = None,
) -> str | None:
    """Read `buyer`'s SSE stream at `url` (the token in the header, never in the URL),
    calling `on_final` for each final status, until the server ends it (a checkout stream
    ends after its final status; a buyer stream when the connection drops). Returns the
    last event id seen, for a resume."""
    headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {buyer.token}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    async with http.get(url, headers=headers) as answer:
        if answer.status == 204:  # that checkout's final status was already seen
            return last_event_id
        answer.raise_for_status()
        if on_open is not None:
            on_open()
        # Whole chunks, not line by line: a buyer stream carries ~16 lines per checkout.
        pending = b""
        async for chunk in answer.content.iter_any():
            at = time.perf_counter()
            lines, newline, pending = (pending + chunk).rpartition(b"\n")
            if not newline:
                pending = lines + pending
                continue
            last_event_id = _read_lines(lines, at, on_final) or last_event_id
    return last_event_id


def _read_lines(lines: bytes, at: float, on_final: Callable[[FinalStatus], None]) -> str | None:
    """Call `on_final` for each final status among complete SSE `lines`; the last id."""
    last_id = None
    for line in lines.split(b"\n"):
        if line.startswith(b"id:"):
            last_id = line[3:].strip().decode()
        elif line.startswith(b"data:") and any(mark in line for mark in _FINAL_MARKS):
            status = json.loads(line[5:])
            if status.get("status") in FINAL_NAMES and "checkout_id" in status:
                checkout_id, reason = status["checkout_id"], status.get("reason")
                on_final(FinalStatus(checkout_id, status["status"], reason, at))
    return last_id
