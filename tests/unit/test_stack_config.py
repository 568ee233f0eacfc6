"""What `make up` runs and where: ports, the services' environment, the printed summary."""

import json
import shlex
from pathlib import Path

import pytest

from infra.local.demo import DEMO_PRODUCTS, DEMO_ROOM_ID
from infra.local.stack_config import (
    DEFAULT_REDIS_URL,
    SERVICES,
    ConfigError,
    RunPaths,
    demo_checkout_body,
    requested_redis_url,
    resolve_ports,
    service_environment,
    summary,
)

DEFAULT_PORTS = {"storefront": 8000, "notifier": 8001, "orders": 8002}


def test_every_service_gets_its_documented_port_when_nothing_is_set() -> None:
    assert resolve_ports({}) == DEFAULT_PORTS


def test_a_port_variable_moves_only_its_own_service() -> None:
    ports = resolve_ports({"NOTIFIER_PORT": "18001", "STOREFRONT_PORT": " "})
    assert ports == {**DEFAULT_PORTS, "notifier": 18001}


@pytest.mark.parametrize("value", ["eighty", "-1", "0", "65536", "80.5"])
def test_a_port_that_is_not_a_tcp_port_is_refused_with_its_variable_named(value: str) -> None:
    with pytest.raises(ConfigError, match="ORDERS_PORT"):
        resolve_ports({"ORDERS_PORT": value})


def test_two_services_on_one_port_are_refused() -> None:
    with pytest.raises(ConfigError, match="share a port"):
        resolve_ports({"ORDERS_PORT": "8000"})


def test_redis_url_defaults_to_localhost_when_unset_or_blank() -> None:
    assert requested_redis_url({}) == DEFAULT_REDIS_URL == "redis://localhost:6379/0"
    assert requested_redis_url({"REDIS_URL": ""}) == DEFAULT_REDIS_URL
    assert requested_redis_url({"REDIS_URL": "redis://r:6380/2"}) == "redis://r:6380/2"


def test_services_get_the_redis_in_use_every_port_and_the_notifier_public_url() -> None:
    caller = {"REDIS_URL": "redis://localhost:6379/0", "LIVECART_STREAM_PREFIX": "lc-try"}
    ports = {**DEFAULT_PORTS, "notifier": 18001}
    env = service_environment(caller, redis_url="redis://127.0.0.1:40001/0", ports=ports)
    assert env["REDIS_URL"] == "redis://127.0.0.1:40001/0"
    assert (env["STOREFRONT_PORT"], env["NOTIFIER_PORT"], env["ORDERS_PORT"]) == (
        "8000",
        "18001",
        "8002",
    )
    assert env["NOTIFIER_PUBLIC_URL"] == "http://localhost:18001"
    assert env["LIVECART_STREAM_PREFIX"] == "lc-try"
    assert caller["REDIS_URL"] == "redis://localhost:6379/0", "the caller's mapping is untouched"


def test_a_notifier_public_url_set_by_the_caller_is_kept() -> None:
    env = service_environment(
        {"NOTIFIER_PUBLIC_URL": "https://live.example/notify"},
        redis_url=DEFAULT_REDIS_URL,
        ports=DEFAULT_PORTS,
    )
    assert env["NOTIFIER_PUBLIC_URL"] == "https://live.example/notify"


def test_the_demo_checkout_buys_one_demo_product_in_the_demo_room() -> None:
    body = json.loads(demo_checkout_body())
    assert body["room_id"] == DEMO_ROOM_ID
    assert [item["sku"] for item in body["items"]] == ["LC-MUG-LIVE"]
    assert "LC-MUG-LIVE" in {product.sku for product in DEMO_PRODUCTS}


def test_the_summary_points_at_the_configured_ports_and_its_curl_can_be_pasted() -> None:
    ports = {"storefront": 18000, "notifier": 18001, "orders": 18002}
    text = summary(
        ports=ports, redis_url="redis://x:1/0", stream_prefix="lc-try", logs=Path("/r/run/logs")
    )
    for url in (
        "http://localhost:18000/rooms/demo",
        "http://localhost:18000/api/rooms/demo",
        "http://localhost:18001/events/checkouts/<checkout_id>",
        "http://localhost:18002/health",
        "http://localhost:18002/metrics",
        "redis://x:1/0",
        "/r/run/logs",
    ):
        assert url in text
    curl = next(line.strip() for line in text.splitlines() if "/api/checkouts" in line)
    words = shlex.split(curl)
    assert "http://localhost:18000/api/checkouts" in words
    assert json.loads(words[words.index("-d") + 1]) == json.loads(demo_checkout_body())
    assert "Authorization: Bearer $TOKEN" in words
    assert "http://localhost:18000/api/sessions" in text


def test_all_local_state_lives_under_run() -> None:
    paths = RunPaths(Path("/repo/run"))
    assert paths.log("orders") == Path("/repo/run/logs/orders.log")
    assert paths.pid("redis") == Path("/repo/run/pids/redis.pid")
    assert paths.redis_data == Path("/repo/run/redis")
    assert {service.module for service in SERVICES} == {
        "services.storefront",
        "services.orders",
        "services.notifier",
    }
