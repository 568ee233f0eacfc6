"""Check 5: sellers' secrets are stored only as what cannot be signed in with: in both
databases every `seller_accounts.password_hash` is an Argon2id hash and every
`seller_sessions.token_sha256` a SHA-256 digest (64 hex digits), never a password or a
session token as such. Both databases are read read-only; no hash is ever shown.
"""

import re
from dataclasses import dataclass

from sqlalchemy import String, column, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import TableClause

from services.ops.checks.result import CheckResult, plural, verdict

KEY = "seller-credentials"
TITLE = "Seller passwords and sessions are stored as hashes only"

ARGON2ID = re.compile(r"\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+")
"""An Argon2id hash in the PHC string format argon2-cffi writes (salt and hash in
unpadded base64)."""
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
LISTED = 20

accounts = table("seller_accounts", column("seller_id", String), column("password_hash", String))
sessions = table("seller_sessions", column("seller_id", String), column("token_sha256", String))


@dataclass(frozen=True)
class StoredCredentials:
    """What one database holds: (seller id, stored value) per account and per session;
    None when it has no such table."""

    where: str
    accounts: list[tuple[str, str]] | None
    sessions: list[tuple[str, str]] | None


async def read_credentials(
    conn: AsyncConnection, *, where: str, schema: str | None = None
) -> StoredCredentials:
    """Every seller account's password hash and session's stored token in `conn`'s DB."""

    def tables(sync: Connection) -> set[str]:
        return set(inspect(sync).get_table_names(schema=schema))

    present = await conn.run_sync(tables)

    async def rows(source: TableClause) -> list[tuple[str, str]] | None:
        if source.name not in present:
            return None
        found = (await conn.execute(select(source).order_by(source.c.seller_id))).all()
        return [(str(seller), str(value or "")) for seller, value in found]

    return StoredCredentials(where, await rows(accounts), await rows(sessions))


def _capped(lines: list[str]) -> list[str]:
    return lines[:LISTED] + ([f"… and {len(lines) - LISTED} more"] if len(lines) > LISTED else [])


def _judge(stored: StoredCredentials) -> tuple[list[str], list[str]]:
    """(evidence, problems) of one database; problems name the seller, never the value."""
    evidence, problems = [], []
    if stored.accounts is None:
        evidence.append(f"{stored.where}: no seller_accounts table (no seller signs in there)")
    else:
        bad = [s for s, value in stored.accounts if not ARGON2ID.fullmatch(value)]
        problems += [
            f"{stored.where}: seller {s}: password_hash is not an Argon2id hash" for s in bad
        ]
        count = plural(len(stored.accounts), "seller account", "seller accounts")
        note = " (none yet: nothing to check)" if not stored.accounts else ""
        evidence.append(
            f"{stored.where}: {count}, {len(stored.accounts) - len(bad)} with an "
            f"Argon2id password hash{note}"
        )
    if stored.sessions is None:
        evidence.append(f"{stored.where}: no seller_sessions table")
    else:
        bad = [s for s, value in stored.sessions if not SHA256_HEX.fullmatch(value)]
        problems += [
            f"{stored.where}: a session of seller {s}: token_sha256 is not a SHA-256 digest "
            "(a raw token?)"
            for s in bad
        ]
        count = plural(len(stored.sessions), "seller session", "seller sessions")
        evidence.append(
            f"{stored.where}: {count}, {len(stored.sessions) - len(bad)} stored as a "
            "SHA-256 digest of the token"
        )
    return evidence, problems


def check_seller_credentials(
    stored: list[StoredCredentials], *, unread: list[str] | None = None
) -> CheckResult:
    """`stored`: what each database read holds; `unread`: why a database could not be
    read (each one fails the check: an audit that did not look has not passed)."""
    evidence: list[str] = []
    problems = list(unread or [])
    for found in stored:
        seen, wrong = _judge(found)
        evidence += seen
        problems += wrong
    total = sum(len(found.accounts or ()) for found in stored)
    sessions = sum(len(found.sessions or ()) for found in stored)
    return verdict(
        KEY,
        TITLE,
        problems=_capped(problems),
        evidence=evidence,
        passed=f"{plural(total, 'seller account', 'seller accounts')} (Argon2id) and "
        f"{plural(sessions, 'session', 'sessions')} (SHA-256) in "
        f"{plural(len(stored), 'database', 'databases')}"
        + ("; no seller account yet" if total == 0 else ""),
        failed=plural(len(problems), "credential problem", "credential problems"),
    )
