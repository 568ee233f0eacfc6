"""Signed, expiring buyer tokens (JWT, HS256): issued by the storefront, checked by the notifier.

Both sides share only the secret (`LIVECART_TOKEN_SECRET`); the token carries the
buyer id, so the notifier needs no session store.
"""

from dataclasses import dataclass
from datetime import timedelta

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


@dataclass(frozen=True)
class BuyerTokens:
    secret: str
    ttl: timedelta = timedelta(hours=12)

    def issue(self, buyer_id: str) -> str:
        now = utc_now()
        claims = {"sub": buyer_id, "aud": AUDIENCE, "iat": now, "exp": now + self.ttl}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def buyer_of(self, token: str | None) -> str:
        """The buyer id in a valid token; InvalidToken otherwise."""
        if not token:
            raise InvalidToken("missing")
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                options={"require": ["sub", "exp", "aud"]},
            )  # fmt: skip
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("expired") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken("invalid") from exc
        buyer = claims.get("sub")
        if not isinstance(buyer, str) or not buyer:
            raise InvalidToken("invalid")
        return buyer


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization` header value (`Bearer <token>`, scheme in any case);
    None without the header, InvalidToken("invalid") for another scheme or no token."""
    if authorization is None:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise InvalidToken("invalid")
    return credentials.strip()
