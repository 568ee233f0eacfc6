"""The Redis ACL of services/ops/acl.py, read as Redis reads its key patterns (glob, braces
literal): with checkout partitions the storefront may append to every partition but to
no dead-letter stream, the marketplace reads every partition and its DLQ, and nothing
else changes. (tests/integration/test_ops_acl.py tries the same on a real redis-server.)"""

import re
from functools import cache

import pytest

from contracts import Streams
from services.ops.acl import CLUSTER_CLIENT, USERS, acl_rules, render_acl_file, role_probes

PASSWORDS = {user: f"pw-{user}" for user in USERS}


@cache
def glob(pattern: str) -> re.Pattern[str]:
    """A Redis glob as a regex: `*` and `?` only (none of the rules uses `[...]`)."""
    assert "[" not in pattern, pattern
    assert "\\" not in pattern, pattern
    return re.compile(".*".join(".".join(map(re.escape, p.split("?"))) for p in pattern.split("*")))


def runs(streams: Streams, user: str, command: str) -> bool:
    """Whether `user`'s rules grant `command` (by name, or `+@read` for a read command)."""
    rules = acl_rules(streams)[user]
    reads = {"xlen", "xrange", "xpending"}
    return f"+{command.lower()}" in rules or (command.lower() in reads and "+@read" in rules)


def may(streams: Streams, user: str, access: str, key: str) -> bool:
    """Whether `user`'s key patterns let it `access` ("R" or "W") `key`."""
    for rule in acl_rules(streams)[user]:
        found = re.fullmatch(r"(%(?P<perms>R|W|RW))?~(?P<pattern>.+)", rule)
        if found and access in (found["perms"] or "RW") and glob(found["pattern"]).fullmatch(key):
            return True
    return False


STREAMS = Streams("livecart", 4)
PARTITIONS = STREAMS.checkout_streams
DLQS = tuple(Streams.dead_letters(key) for key in PARTITIONS)
REQUESTS = STREAMS.live_requests
"""flash_deal.requested and order.cancellation_requested: the storefront's, for the orders group."""
REQUEST_DLQS = tuple(Streams.dead_letters(key) for key in REQUESTS)


def test_four_partitions_are_four_hash_tagged_keys() -> None:
    assert tuple(f"livecart:{{checkout.requested.{k}}}" for k in range(4)) == PARTITIONS
    assert DLQS[3] == "livecart:{checkout.requested.3}.dlq"


@pytest.mark.parametrize("key", PARTITIONS)
def test_the_storefront_may_append_to_every_partition_and_read_none(key: str) -> None:
    assert may(STREAMS, "storefront", "W", key)
    assert not may(STREAMS, "storefront", "R", key)


@pytest.mark.parametrize("dlq", DLQS)
def test_the_storefront_may_not_write_any_partitions_dead_letters(dlq: str) -> None:
    assert not may(STREAMS, "storefront", "W", dlq)
    assert not may(STREAMS, "storefront", "R", dlq)


@pytest.mark.parametrize("key", PARTITIONS + DLQS)
def test_orders_read_and_write_every_partition_and_its_dead_letters(key: str) -> None:
    assert may(STREAMS, "orders", "R", key)
    assert may(STREAMS, "orders", "W", key)


@pytest.mark.parametrize("key", PARTITIONS + DLQS)
def test_the_notifier_has_no_access_to_checkouts(key: str) -> None:
    assert not may(STREAMS, "notifier", "R", key)
    assert not may(STREAMS, "notifier", "W", key)


def test_ops_read_everything_write_dead_letters_and_replay_into_every_partition() -> None:
    for key in PARTITIONS:
        assert may(STREAMS, "ops", "R", key)
        assert may(STREAMS, "ops", "W", key), "a replay XADDs into the partition"
    for dlq in DLQS:
        assert may(STREAMS, "ops", "W", dlq)
    assert may(STREAMS, "ops", "R", STREAMS.order_status)
    assert not may(STREAMS, "ops", "W", STREAMS.order_status)


def test_the_other_streams_stay_least_privilege_under_their_tagged_keys() -> None:
    status, history = STREAMS.order_status, STREAMS.buyer_status("b-1")
    assert may(STREAMS, "orders", "W", status)
    assert not may(STREAMS, "orders", "R", status)
    assert may(STREAMS, "orders", "W", history)
    assert may(STREAMS, "notifier", "R", history)
    assert not may(STREAMS, "notifier", "W", history)
    assert not may(STREAMS, "storefront", "R", status)
    assert may(STREAMS, "storefront", "R", STREAMS.catalog_changed)
    assert not may(STREAMS, "storefront", "W", STREAMS.catalog_changed)
    # A key of another prefix, or an untagged key of this one, is nobody's.
    for user in USERS:
        assert not may(STREAMS, user, "W", "other:{checkout.requested.0}")
        assert not may(STREAMS, user, "W", "livecart:checkout.requested")


def test_the_acl_file_is_the_same_for_any_number_of_partitions() -> None:
    one = render_acl_file(Streams("lc"), PASSWORDS)

    assert render_acl_file(Streams("lc", 4), PASSWORDS) == one
    assert render_acl_file(Streams("lc", 256), PASSWORDS) == one
    assert "%W~lc:{checkout.requested*}" in one
    assert "~lc:{checkout.requested*}.dlq" in one


def test_only_a_cluster_acl_grants_what_a_cluster_client_asks_for() -> None:
    single = acl_rules(Streams("lc"))
    cluster = acl_rules(Streams("lc"), cluster=True)

    for user in USERS:
        assert not set(CLUSTER_CLIENT) & set(single[user])
        assert [r for r in cluster[user] if r not in CLUSTER_CLIENT] == single[user]
        assert set(CLUSTER_CLIENT) <= set(cluster[user])
    assert "+cluster|slots" in render_acl_file(Streams("lc"), PASSWORDS, cluster=True)


def test_the_probes_try_every_partition_where_it_concerns_the_user() -> None:
    probes = role_probes(STREAMS)
    storefront_xadds = {p.args[1]: p.allowed for p in probes["storefront"] if p.args[0] == "XADD"}
    orders_reads = {p.args[1] for p in probes["orders"] if p.args[0] in {"XLEN", "XPENDING"}}

    assert all(storefront_xadds[key] for key in PARTITIONS)
    assert not any(storefront_xadds[dlq] for dlq in DLQS)
    assert orders_reads >= set(PARTITIONS + DLQS)
    assert orders_reads - set(PARTITIONS + DLQS) == set(REQUESTS + REQUEST_DLQS)
    # Every probe agrees with the rules (a write probe with W, a read probe with R, a
    # group read with both: XREADGROUP moves the group's position).
    for user, user_probes in probes.items():
        for probe in user_probes:
            if probe.args[0] in {"XADD", "XLEN", "XRANGE", "XPENDING"}:
                access = "W" if probe.args[0] == "XADD" else "R"
                allowed = runs(STREAMS, user, probe.args[0]) and may(
                    STREAMS, user, access, probe.args[1]
                )
                assert allowed == probe.allowed, (user, probe)
            elif probe.args[0] == "XREADGROUP":
                key = probe.args[-2]
                allowed = runs(STREAMS, user, "XREADGROUP") and all(
                    may(STREAMS, user, access, key) for access in "RW"
                )
                assert allowed == probe.allowed, (user, probe)


@pytest.mark.parametrize("key", PARTITIONS)
def test_the_autoscaler_reads_the_groups_lag_of_every_partition_but_no_entry(key: str) -> None:
    rules = acl_rules(STREAMS)["keda"]

    assert may(STREAMS, "keda", "R", key)
    assert not may(STREAMS, "keda", "W", key)
    assert {"+xinfo|groups", "+xpending", "+xlen"} <= set(rules)
    assert not any(runs(STREAMS, "keda", command) for command in ("XRANGE", "XREADGROUP", "XADD"))
    assert not may(STREAMS, "keda", "R", STREAMS.order_status)


@pytest.mark.parametrize("key", REQUESTS)
def test_the_storefront_may_append_flash_deals_and_cancel_requests_but_not_read_them(
    key: str,
) -> None:
    assert may(STREAMS, "storefront", "W", key)
    assert not may(STREAMS, "storefront", "R", key)
    assert not may(STREAMS, "storefront", "W", Streams.dead_letters(key))


@pytest.mark.parametrize("key", REQUESTS + REQUEST_DLQS)
def test_orders_consume_flash_deals_and_cancel_requests_and_dead_letter_them(key: str) -> None:
    assert may(STREAMS, "orders", "R", key)
    assert may(STREAMS, "orders", "W", key)
    assert {"+xreadgroup", "+xack", "+xautoclaim", "+xgroup|create"} <= set(
        acl_rules(STREAMS)["orders"]
    )


@pytest.mark.parametrize("key", REQUESTS)
def test_ops_replay_dead_letters_into_the_storefronts_requests(key: str) -> None:
    assert may(STREAMS, "ops", "R", key)
    assert may(STREAMS, "ops", "W", key), "a replay XADDs into the stream"
    assert may(STREAMS, "ops", "W", Streams.dead_letters(key))


def test_room_changes_go_from_the_storefront_to_the_notifier_and_sales_come_back() -> None:
    room, sales = STREAMS.room_changed, STREAMS.room_sales
    assert may(STREAMS, "storefront", "W", room)
    assert may(STREAMS, "storefront", "R", room), "its replicas drop their copy of the room"
    assert not may(STREAMS, "storefront", "W", Streams.dead_letters(room))
    assert may(STREAMS, "notifier", "R", room)
    assert not may(STREAMS, "notifier", "W", room)
    assert may(STREAMS, "storefront", "R", sales)
    assert not may(STREAMS, "storefront", "W", sales)
    for user in ("orders", "keda"):
        assert not may(STREAMS, user, "R", room)
        assert not may(STREAMS, user, "W", room)
    assert not may(STREAMS, "ops", "W", room), "room.changed has no group, so no dead letters"
    for key in REQUESTS:
        assert not may(STREAMS, "notifier", "R", key)
        assert not may(STREAMS, "keda", "R", key)


def test_the_storefront_sets_and_deletes_idempotency_keys_and_nothing_else_with_those() -> None:
    rules = acl_rules(STREAMS)["storefront"]
    selectors = [rule for rule in rules if rule.startswith("(")]

    assert "(~livecart:idempotency:* +set +del)" in selectors
    assert STREAMS.idempotency("c-1") == "livecart:idempotency:c-1"
    assert glob(STREAMS.idempotency_pattern).fullmatch(STREAMS.idempotency("c-1"))
    # Outside the selector neither command is granted, so no stream can be SET or DELeted.
    assert not {"+set", "+del"} & set(rules)
    assert not may(STREAMS, "storefront", "W", STREAMS.idempotency("c-1"))
