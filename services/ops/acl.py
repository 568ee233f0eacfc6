"""Least privilege on Redis: one ACL user per service, derived from the stream names.

The storefront may only append checkouts, flash deals, cancel requests and room changes,
read the catalog, the rooms' sales and its own room changes, and set and delete its
buyers' idempotency keys (a selector: those two commands on those keys only); the
marketplace consumes checkouts, flash deals and cancel requests (each with its DLQ) and writes
statuses, history and snapshots; the notifier only reads; ops read everything and may
replay dead letters into the streams that have them; the autoscaler (KEDA's
redis-streams scaler) may only read the orders group's lag, pending count and the
length of the checkout streams, not their entries. The default user is off.
`render_acl_file` writes these as an ACL file for `redis-server --aclfile`;
`role_probes` lists commands each user must be allowed and denied, which the
audit actually tries.

The checkout rules name every partition at once with `Streams.checkout_pattern`
(`livecart:{checkout.requested*}`; ACL globs take the braces literally), and its DLQs with
`<pattern>.dlq`: the rendered ACL is the same whatever `LIVECART_CHECKOUT_PARTITIONS`
says, and changing it needs no new ACL. The probes do depend on it: they try every
partition. The prefix stays outside the hash tags, so `<prefix>:*` still covers every key.

The rooms' chat and reactions are the storefront's to append and the notifier's to read;
the storefront also sets and reads its chat keys (who wrote a message, who is muted) under
`Streams.chat_key_pattern`, through a selector like the idempotency keys'.

The storefront and the notifier also count their rate limits (services/common/rate_limits.py)
under `Streams.rate_limit_pattern`, through a selector granting `RATE_LIMIT_COMMANDS` on
those keys only.
"""

import hashlib
from dataclasses import dataclass

from contracts import Streams

# CLIENT SETINFO (sent by redis-py on connect) exists from Redis 7.2; a 7.0 server refuses the
# name, and redis-py ignores the denial, so it is left out.
CONNECTION = ["+ping", "+client|setname", "+hello", "+echo"]
CLUSTER_CLIENT = ["+cluster|slots", "+command"]
"""What a Redis Cluster client (redis-py's, FastStream's, KEDA's) asks every user's way:
the slot map, and the command table that tells it where each command's keys are. Only
granted with `cluster`: a single server needs neither."""
USERS = ("storefront", "orders", "notifier", "ops", "keda")
RATE_LIMIT_COMMANDS = ("+evalsha", "+script|load", "+incrby", "+expire", "+get", "+ttl")
"""What the `limits` library's fixed window runs over redis-py: its script by EVALSHA (SCRIPT
LOAD first when the server lacks it), INCRBY and EXPIRE inside it, GET and TTL for a
refusal's reset time."""


def acl_rules(streams: Streams, *, cluster: bool = False) -> dict[str, list[str]]:
    """The commands and key patterns of each user (without passwords); with `cluster`,
    also what a Redis Cluster client needs (`CLUSTER_CLIENT`)."""
    connection = CONNECTION + (CLUSTER_CLIENT if cluster else [])
    checkout = streams.checkout_pattern  # every partition, not their DLQs
    status = streams.order_status
    history = streams.buyer_status("*")
    catalog, sales = streams.catalog_changed, streams.room_sales
    deals, cancellations, room = streams.flash_deals, streams.cancellations, streams.room_changed
    # The storefront's requests to the marketplace besides checkouts, consumed like them.
    requests = [f"~{key}" for key in streams.live_requests]
    requests += [f"~{Streams.dead_letters(key)}" for key in streams.live_requests]
    prefix = streams.prefix
    # The shared rate-limit counters (services/common/rate_limits.py): a selector, so these
    # commands reach those keys only, and the grants above stay off them.
    rate_limits = f"(~{streams.rate_limit_pattern} {' '.join(RATE_LIMIT_COMMANDS)})"
    return {
        "storefront": [
            *connection, "+xadd", "+xread", "+xrange", "+xrevrange",
            f"%W~{checkout}", f"%R~{catalog}",
            f"%W~{deals}", f"%W~{cancellations}", f"%R~{sales}",
            # Its replicas read their own room changes back, to drop their copy of the room.
            f"%RW~{room}",
            # Buyers' idempotency keys: SET NX GET / SET XX / DEL on those keys only (a
            # selector: the grants above stay off them, and these stay off the streams).
            f"(~{streams.idempotency_pattern} +set +del)",
            f"%W~{streams.chat}", f"%W~{streams.reactions}",
            f"(~{streams.chat_key_pattern} +set +get)",
            rate_limits,
        ],
        "orders": [
            *connection, "+xreadgroup", "+xack", "+xautoclaim", "+xclaim", "+xpending",
            "+xgroup|create", "+xgroup|delconsumer", "+xinfo|consumers", "+xinfo|groups",
            "+xadd", "+expire", "+eval", "+evalsha", "+xlen",
            f"~{checkout}", f"~{Streams.dead_letters(checkout)}", *requests,
            f"%W~{status}", f"%W~{history}", f"%W~{catalog}", f"%W~{sales}",
        ],
        "notifier": [
            *connection, "+xread", "+xrange", "+xrevrange", "+xinfo|stream",
            f"%R~{status}", f"%R~{history}", f"%R~{catalog}", f"%R~{sales}", f"%R~{room}",
            f"%R~{streams.chat}", f"%R~{streams.reactions}",
            rate_limits,
        ],
        "ops": [
            *connection, "+@read", "-@dangerous", "+scan", "+info", "+xinfo", "+xpending",
            "+xadd", "+xdel", "+multi", "+exec", "+acl|dryrun",
            f"%R~{prefix}:*", f"%RW~{prefix}:*.dlq", f"%W~{checkout}",
            # Replays: a dead letter goes back into the stream whose group gave up on it.
            *(f"%W~{key}" for key in streams.live_requests),
        ],
        "keda": [
            *connection, "+xinfo|groups", "+xpending", "+xlen", f"%R~{checkout}",
        ],
    }  # fmt: skip


def password_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def render_acl_file(streams: Streams, passwords: dict[str, str], *, cluster: bool = False) -> str:
    """An ACL file: each user `on` with its password (stored hashed), default user off.
    For a Redis Cluster (`cluster`), load the same file on every node."""
    lines = ["user default off resetkeys -@all"]
    for user, rules in acl_rules(streams, cluster=cluster).items():
        lines.append(
            " ".join(
                [
                    "user",
                    user,
                    "on",
                    f"#{password_hash(passwords[user])}",
                    "resetchannels",
                    "-@all",
                    *rules,
                ]
            )
        )
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Probe:
    """A command a user tries; `allowed` says whether the ACL must let it through.

    Only read-only probes are sent as the user for real; a probe that would change
    data if the ACL were wrong (XADD, DEL, FLUSHALL) is asked of `ACL DRYRUN`, which
    evaluates the user's permissions without running it.
    """

    args: tuple[str, ...]
    allowed: bool

    @property
    def harmless(self) -> bool:
        return self.args[0].upper() in {"XRANGE", "XREVRANGE", "XPENDING", "XLEN", "XINFO"}


def role_probes(streams: Streams) -> dict[str, list[Probe]]:
    """What each user must and must not be able to do, tried for real by the audit: on
    every checkout partition where it concerns them, on the first one otherwise."""
    partitions = streams.checkout_streams
    checkout, status = partitions[0], streams.order_status
    catalog, history = streams.catalog_changed, streams.buyer_status("audit-buyer")
    sales, room, requests = streams.room_sales, streams.room_changed, streams.live_requests
    deals = streams.flash_deals
    idempotency = streams.idempotency("audit-checkout")
    chat_streams, chat_key = (streams.chat, streams.reactions), streams.chat_mute("audit", "b")
    limited = rate_limit_probes(streams, others=(status, catalog, history))
    fields = ("__data__", "{}")  # never sent for real: see Probe
    return {
        "storefront": [
            *(Probe(("XADD", p, "*", *fields), True) for p in partitions),
            *(Probe(("XADD", Streams.dead_letters(p), "*", *fields), False) for p in partitions),
            *(Probe(("XADD", key, "*", *fields), True) for key in (*requests, room)),
            *(Probe(("XADD", Streams.dead_letters(key), "*", *fields), False) for key in requests),
            Probe(("XRANGE", catalog, "-", "+", "COUNT", "1"), True),
            Probe(("XRANGE", sales, "-", "+", "COUNT", "1"), True),
            Probe(("XRANGE", room, "-", "+", "COUNT", "1"), True),
            Probe(("XADD", sales, "*", *fields), False),
            Probe(("XRANGE", checkout, "-", "+", "COUNT", "1"), False),
            Probe(("XRANGE", deals, "-", "+", "COUNT", "1"), False),
            Probe(("XREADGROUP", "GROUP", "orders", "x", "STREAMS", checkout, ">"), False),
            Probe(("XREADGROUP", "GROUP", "orders", "x", "STREAMS", deals, ">"), False),
            Probe(("XRANGE", status, "-", "+", "COUNT", "1"), False),
            Probe(("XADD", status, "*", *fields), False),
            Probe(("XRANGE", history, "-", "+", "COUNT", "1"), False),
            Probe(("SET", idempotency, "fp pending", "NX", "GET", "EX", "60"), True),
            Probe(("SET", idempotency, "fp accepted", "XX", "KEEPTTL"), True),
            Probe(("DEL", idempotency), True),
            Probe(("GET", idempotency), False),
            Probe(("XADD", idempotency, "*", *fields), False),
            *(Probe(("XADD", key, "*", *fields), True) for key in chat_streams),
            Probe(("XRANGE", streams.chat, "-", "+", "COUNT", "1"), False),
            Probe(("SET", chat_key, "r b", "EX", "60"), True),
            Probe(("GET", chat_key), True),
            Probe(("DEL", chat_key), False),
            Probe(("SET", status, "x"), False),
            Probe(("SET", room, "x"), False),
            Probe(("DEL", checkout), False),
            *limited,
            Probe(("KEYS", "*"), False),
            Probe(("FLUSHALL",), False),
        ],
        "orders": [
            *(Probe(("XPENDING", p, "orders"), True) for p in partitions),
            *(Probe(("XLEN", p), True) for p in partitions),
            *(Probe(("XLEN", Streams.dead_letters(p)), True) for p in partitions),
            Probe(("XADD", Streams.dead_letters(checkout), "*", *fields), True),
            *(Probe(("XREADGROUP", "GROUP", "orders", "x", "STREAMS", key, ">"), True)
              for key in requests),
            *(Probe(("XPENDING", key, "orders"), True) for key in requests),
            *(Probe(("XADD", Streams.dead_letters(key), "*", *fields), True) for key in requests),
            *(Probe(("XLEN", Streams.dead_letters(key)), True) for key in requests),
            Probe(("XRANGE", status, "-", "+", "COUNT", "1"), False),
            Probe(("XRANGE", room, "-", "+", "COUNT", "1"), False),
            Probe(("XADD", room, "*", *fields), False),
            # The marketplace never reads the rooms' chat (nor who wrote or is muted).
            *(Probe(("XRANGE", key, "-", "+", "COUNT", "1"), False) for key in chat_streams),
            Probe(("GET", chat_key), False),
            Probe(("CONFIG", "GET", "maxmemory"), False),
            Probe(("FLUSHALL",), False),
        ],
        "notifier": [
            Probe(("XRANGE", status, "-", "+", "COUNT", "1"), True),
            Probe(("XRANGE", catalog, "-", "+", "COUNT", "1"), True),
            Probe(("XRANGE", sales, "-", "+", "COUNT", "1"), True),
            Probe(("XRANGE", room, "-", "+", "COUNT", "1"), True),
            *(Probe(("XRANGE", key, "-", "+", "COUNT", "1"), True) for key in chat_streams),
            *(Probe(("XADD", key, "*", *fields), False) for key in chat_streams),
            Probe(("GET", chat_key), False),
            Probe(("XADD", status, "*", *fields), False),
            Probe(("XADD", checkout, "*", *fields), False),
            Probe(("XADD", room, "*", *fields), False),
            Probe(("XRANGE", checkout, "-", "+", "COUNT", "1"), False),
            *(Probe(("XRANGE", key, "-", "+", "COUNT", "1"), False) for key in requests),
            Probe(("DEL", status), False),
            Probe(("SET", idempotency, "x"), False),
            *limited,
            Probe(("FLUSHALL",), False),
        ],
        "ops": [
            Probe(("XRANGE", checkout, "-", "+", "COUNT", "1"), True),
            *(Probe(("XADD", p, "*", *fields), True) for p in partitions),  # replays
            *(Probe(("XADD", key, "*", *fields), True) for key in requests),  # replays
            Probe(("XRANGE", status, "-", "+", "COUNT", "1"), True),
            Probe(("XRANGE", room, "-", "+", "COUNT", "1"), True),
            Probe(("XADD", status, "*", *fields), False),
            Probe(("XADD", room, "*", *fields), False),
            Probe(("DEL", checkout), False),
            Probe(("FLUSHALL",), False),
        ],
        "keda": [
            *(Probe(("XINFO", "GROUPS", p), True) for p in partitions),
            Probe(("XPENDING", checkout, "orders"), True),
            Probe(("XLEN", checkout), True),
            Probe(("XRANGE", checkout, "-", "+", "COUNT", "1"), False),
            Probe(("XREADGROUP", "GROUP", "orders", "x", "STREAMS", checkout, ">"), False),
            Probe(("XADD", checkout, "*", *fields), False),
            Probe(("XINFO", "GROUPS", status), False),
            Probe(("XINFO", "GROUPS", deals), False),
            Probe(("FLUSHALL",), False),
        ],
    }  # fmt: skip


def rate_limit_probes(streams: Streams, *, others: tuple[str, ...]) -> list[Probe]:
    """A rate-limit user runs the counter's script, INCRBY, EXPIRE, GET and TTL on a
    counter, and none of them on `others`. (Sent for real, EVALSHA of a script the server
    lacks gets NOSCRIPT only after the ACL let it through.)"""
    counter = f"{streams.rate_limits}:LIMITER/audit/127.0.0.1/1/1/minute"
    sha = hashlib.sha1(b"livecart rate-limit probe").hexdigest()
    probes = [
        Probe(("EVALSHA", sha, "1", counter, "60", "1"), True),
        Probe(("SCRIPT", "LOAD", "return 1"), True),
        Probe(("INCRBY", counter, "1"), True),
        Probe(("EXPIRE", counter, "60"), True),
        Probe(("GET", counter), True),
        Probe(("TTL", counter), True),
    ]
    for key in others:
        probes += [
            Probe(("EVALSHA", sha, "1", key, "60", "1"), False),
            Probe(("INCRBY", key, "1"), False),
            Probe(("GET", key), False),
        ]
    return probes
