"""Write an env file for `docker compose --env-file`: fresh random secrets, never committed.

`python -m infra.compose.new_env run/compose.env` creates the file (mode 0600) when it is
missing and leaves an existing one alone, so the passwords Redis and PostgreSQL were first
started with keep working. Every variable compose.yaml requires with `${VAR:?}` is here.
"""

import os
import secrets
import socket
import sys
from pathlib import Path

from infra.compose.render_acl import password_variable
from services.ops.acl import USERS

SECRET_VARIABLES = (
    *(password_variable(user) for user in USERS),
    "LIVECART_POSTGRES_PASSWORD",
    "LIVECART_ORDERS_DB_PASSWORD",
    "LIVECART_STOREFRONT_DB_PASSWORD",
    "LIVECART_TOKEN_SECRET",
    "LIVECART_PAYMENT_TICKET_SECRET",
)


def env_text(host: str) -> str:
    """Every variable compose.yaml requires; url-safe secrets, as they go into URLs."""
    lines = [f"{name}={secrets.token_urlsafe(32)}" for name in SECRET_VARIABLES]
    # Production mode refuses a localhost notifier URL: browsers elsewhere could not reach it.
    lines.append(f"NOTIFIER_PUBLIC_URL=http://{host}:8001")
    # The notifier lets pages of this origin open buyer streams with the buyer cookie.
    lines.append(f"STOREFRONT_PUBLIC_URL=http://{host}:8000")
    # The room page frames the marketplace's payment page from here.
    lines.append(f"ORDERS_PUBLIC_URL=http://{host}:8002")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m infra.compose.new_env <env file>", file=sys.stderr)
        return 2
    path = Path(argv[0])
    if path.exists():
        print(f"new_env: {path} exists, kept (delete it and the compose volumes to start over)")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(env_text(socket.gethostname()))
    print(f"new_env: secrets for compose written to {path} (0600)")
    print(
        "new_env: check NOTIFIER_PUBLIC_URL and STOREFRONT_PUBLIC_URL there: browsers must "
        "reach the notifier and the room page at them"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
