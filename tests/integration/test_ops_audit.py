"""The separation audit on a real setup: a redis-server with the rendered ACL, the orders
service run as its own ACL user with real checkouts published as the storefront user, and a
storefront DB created by the storefront's own metadata. It passes; each deliberately broken
rule fails it, naming the check."""

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from contracts import Streams
from services.common.db import make_engine
from services.common.seller_auth import hash_password, token_digest
from services.common.streams.broker import redis_client
from services.ops import acl
from services.ops.audit import AuditReport, AuditSettings, run_audit
from services.ops.checks.result import Outcome
from services.ops.config import OpsConfig
from services.orders.adapters.payments import WalletBehaviour
from tests.conftest import Database
from tests.integration.test_ops_support import (
    AclRedis,
    acl_redis,
    acl_redis_cluster,
    ops,
    publish,
    storefront_database,
)
from tests.support.flow import checkout, final_statuses
from tests.support.orders import orders_settings, running_orders


@dataclass(frozen=True)
class AuditedStack:
    redis: AclRedis
    orders_db: Database
    storefront_db: str
    confirmed: list[str]

    @property
    def config(self) -> OpsConfig:
        return OpsConfig(
            redis_url=self.redis.url_as("ops"),
            prefix=self.redis.prefix,
            orders_db=self.orders_db.url,
            orders_schema=self.orders_db.schema,
            storefront_db=self.storefront_db,
            acl_passwords=self.redis.passwords,
            checkout_partitions=self.redis.partitions,
            redis_cluster=self.redis.cluster,
        )

    async def audit(self) -> AuditReport:
        return await run_audit(AuditSettings(self.config))


@contextlib.asynccontextmanager
async def audited_stack(
    tmp_path: Path,
    database: Database,
    prefix: str,
    *,
    partitions: int = 1,
    cluster: bool = False,
    skus: tuple[str, str, str] = ("SKU-A", "SKU-A", "SKU-A"),
) -> AsyncIterator[AuditedStack]:
    """Three checkouts served (two confirmed, one declined) on a Redis with the ACL (a Redis
    Cluster with `cluster`), split over `partitions` by their `skus`."""
    directory = tmp_path / "redis"
    with (
        acl_redis_cluster(directory, prefix, partitions=partitions)
        if cluster
        else acl_redis(directory, prefix, partitions=partitions)
    ) as server:
        items = [checkout(items=[(sku, 1)]) for sku in skus]
        settings_ = orders_settings(
            database,
            server.url_as("orders"),
            prefix,
            checkout_partitions=partitions,
            redis_cluster=cluster,
        )
        storefront = redis_client(server.url_as("storefront"), cluster=cluster)
        admin = redis_client(server.admin_url, cluster=cluster)
        try:
            async with running_orders(settings_, dict.fromkeys(skus, 10)) as orders:
                await orders.gateway.set_wallet(
                    items[2].buyer_id, behaviour=WalletBehaviour.DECLINE
                )
                await publish(storefront, server.streams, items)
                await final_statuses(
                    admin, server.streams.order_status, [item.checkout_id for item in items]
                )
        finally:
            await storefront.aclose()
            await admin.aclose()
        url = await storefront_database(tmp_path / "storefront.db")
        yield AuditedStack(server, database, url, [item.checkout_id for item in items[:2]])


async def execute(url: str, statement: str, schema: str | None = None) -> None:
    engine = make_engine(url, schema=schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def test_the_audit_passes_on_a_correct_setup_with_evidence_for_every_check(
    tmp_path: Path, database: Database, stream_prefix: str
) -> None:
    async with audited_stack(tmp_path, database, stream_prefix) as stack:
        report = await stack.audit()

    assert report.passed, [(c.key, c.problems) for c in report.checks]
    assert [(c.key, c.outcome) for c in report.checks] == [
        ("storefront-schema", Outcome.PASSED),
        ("redis-acl", Outcome.PASSED),
        ("reconciliation", Outcome.PASSED),
        ("payment-data", Outcome.PASSED),
        ("seller-credentials", Outcome.PASSED),
    ]
    by_key = {c.key: c for c in report.checks}
    assert by_key["reconciliation"].summary == (
        "3 published = 3 received = 3 final; 2 confirmed = 2 captured"
    )
    assert "`pinned_products`: room_id, sku, title" in "\n".join(
        by_key["storefront-schema"].evidence
    )
    assert all(check.evidence for check in report.checks)
    assert report.seconds < 10


@pytest.mark.parametrize("cluster", [False, True], ids=["redis", "redis-cluster"])
async def test_the_audit_passes_over_four_checkout_partitions(
    tmp_path: Path, sqlite_database: Database, stream_prefix: str, cluster: bool
) -> None:
    """The orders service and the storefront split checkouts over four partitions (three of
    them used), on one Redis or on a Redis Cluster; the audit looks at every one."""
    skus = ("SKU-A", "SKU-E", "SKU-D")  # partitions 0, 1 and 3 of 4
    async with audited_stack(
        tmp_path, sqlite_database, stream_prefix, partitions=4, cluster=cluster, skus=skus
    ) as stack:
        report = await stack.audit()

    assert report.passed, [(c.key, c.problems) for c in report.checks]
    by_key = {c.key: c for c in report.checks}
    reconciliation = by_key["reconciliation"]
    assert reconciliation.summary == "3 published = 3 received = 3 final; 2 confirmed = 2 captured"
    assert reconciliation.evidence[0].startswith("checkout.requested (4 partitions): 3 entries")
    groups = [line for line in reconciliation.evidence if line.startswith("group `orders` on ")]
    assert len(groups) == 4
    payment_evidence = "\n".join(by_key["payment-data"].evidence)
    assert all(f"checkout.requested.{k}:" in payment_evidence for k in range(4))
    assert (report.checkout_partitions, report.redis_cluster) == (4, cluster)


async def test_the_audit_cli_prints_the_report_and_writes_markdown_and_html(
    tmp_path: Path, sqlite_database: Database, stream_prefix: str
) -> None:
    async with audited_stack(tmp_path, sqlite_database, stream_prefix) as stack:
        passwords = stack.redis.write_passwords(tmp_path / "acl-passwords.json")
        args = [
            *stack.redis.ops_args(passwords),
            "--orders-db",
            stack.orders_db.url,
            "--storefront-db",
            stack.storefront_db,
            "audit",
        ]
        printed = await ops(
            *args, "--markdown", str(tmp_path / "audit.md"), "--html", str(tmp_path / "audit.html")
        )
        as_json = await ops(*args, "--json")

    assert printed.exit_code == 0, printed.output
    assert "Audit PASSED" in printed.stdout
    markdown = (tmp_path / "audit.md").read_text()
    assert markdown.startswith("# livecart separation audit: PASSED")
    assert "| 2 | Each Redis user can do exactly its role (`redis-acl`) | ✅ passed |" in markdown
    assert (
        "| 5 | Seller passwords and sessions are stored as hashes only (`seller-credentials`) "
        "| ✅ passed |"
    ) in markdown
    assert "## 5. Seller passwords and sessions are stored as hashes only: passed" in markdown
    assert (
        '<h1>livecart separation audit: <span class="passed">PASSED</span></h1>'
        in (tmp_path / "audit.html").read_text()
    )
    document = json.loads(as_json.stdout)
    assert (document["passed"], document["failed"]) == (True, [])
    assert [c["outcome"] for c in document["checks"]] == ["passed"] * 5


async def test_an_orders_table_in_the_storefront_db_fails_the_schema_check(
    tmp_path: Path, sqlite_database: Database, stream_prefix: str
) -> None:
    async with audited_stack(tmp_path, sqlite_database, stream_prefix) as stack:
        await execute(
            stack.storefront_db,
            "CREATE TABLE orders (order_id TEXT PRIMARY KEY, total_minor INTEGER)",
        )
        report = await stack.audit()
        args = [
            *stack.redis.ops_args(),
            "--orders-db",
            stack.orders_db.url,
            "--storefront-db",
            stack.storefront_db,
            "audit",
        ]
        printed = await ops(*args)

    assert report.failed == ["storefront-schema"]
    (schema_check,) = [c for c in report.checks if c.key == "storefront-schema"]
    assert schema_check.problems == [
        "table `orders` (matches `order`)",
        "column `orders.order_id` (matches `order`)",
    ]
    assert printed.exit_code == 1
    assert "Audit FAILED: failed storefront-schema" in printed.stdout


async def test_a_storefront_user_allowed_to_read_order_status_fails_the_acl_check(
    tmp_path: Path,
    sqlite_database: Database,
    stream_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered = acl.acl_rules

    def storefront_reads_statuses(streams: Streams, *, cluster: bool) -> dict[str, list[str]]:
        rules = rendered(streams, cluster=cluster)
        rules["storefront"].append(f"%R~{streams.order_status}")
        return rules

    monkeypatch.setattr(acl, "acl_rules", storefront_reads_statuses)
    async with audited_stack(tmp_path, sqlite_database, stream_prefix) as stack:
        report = await stack.audit()

    assert report.failed == ["redis-acl"]
    (acl_check,) = [c for c in report.checks if c.key == "redis-acl"]
    assert len(acl_check.problems) == 1
    assert acl_check.problems[0].startswith(
        f"storefront: `XRANGE {stream_prefix}:{{order.status}} - + COUNT 1` allowed"
    )


async def test_a_confirmed_order_without_a_captured_payment_fails_the_reconciliation(
    tmp_path: Path, sqlite_database: Database, stream_prefix: str
) -> None:
    async with audited_stack(tmp_path, sqlite_database, stream_prefix) as stack:
        refunded = stack.confirmed[0]
        await execute(
            stack.orders_db.url,
            f"UPDATE payments SET outcome = 'refunded' WHERE checkout_id = '{refunded}'",
        )
        report = await stack.audit()

    assert report.failed == ["reconciliation"]
    (check,) = [c for c in report.checks if c.key == "reconciliation"]
    assert check.problems == [f"checkout {refunded}: order confirmed, payment refunded"]
    assert "2 confirmed = 1 captured" not in check.summary


async def test_a_payment_field_in_a_storefront_side_stream_fails_the_payment_data_check(
    tmp_path: Path, sqlite_database: Database, stream_prefix: str
) -> None:
    async with audited_stack(tmp_path, sqlite_database, stream_prefix) as stack:
        admin = Redis.from_url(stack.redis.admin_url)
        envelope = {
            "type": "catalog.changed",
            "data": {"products": [{"sku": "A", "cardNumber": "4111"}]},
        }
        await admin.xadd(stack.redis.streams.catalog_changed, {"__data__": json.dumps(envelope)})
        await admin.aclose()
        report = await stack.audit()

    assert report.failed == ["payment-data"]
    (check,) = [c for c in report.checks if c.key == "payment-data"]
    assert check.problems == [
        "catalog.changed: field `__data__.data.products[].cardNumber` (matches `card`)"
    ]


async def test_an_unreachable_redis_fails_every_check_that_needs_it_saying_why(
    tmp_path: Path, stream_prefix: str
) -> None:
    url = await storefront_database(tmp_path / "storefront.db")
    config = OpsConfig(
        redis_url="redis://127.0.0.1:1/0", prefix=stream_prefix, orders_db=url, storefront_db=url
    )

    report = await run_audit(AuditSettings(config))

    assert report.failed == ["redis-acl", "reconciliation", "payment-data"]
    assert all(
        "cannot reach Redis at redis://127.0.0.1:1/0" in c.problems[0]
        for c in report.checks
        if c.outcome is Outcome.FAILED
    )


async def add_seller(
    url: str, *, password_hash: str, token_sha256: str, schema: str | None = None
) -> None:
    """A seller account and one session, as `add-seller` and a sign-in store them."""
    await execute(
        url,
        "INSERT INTO seller_accounts (seller_id, email, name, password_hash, created_at) "
        f"VALUES ('demo-seller', 'demo@example.com', 'Demo', '{password_hash}', "
        "CURRENT_TIMESTAMP)",
        schema,
    )
    await execute(
        url,
        "INSERT INTO seller_sessions (token_sha256, seller_id, csrf_token, expires_at) "
        f"VALUES ('{token_sha256}', 'demo-seller', 'csrf', CURRENT_TIMESTAMP)",
        schema,
    )


async def test_the_seller_credentials_check_reads_the_orders_db_and_finds_hashes_only(
    tmp_path: Path, database: Database, stream_prefix: str
) -> None:
    async with audited_stack(tmp_path, database, stream_prefix) as stack:
        await add_seller(
            stack.orders_db.url,
            password_hash=hash_password("the demo seller's password"),
            token_sha256=token_digest("a session token"),
            schema=stack.orders_db.schema,
        )
        report = await stack.audit()

    assert report.passed, [(c.key, c.problems) for c in report.checks]
    (check,) = [c for c in report.checks if c.key == "seller-credentials"]
    assert check.evidence[:2] == [
        "orders DB: 1 seller account, 1 with an Argon2id password hash",
        "orders DB: 1 seller session, 1 stored as a SHA-256 digest of the token",
    ]
    assert any(line.startswith("storefront DB: ") for line in check.evidence)


async def test_a_password_or_session_token_stored_as_such_fails_the_seller_credentials_check(
    tmp_path: Path, sqlite_database: Database, stream_prefix: str
) -> None:
    raw_token = "a-raw-session-token-that-opens-the-console"
    async with audited_stack(tmp_path, sqlite_database, stream_prefix) as stack:
        await add_seller(
            stack.orders_db.url, password_hash="hunter2-hunter2", token_sha256=raw_token
        )
        report = await stack.audit()

    assert report.failed == ["seller-credentials"]
    (check,) = [c for c in report.checks if c.key == "seller-credentials"]
    assert check.problems == [
        "orders DB: seller demo-seller: password_hash is not an Argon2id hash",
        "orders DB: a session of seller demo-seller: token_sha256 is not a SHA-256 digest "
        "(a raw token?)",
    ]
    shown = "\n".join(check.problems + check.evidence + [check.summary])
    assert "hunter2" not in shown
    assert raw_token not in shown
