"""What `make up` runs and where: ports, the services' environment, the printed summary."""

import json
import shlex
from pathlib import Path

import pytest

from infra.local.stack_acl import RedisAccess, operations_hint
from infra.local.stack_config import (
    DEFAULT_REDIS_URL,
    SERVICES,
    ConfigError,
    RunPaths,
    checkout_partitions,
    demo_checkout_body,
    requested_redis_url,
    resolve_ports,
    service_environment,
    summary,
)
from infra.local.stack_replicas import (
    Replica,
    load_replicas,
    plan_replicas,
    recorded_processes,
    resolve_scale,
    save_replicas,
    shared_sqlite_note,
    urls_by_service,
)
from infra.local.stack_sellers import demo_seller_login, local_http_cookies, seed_environment
from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID

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


# ---- replicas: `make up SCALE_ORDERS=3 SCALE_NOTIFIER=2 SCALE_STOREFRONT=2` ---------------


def names_and_ports(replicas: list[Replica]) -> list[tuple[str, int]]:
    return [(r.name, r.port) for r in replicas]


def test_one_process_per_service_when_no_scale_is_set() -> None:
    assert resolve_scale({}) == {"storefront": 1, "notifier": 1, "orders": 1}
    assert names_and_ports(plan_replicas({})) == [
        ("orders", 8002),
        ("notifier", 8001),
        ("storefront", 8000),
    ]


def test_replica_k_listens_ten_ports_up_per_replica_and_is_named_after_its_number() -> None:
    environ = {"SCALE_ORDERS": "3", "SCALE_NOTIFIER": "2", "SCALE_STOREFRONT": "2"}
    assert names_and_ports(plan_replicas(environ)) == [
        ("orders", 8002),
        ("orders-2", 8012),
        ("orders-3", 8022),
        ("notifier", 8001),
        ("notifier-2", 8011),
        ("storefront", 8000),
        ("storefront-2", 8010),
    ]


def test_replicas_follow_a_moved_port() -> None:
    replicas = plan_replicas({"ORDERS_PORT": "9000", "SCALE_ORDERS": "2"})
    assert [r.port for r in replicas if r.service.name == "orders"] == [9000, 9010]


@pytest.mark.parametrize("value", ["0", "10", "two", "-1", "1.5"])
def test_a_scale_that_is_not_a_process_count_is_refused_with_its_variable_named(
    value: str,
) -> None:
    with pytest.raises(ConfigError, match="SCALE_NOTIFIER"):
        plan_replicas({"SCALE_NOTIFIER": value})


def test_replicas_that_would_share_a_port_are_refused() -> None:
    with pytest.raises(ConfigError, match="notifier-2 and orders would share port 8011"):
        plan_replicas({"ORDERS_PORT": "8011", "SCALE_NOTIFIER": "2"})
    with pytest.raises(ConfigError, match="past 65535"):
        plan_replicas({"ORDERS_PORT": "65530", "SCALE_ORDERS": "2"})


def test_each_replica_gets_its_own_port_in_the_shared_environment() -> None:
    orders_2 = plan_replicas({"SCALE_ORDERS": "2"})[1]
    env = orders_2.environment({"ORDERS_PORT": "8002", "REDIS_URL": "redis://r/0"})
    assert env == {"ORDERS_PORT": "8012", "REDIS_URL": "redis://r/0"}


def test_the_storefront_is_told_every_notifier_when_there_are_several() -> None:
    urls = ["http://localhost:8001", "http://localhost:8011"]
    env = service_environment(
        {}, redis_url=DEFAULT_REDIS_URL, ports=DEFAULT_PORTS, notifier_urls=urls
    )
    assert env["NOTIFIER_PUBLIC_URLS"] == "http://localhost:8001,http://localhost:8011"
    assert env["NOTIFIER_PUBLIC_URL"] == "http://localhost:8001"
    one = service_environment(
        {}, redis_url=DEFAULT_REDIS_URL, ports=DEFAULT_PORTS, notifier_urls=urls[:1]
    )
    assert "NOTIFIER_PUBLIC_URLS" not in one


def test_a_notifier_url_set_by_the_caller_wins_over_the_local_replicas() -> None:
    urls = ["http://localhost:8001", "http://localhost:8011"]
    for caller in (
        {"NOTIFIER_PUBLIC_URL": "https://live.example/notify"},
        {"NOTIFIER_PUBLIC_URLS": "https://a.example,https://b.example"},
    ):
        env = service_environment(
            caller, redis_url=DEFAULT_REDIS_URL, ports=DEFAULT_PORTS, notifier_urls=urls
        )
        assert env.get("NOTIFIER_PUBLIC_URLS") == caller.get("NOTIFIER_PUBLIC_URLS")


def test_the_summary_lists_every_replica_of_a_scaled_service() -> None:
    replicas = plan_replicas({"SCALE_ORDERS": "3", "SCALE_NOTIFIER": "2"})
    text = summary(
        ports=DEFAULT_PORTS, redis_url="redis://x:1/0", stream_prefix="lc", logs=Path("/r/logs"),
        replica_urls=urls_by_service(replicas),
    )  # fmt: skip
    orders_line = next(line for line in text.splitlines() if "orders x3" in line)
    for port in (8002, 8012, 8022):
        assert f"http://localhost:{port}" in orders_line
    notifier_line = next(line for line in text.splitlines() if "notifier x2" in line)
    assert "http://localhost:8011" in notifier_line
    assert "storefront x" not in text, "a service with one process keeps its usual lines only"


def test_status_finds_the_replicas_the_last_up_recorded(tmp_path: Path) -> None:
    record = tmp_path / "replicas.json"
    assert load_replicas(record) is None
    replicas = plan_replicas({"SCALE_ORDERS": "3", "ORDERS_PORT": "9002"})
    save_replicas(record, replicas)
    assert load_replicas(record) == replicas
    record.write_text("not json")
    assert load_replicas(record) is None


def test_down_stops_every_recorded_process_storefronts_first_newest_replica_first() -> None:
    files = [
        Path(f"/run/pids/{name}.pid")
        for name in ("orders", "orders-3", "orders-2", "notifier", "redis", "storefront",
                     "notifier-2", "orders-x", "ordersmith")
    ]  # fmt: skip
    assert [name for name, _ in recorded_processes(files)] == [
        "storefront",
        "notifier-2",
        "notifier",
        "orders-3",
        "orders-2",
        "orders",
    ]


def test_up_says_when_orders_replicas_share_one_sqlite_file() -> None:
    three = plan_replicas({"SCALE_ORDERS": "3"})
    note = shared_sqlite_note({}, three)
    assert note is not None
    assert "3 orders processes share the SQLite file run/orders.db" in note
    assert "postgresql+asyncpg://" in note
    postgres = {"ORDERS_DATABASE_URL": "postgresql+asyncpg://lc@db/orders"}
    assert shared_sqlite_note(postgres, three) is None
    assert shared_sqlite_note({"DATABASE_URL": "postgresql+asyncpg://lc@db/x"}, three) is None
    assert shared_sqlite_note({}, plan_replicas({})) is None


def test_up_names_the_checkout_partitions_and_passes_them_to_livecart_ops() -> None:
    partitions = checkout_partitions({"LIVECART_CHECKOUT_PARTITIONS": "4"})
    text = summary(
        ports={"storefront": 8000, "notifier": 8001, "orders": 8002},
        redis_url="redis://localhost:6379/0",
        stream_prefix="lc",
        logs=Path("run/logs"),
        operations=operations_hint(
            RedisAccess("redis://localhost:6379/0"), stream_prefix="lc",
            checkout_partitions=partitions,
        ),
        checkout_partitions=partitions,
    )  # fmt: skip

    assert "(stream prefix 'lc', 4 checkout partitions)" in text
    assert "livecart-ops finds prefix 'lc', 4 checkout partitions and this Redis" in text
    assert checkout_partitions({}) == 1
    assert checkout_partitions({"LIVECART_CHECKOUT_PARTITIONS": "x"}) == 1


def test_the_summary_gives_the_seller_pages_and_the_demo_sellers_login() -> None:
    ports = {"storefront": 18000, "notifier": 18001, "orders": 18002}
    login = ("mia@demo.livecart.test", "s3cret-demo-pw", Path("/r/run/seller-login.txt"))
    text = summary(
        ports=ports, redis_url="redis://x:1/0", stream_prefix="p", logs=Path("/l"),
        seller_login=login,
    )  # fmt: skip
    for expected in (
        "http://localhost:18000/seller",
        "http://localhost:18002/seller",
        "http://localhost:18000/rooms/demo/dashboard",
        "mia@demo.livecart.test / s3cret-demo-pw",
        "/r/run/seller-login.txt",
    ):
        assert expected in text


def test_the_demo_sellers_password_is_made_once_kept_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "run" / "seller-login.txt"
    first = demo_seller_login(path, {})
    again = demo_seller_login(path, {})
    assert first.password == again.password
    assert len(first.password) >= 12
    assert path.stat().st_mode & 0o777 == 0o600
    chosen = demo_seller_login(path, {"LIVECART_DEMO_SELLER_PASSWORD": "chosen-by-me-123"})
    assert chosen.password == "chosen-by-me-123"
    assert seed_environment({"A": "1"}, chosen) == {
        "A": "1",
        "LIVECART_DEMO_SELLER_PASSWORD": "chosen-by-me-123",
    }


def test_local_http_makes_seller_and_buyer_cookies_not_secure_unless_the_caller_says() -> None:
    env: dict[str, str] = {}
    local_http_cookies(env)
    assert env["LIVECART_SELLER_COOKIE_SECURE"] == "false"
    assert env["LIVECART_BUYER_COOKIE_SECURE"] == "false"
    kept = {"LIVECART_SELLER_COOKIE_SECURE": "true", "LIVECART_BUYER_COOKIE_SECURE": "true"}
    local_http_cookies(kept)
    assert kept == {"LIVECART_SELLER_COOKIE_SECURE": "true", "LIVECART_BUYER_COOKIE_SECURE": "true"}


def test_the_notifier_lets_every_local_storefront_open_its_streams_with_the_cookie() -> None:
    one = service_environment({}, redis_url=DEFAULT_REDIS_URL, ports=DEFAULT_PORTS)
    assert one["NOTIFIER_CORS_ORIGINS"] == "http://localhost:8000,http://127.0.0.1:8000"
    urls = urls_by_service(plan_replicas({"SCALE_STOREFRONT": "2"}))["storefront"]
    two = service_environment(
        {}, redis_url=DEFAULT_REDIS_URL, ports=DEFAULT_PORTS, storefront_urls=urls
    )
    assert two["NOTIFIER_CORS_ORIGINS"].split(",") == [
        "http://localhost:8000", "http://127.0.0.1:8000",
        "http://localhost:8010", "http://127.0.0.1:8010",
    ]  # fmt: skip
    mine = {"NOTIFIER_CORS_ORIGINS": "https://shop.example"}
    kept = service_environment(mine, redis_url=DEFAULT_REDIS_URL, ports=DEFAULT_PORTS)
    assert kept["NOTIFIER_CORS_ORIGINS"] == "https://shop.example"


def test_the_summary_watches_a_checkout_with_the_token_in_a_header_not_the_url() -> None:
    text = summary(ports=DEFAULT_PORTS, redis_url="redis://x:1/0", stream_prefix="lc",
                   logs=Path("/r/logs"))  # fmt: skip
    assert "curl -N -H \"Authorization: Bearer $TOKEN\" '<events_url>'" in text
    assert "token=" not in text
