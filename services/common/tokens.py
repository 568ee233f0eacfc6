"""Signed, expiring buyer tokens (JWT, HS256): issued by the storefront, checked by the notifier.

Both sides share only the secret (`LIVECART_TOKEN_SECRET`); the token carries the
buyer id, so the notifier needs no session store.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from contracts import utc_now

AUDIENCE = "livecart-buyer"
BUYER_COOKIE = "livecart_buyer"
"""The cookie the storefront keeps a browser's buyer token in (HttpOnly); the notifier's
buyer streams read it too, so a page's EventSource needs no token in its URL."""
ALGORITHM = "HS256"


class InvalidToken(Exception):
    """`reason` is `missing`, `expired` or `invalid` (forged, malformed, wrong audience)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signed(claims: dict[str, Any], secret: str, *, audience: str, ttl: timedelta) -> str:
    """A JWT (HS256) of `claims` for `audience`, expiring after `ttl`."""
    now = utc_now()
    claims = {**claims, "aud": audience, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verified(
    token: str | None, secret: str, *, audience: str, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The claims of a valid token for `audience` (a non-empty `sub`, an `exp`, and every
    claim in `required`); InvalidToken (`missing`, `expired`, `invalid`) otherwise."""
    if not token:
        raise InvalidToken("missing")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=[ALGORITHM], audience=audience,
            options={"require": ["sub", "exp", "aud", *required]},
        )  # fmt: skip
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("expired") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("invalid") from exc
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise InvalidToken("invalid")
    return claims


@dataclass(frozen=True)
class BuyerTokens:
    secret: str
    ttl: timedelta = timedelta(hours=12)

    def issue(self, buyer_id: str) -> str:
        return signed({"sub": buyer_id}, self.secret, audience=AUDIENCE, ttl=self.ttl)

    def buyer_of(self, token: str | None) -> str:
        """The buyer id in a valid token; InvalidToken otherwise."""
        return str(verified(token, self.secret, audience=AUDIENCE)["sub"])


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization` header value (`Bearer <token>`, scheme in any case);
    None without the header, InvalidToken("invalid") for another scheme or no token."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise InvalidToken("invalid")
    return credentials.strip()
