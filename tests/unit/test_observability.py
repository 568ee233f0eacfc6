"""Logs carry the checkout's correlation id; tracing turns on only with an OTLP endpoint."""

import io
import json
import logging

import pytest
from faststream.redis.opentelemetry import RedisTelemetryMiddleware

from services.common.logs import configure_logging, correlated
from services.common.tracing import ENDPOINT_VARIABLE, tracing_middlewares


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
