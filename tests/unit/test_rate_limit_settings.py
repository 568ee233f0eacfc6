"""The rate limits' settings: `limits` syntax or `off`, checked when the settings are read
(a service with a bad one refuses to start), the 429 answer's words, and `make up`'s
demo limits."""

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from contracts import Streams
from infra.local.stack_config import DEMO_RATE_LIMITS, service_environment
from services.common.rate_limits import (
    RateLimit,
    RateLimited,
    SharedRateLimits,
    install_rate_limits,
    parse_rate_limit,
    redis_storage,
)
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.app import create_app as notifier_app
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.app import create_app as storefront_app

PORTS = {"storefront": 8000, "notifier": 8001, "orders": 8002}


def test_the_defaults_are_the_production_limits() -> None:
    storefront, notifier = StorefrontSettings(), NotifierSettings()

    assert storefront.rate_limit_sessions_per_address == "20/minute"
    assert storefront.rate_limit_checkouts_per_buyer == "10/10 seconds"
    assert storefront.rate_limit_checkouts_per_address == "300/minute"
    assert storefront.rate_limit_cancellations_per_buyer == "10/minute"
    assert notifier.rate_limit_connects_per_address == "60/minute"


def test_each_limit_is_read_from_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STOREFRONT_RATE_LIMIT_CHECKOUTS_PER_BUYER", "5 per 30 seconds")
    monkeypatch.setenv("STOREFRONT_RATE_LIMIT_SESSIONS_PER_ADDRESS", "OFF")
    monkeypatch.setenv("NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS", " 100/hour ")

    storefront, notifier = StorefrontSettings(), NotifierSettings()

    checkouts = parse_rate_limit(storefront.rate_limit_checkouts_per_buyer)
    assert checkouts is not None
    assert (checkouts.amount, checkouts.get_expiry()) == (5, 30)
    assert parse_rate_limit(storefront.rate_limit_sessions_per_address) is None
    assert notifier.rate_limit_connects_per_address == "100/hour"


@pytest.mark.parametrize(
    "bad", ["20/fortnight", "twenty/minute", "0/minute", "1/second;5/minute", "", "-1/minute"]
)
def test_a_bad_limit_refuses_the_settings_and_says_how_to_write_one(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("STOREFRONT_RATE_LIMIT_CHECKOUTS_PER_ADDRESS", bad)

    with pytest.raises(ValidationError) as refused:
        StorefrontSettings()

    message = str(refused.value)
    assert "rate_limit_checkouts_per_address" in message
    assert "is not a rate limit" in message
    assert "`20/minute`" in message


def test_the_notifier_refuses_a_bad_limit_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS", "lots")

    with pytest.raises(ValidationError, match="is not a rate limit"):
        NotifierSettings()


def test_the_counters_live_under_the_stream_prefix() -> None:
    streams = Streams("lc-test")

    assert streams.rate_limits == "lc-test:ratelimit"
    assert streams.rate_limit_pattern == "lc-test:ratelimit:*"
    storage = redis_storage(StorefrontSettings(stream_prefix="lc-test"))
    assert storage.bridge.prefixed_key("x") == "lc-test:ratelimit:x"


async def test_a_limit_turned_off_never_asks_redis() -> None:
    # Nothing listens on port 1: a check that asked Redis would be let through unchecked.
    settings = StorefrontSettings(redis_url="redis://127.0.0.1:1/0")
    limits = SharedRateLimits(redis_storage(settings), [RateLimit.of("x", "x", "off")])
    for _ in range(100):
        await limits.hit("x", "127.0.0.1")
    await limits.close()


async def test_a_refusal_is_429_with_retry_after_and_the_limit_in_words() -> None:
    app = FastAPI()
    install_rate_limits(app, SharedRateLimits(redis_storage(StorefrontSettings()), []))
    checkouts = RateLimit.of("checkouts_per_buyer", "checkouts by one buyer", "10/10 seconds")

    @app.post("/limited")
    async def limited() -> None:
        raise RateLimited(checkouts, retry_after=7)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app.test") as client:
        answer = await client.post("/limited")

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json() == {
        "detail": "too many requests: at most 10 checkouts by one buyer per 10 seconds; "
        "retry in 7 s",
        "reason": "rate_limited",
    }


def test_make_up_sets_demo_limits_unless_the_caller_set_its_own() -> None:
    env = service_environment(
        {"NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS": "off"},
        redis_url="redis://localhost:6379/0",
        ports=PORTS,
    )

    assert env["NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS"] == "off"
    for variable, limit in DEMO_RATE_LIMITS.items():
        if variable != "NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS":
            assert env[variable] == limit
            assert parse_rate_limit(limit) is not None


def test_every_limited_route_documents_its_429() -> None:
    notifier = notifier_app(NotifierSettings()).openapi()["paths"]
    storefront = storefront_app(StorefrontSettings()).openapi()["paths"]

    events = [path for path in notifier if path.startswith("/events/")]
    assert len(events) == 3
    for path in events:
        assert "429" in notifier[path]["get"]["responses"], path
    for path in ("/api/sessions", "/api/checkouts", "/api/checkouts/{checkout_id}/cancellation"):
        assert "429" in storefront[path]["post"]["responses"], path
