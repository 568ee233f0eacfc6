"""Check 2: each service's Redis user can do exactly what `role_probes` declares.

Read-only probes are sent for real, signed in as the user; the others (XADD, DEL,
FLUSHALL …) are evaluated by `ACL DRYRUN <user> …` through the ops connection, so the
audit never writes even when the ACL is wrong. The `default` user must not get in.

On a Redis Cluster each user signs in with a Cluster client, which itself proves that the
user may ask for the slot map and the command table; the probes reach each key's node,
the dry runs and the default user's PING the node of the URL (load the same ACL on every
node: the audit looks at one).
"""

from dataclasses import dataclass

from redis.asyncio import Redis, RedisCluster
from redis.exceptions import (
    AuthenticationError,
    NoPermissionError,
    RedisClusterException,
    RedisError,
    ResponseError,
)

from contracts import Streams
from services.common.streams.broker import redis_client
from services.ops.acl import USERS, Probe, role_probes
from services.ops.checks.result import CheckResult, plural, verdict
from services.ops.config import redact, url_for_user
from services.ops.entries import text

KEY = "redis-acl"
TITLE = "Each Redis user can do exactly its role"


@dataclass(frozen=True)
class ProbeOutcome:
    user: str
    probe: Probe
    allowed: bool
    how: str  # "sent" or "dry run"
    answer: str

    @property
    def as_declared(self) -> bool:
        return self.allowed == self.probe.allowed

    def describe(self) -> str:
        command = " ".join(self.probe.args)
        got = "allowed" if self.allowed else "denied"
        want = "allowed" if self.probe.allowed else "denied"
        mark = "ok" if self.as_declared else f"MUST BE {want.upper()}"
        return f"{self.user}: `{command}` {got} ({self.how}: {self.answer[:90]}) — {mark}"


async def try_probe(user: str, probe: Probe, *, as_user: Redis, ops: Redis) -> ProbeOutcome:
    if probe.harmless:
        try:
            answer = await as_user.execute_command(*probe.args)  # type: ignore[no-untyped-call]
        except NoPermissionError as exc:
            return ProbeOutcome(user, probe, False, "sent", f"NOPERM {exc}")
        except ResponseError as exc:  # e.g. NOGROUP: the ACL let it through
            return ProbeOutcome(user, probe, True, "sent", f"{exc}")
        return ProbeOutcome(user, probe, True, "sent", f"answered {_short(answer)}")
    dry_run = ("ACL", "DRYRUN", user, *probe.args)
    if isinstance(ops, RedisCluster):  # it names no key to route by: one node (same ACL on all)
        answer = text(await ops.execute_command(*dry_run, target_nodes=ops.get_default_node()))
    else:
        answer = text(await ops.execute_command(*dry_run))  # type: ignore[no-untyped-call]
    return ProbeOutcome(user, probe, answer == "OK", "dry run", answer)


def _short(answer: object) -> str:
    if isinstance(answer, list):
        return f"{len(answer)} entries"
    if isinstance(answer, dict):
        return f"a {len(answer)}-field reply"
    return str(answer)[:40]


def _client(url: str, *, cluster: bool) -> Redis:
    """Fails fast, like every ops connection: no retries."""
    return redis_client(
        url, cluster=cluster, socket_connect_timeout=3, socket_timeout=10, retry=None,
        retry_on_error=[],
    )  # fmt: skip


async def default_user_refused(url: str) -> tuple[bool, str]:
    """Whether a client without credentials is refused, and what Redis said. A plain
    client on a Cluster too: it asks the node of `url` for PING, nothing else."""
    client = _client(url_for_user(url, None, None), cluster=False)
    try:
        await client.ping()
    except AuthenticationError as exc:
        return True, f"refused: {exc}"[:120]
    except ResponseError as exc:
        return "NOAUTH" in str(exc), str(exc)[:120]
    finally:
        await client.aclose()
    return False, "PING answered without credentials"


async def check_acl(
    *,
    ops: Redis,
    redis_url: str,
    streams: Streams,
    passwords: dict[str, str],
    cluster: bool = False,
) -> CheckResult:
    problems: list[str] = []
    server = "Redis Cluster node" if cluster else "server"
    evidence = [
        f"{server} {redact(url_for_user(redis_url, None, None))}, prefix {streams.prefix!r}, "
        f"{plural(streams.checkout_partitions, 'checkout partition', 'checkout partitions')}"
    ]
    if not passwords:
        problems.append("no ACL passwords given (LIVECART_ACL_PASSWORDS or --acl-passwords)")
    probes = role_probes(streams)
    for user in USERS if passwords else ():
        if user not in passwords:
            problems.append(f"{user}: no password given, its role cannot be tried")
            continue
        outcomes, trouble = await _probe_user(
            user, probes[user], url_for_user(redis_url, user, passwords[user]), ops, cluster
        )
        problems += trouble
        evidence += [outcome.describe() for outcome in outcomes]
        problems += [outcome.describe() for outcome in outcomes if not outcome.as_declared]
    refused, answer = await default_user_refused(redis_url)
    evidence.append(f"default user without credentials: {answer}")
    if not refused:
        problems.append(f"the default user can connect ({answer})")
    tried = sum(len(probes[u]) for u in USERS if u in passwords)
    return verdict(
        KEY,
        TITLE,
        problems=problems,
        evidence=evidence,
        passed=f"{tried} probes over {len(USERS)} users as declared; default user refused",
        failed=plural(len(problems), "ACL problem", "ACL problems"),
    )


async def _probe_user(
    user: str, probes: list[Probe], url: str, ops: Redis, cluster: bool
) -> tuple[list[ProbeOutcome], list[str]]:
    client = _client(url, cluster=cluster)
    try:
        await client.ping()
        return [await try_probe(user, p, as_user=client, ops=ops) for p in probes], []
    except AuthenticationError as exc:
        return [], [f"{user}: cannot sign in with the given password ({exc})"]
    except (RedisError, RedisClusterException) as exc:
        return [], [f"{user}: probing failed: {exc!r}"]
    finally:
        await client.aclose()
