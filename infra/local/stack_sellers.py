"""The demo seller's login for `make up`: a password made once per checkout of the
project (run/seller-login.txt, 0600), handed only to the seed commands, and printed."""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.local.stack_acl import write_private
from services.storefront.seed import DEMO_SELLER_EMAIL

PASSWORD_VARIABLE = "LIVECART_DEMO_SELLER_PASSWORD"
COOKIE_VARIABLE = "LIVECART_SELLER_COOKIE_SECURE"
BUYER_COOKIE_VARIABLE = "LIVECART_BUYER_COOKIE_SECURE"


@dataclass(frozen=True)
class SellerLogin:
    email: str
    password: str
    file: Path


def demo_seller_login(path: Path, environ: Mapping[str, str]) -> SellerLogin:
    """The demo seller's login: the caller's `LIVECART_DEMO_SELLER_PASSWORD`, else the one
    kept in `path`, else a new random one written there."""
    password = environ.get(PASSWORD_VARIABLE, "").strip()
    if not password and path.exists():
        password = path.read_text().strip()
    if not password:
        password = secrets.token_urlsafe(12)
    write_private(path, password + "\n")
    return SellerLogin(DEMO_SELLER_EMAIL, password, path)


def seed_environment(env: Mapping[str, str], login: SellerLogin) -> dict[str, str]:
    """What the seed commands get: the services' environment and the demo password."""
    return {**env, PASSWORD_VARIABLE: login.password}


def local_http_cookies(env: dict[str, str]) -> None:
    """`make up` serves plain http on localhost: seller and buyer cookies cannot be Secure
    there (unless the caller says otherwise; production mode refuses insecure ones anyway)."""
    env.setdefault(COOKIE_VARIABLE, "false")
    env.setdefault(BUYER_COOKIE_VARIABLE, "false")
