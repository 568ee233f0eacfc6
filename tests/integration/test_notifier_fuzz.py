"""Fuzz every route of the notifier's OpenAPI document (schemathesis), with a buyer token
and, where a route takes one, without: whatever a client sends, the answer is never a 5xx
and never shows a traceback. A status stream runs forever, so of an SSE answer only its
status line and headers are checked; refusals and every other answer are checked whole."""

import secrets
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from schemathesis.checks import status_code_conformance

from contracts import RoomChanged, RoomChangedEvent, Streams, encode_entry
from services.common.tokens import BuyerTokens
from tests.support.fuzz import (
    ANONYMOUS,
    Credentials,
    assert_log_clean,
    fuzz_operations,
    new_seller_password,
    operations,
    service_alone,
)
from tests.support.stack import ServiceProcess

# Hundreds of requests against a real process: more than the suite's default 120 s on a
# busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

SECRET = secrets.token_urlsafe(32)
ROOM_ID = "fuzz-room"
KNOWN = {"room_id": ROOM_ID}
"""A room the storefront announced: its stream opens (an unknown room's is a 404)."""


@pytest.fixture(scope="module")
def notifier(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[ServiceProcess]:
    def announce_the_room(streams: Streams) -> None:
        room = RoomChanged(room_id=ROOM_ID, state="live", skus=["LC-MUG-LIVE"])
        event = RoomChangedEvent.new(correlation_id=ROOM_ID, producer="test", data=room)
        with redis.Redis.from_url(redis_url) as client:
            client.xadd(streams.room_changed, encode_entry(event))

    workdir = tmp_path_factory.mktemp("fuzz-notifier")
    with service_alone(
        "notifier", redis_url=redis_url, workdir=workdir, seller_password=new_seller_password(),
        seed=False, prepare=announce_the_room, LIVECART_TOKEN_SECRET=SECRET,
    ) as service:  # fmt: skip
        yield service


def test_no_input_makes_the_notifier_answer_5xx_or_show_a_traceback(
    notifier: ServiceProcess,
) -> None:
    every = operations(notifier)
    paths = {op.path for op in every}
    assert {
        "/events/buyers/me",
        "/events/checkouts/{checkout_id}",
        "/events/rooms/{room_id}",
    } <= paths
    token = BuyerTokens(SECRET, ttl=timedelta(hours=1)).issue("buyer-fuzz")
    buyer = Credentials(headers={"Authorization": f"Bearer {token}"})

    signed_in = fuzz_operations(
        every, lambda: buyer, max_examples=25, known=KNOWN, checks=[status_code_conformance]
    )
    # The token's own parsing: each route that takes one, with whatever comes generated.
    takes_a_token = [op for op in every if "401" in op.definition.raw.get("responses", {})]
    anonymous = fuzz_operations(
        takes_a_token, lambda: ANONYMOUS, max_examples=25, checks=[status_code_conformance]
    )

    # The streams opened (200) with the token, and were refused (401) without.
    assert 200 in signed_in["GET /events/buyers/me"], signed_in
    assert 200 in signed_in["GET /events/rooms/{room_id}"], signed_in
    assert 401 in anonymous["GET /events/buyers/me"], anonymous
    assert_log_clean(notifier)
