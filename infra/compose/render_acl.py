"""Render the Redis ACL file (services/ops/acl.py's rules) from passwords in the environment.

`python -m infra.compose.render_acl /var/lib/livecart/acl/users.acl` reads one password per
user from `LIVECART_REDIS_<USER>_PASSWORD` (e.g. `LIVECART_REDIS_ORDERS_PASSWORD`) and the
stream prefix from `LIVECART_STREAM_PREFIX`, and writes password hashes only. compose runs it
as a one-shot step before Redis starts; with a managed Redis, run it where the passwords live
and load the file (or the equivalent `ACL SETUSER` lines) there.

The file covers any number of checkout partitions (`LIVECART_CHECKOUT_PARTITIONS` is not
read). For a Redis Cluster set `LIVECART_REDIS_CLUSTER=true`, which also grants what a
Cluster client asks for (the slot map, the command table), and load it on every node.
"""

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import TypeAdapter, ValidationError

from contracts import DEFAULT_PREFIX, Streams
from services.ops.acl import USERS, render_acl_file

MIN_PASSWORD_LENGTH = 16


def password_variable(user: str) -> str:
    return f"LIVECART_REDIS_{user.upper()}_PASSWORD"


def passwords_from(environ: Mapping[str, str]) -> dict[str, str]:
    """One password per ACL user; refuses a missing or short one, naming the variable."""
    passwords, problems = {}, []
    for user in USERS:
        password = environ.get(password_variable(user), "")
        if len(password) < MIN_PASSWORD_LENGTH:
            problems.append(f"{password_variable(user)} (at least {MIN_PASSWORD_LENGTH} chars)")
        passwords[user] = password
    if problems:
        raise SystemExit("render_acl: set " + ", ".join(problems))
    return passwords


def cluster_from(environ: Mapping[str, str]) -> bool:
    """`LIVECART_REDIS_CLUSTER` read as the services' settings read it (pydantic's bool)."""
    value = environ.get("LIVECART_REDIS_CLUSTER", "").strip()
    try:
        return bool(value) and TypeAdapter(bool).validate_python(value)
    except ValidationError:
        raise SystemExit(
            f"render_acl: LIVECART_REDIS_CLUSTER={value!r} is not true or false"
        ) from None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m infra.compose.render_acl <users.acl path>", file=sys.stderr)
        return 2
    streams = Streams(os.environ.get("LIVECART_STREAM_PREFIX") or DEFAULT_PREFIX)
    cluster = cluster_from(os.environ)
    text = render_acl_file(streams, passwords_from(os.environ), cluster=cluster)
    target = Path(argv[0])
    target.write_text(text)
    # Hashes only, and the Redis server runs as another user: it must be able to read it.
    target.chmod(0o644)
    print(
        f"render_acl: {len(USERS)} users for prefix {streams.prefix!r}"
        f"{' (Redis Cluster)' if cluster else ''} written to {target}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
