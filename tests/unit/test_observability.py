"""Logs carry the checkout's correlation id; tracing turns on only with an OTLP endpoint."""

import io
import json
import logging

import pytest
from fastapi import FastAPI
from faststream.redis.opentelemetry import RedisTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider

from services.common import tracing
from services.common.logs import configure_logging, correlated
from services.common.tracing import ENDPOINT_VARIABLE, http_telemetry, tracing_middlewares


def test_json_log_lines_carry_the_correlation_id_of_the_checkout_being_handled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(service="orders", level="INFO", json_lines=True)
    log = logging.getLogger("livecart.test")
    with correlated("co-123"):
        log.warning("reserved")
    log.warning("idle")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["correlation_id"], first["service"], first["message"]) == (
        "co-123", "orders", "reserved",
    )  # fmt: skip
    assert second["correlation_id"] is None
    logging.getLogger().handlers.clear()
    logging.getLogger().setLevel(logging.WARNING)


def test_tracing_is_off_without_an_endpoint_and_on_with_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENDPOINT_VARIABLE, raising=False)
    assert tracing_middlewares("orders") == []
    monkeypatch.setenv(ENDPOINT_VARIABLE, "http://127.0.0.1:4318")
    (middleware,) = tracing_middlewares("orders")
    assert isinstance(middleware, RedisTelemetryMiddleware)


def test_http_telemetry_is_off_without_an_endpoint_and_shares_the_brokers_provider_with_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENDPOINT_VARIABLE, raising=False)
    off = http_telemetry("storefront")
    assert FastAPI(telemetry=off)._native_telemetry.enabled() is False
    monkeypatch.setenv(ENDPOINT_VARIABLE, "http://127.0.0.1:4318")
    on = http_telemetry("storefront")
    provider = on["tracer_provider"]
    try:
        assert isinstance(provider, TracerProvider)
        assert provider.resource.attributes["service.name"] == "livecart-storefront"
        assert http_telemetry("storefront")["tracer_provider"] is provider  # one per process
        assert FastAPI(telemetry=on)._native_telemetry.enabled() is True
    finally:
        provider.shutdown()
        tracing._tracer_provider.cache_clear()
