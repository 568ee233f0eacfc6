"""The audit's view of the seller's half, without I/O: the storefront's new tables pass the
schema check, the payment-data check samples the storefront's new streams, and seller
credentials pass only as Argon2id hashes and SHA-256 digests."""

import hashlib

import pytest
from argon2 import PasswordHasher

from contracts import Streams
from services.ops.checks.credentials import StoredCredentials, check_seller_credentials
from services.ops.checks.payment_data import storefront_side_streams
from services.ops.checks.result import Outcome
from services.ops.checks.schema import check_storefront_schema

SELLER_TABLES = {
    "seller_accounts": ["seller_id", "email", "name", "password_hash", "created_at"],
    "seller_sessions": ["token_sha256", "seller_id", "csrf_token", "expires_at"],
    "catalog_products": [
        "sku", "seller_id", "title", "price_minor", "currency", "image_url", "version",
    ],
    "room_figures": ["room_id", "figures", "updated_at"],
    "room_viewers": ["room_id", "buyer_id", "first_seen_at"],
    "rooms": [
        "room_id", "title", "seller_id", "scheduled_at", "stream_url", "live_state",
        "went_live_at", "ended_at",
    ],
    "pinned_products": ["room_id", "sku", "title", "price_minor", "currency", "image_url"],
}  # fmt: skip
"""The storefront's tables for sellers, as docs/sellers.md names them."""

HASH = PasswordHasher().hash("a-password-of-the-demo-seller")
DIGEST = hashlib.sha256(b"a-session-token").hexdigest()


def test_the_storefronts_seller_tables_hold_no_order_payment_or_stock_of_record() -> None:
    result = check_storefront_schema(SELLER_TABLES, where="sqlite:///storefront.db")

    assert result.outcome is Outcome.PASSED, result.problems
    assert result.summary == "7 tables, none holds orders, payments or stock"
    assert "`room_figures`: room_id, figures, updated_at" in result.evidence


def test_a_stock_column_in_the_storefronts_catalog_would_fail_the_schema_check() -> None:
    catalog = {"catalog_products": [*SELLER_TABLES["catalog_products"], "available"]}

    result = check_storefront_schema(catalog, where="x")

    assert result.problems == ["column `catalog_products.available` (matches `available`)"]


def test_the_payment_data_check_samples_every_stream_the_storefront_writes() -> None:
    streams = Streams("lc", 2)

    sampled = storefront_side_streams(streams)

    assert list(sampled) == [
        "checkout.requested.0",
        "checkout.requested.1",
        "flash_deal.requested",
        "order.cancellation_requested",
        "room.changed",
        "chat",
        "room.reactions",
        "catalog.changed",
    ]
    assert sampled["room.changed"] == "lc:{room.changed}"


def stored(
    where: str, accounts: list[tuple[str, str]] | None, sessions: list[tuple[str, str]] | None
) -> StoredCredentials:
    return StoredCredentials(where, accounts, sessions)


def test_argon2id_hashes_and_sha256_digests_in_both_databases_pass_with_their_counts() -> None:
    result = check_seller_credentials(
        [
            stored("orders DB", [("demo-seller", HASH)], [("demo-seller", DIGEST)]),
            stored("storefront DB", [("demo-seller", HASH), ("s-2", HASH)], []),
        ]
    )

    assert result.outcome is Outcome.PASSED, result.problems
    assert result.summary == "3 seller accounts (Argon2id) and 1 session (SHA-256) in 2 databases"
    assert result.evidence == [
        "orders DB: 1 seller account, 1 with an Argon2id password hash",
        "orders DB: 1 seller session, 1 stored as a SHA-256 digest of the token",
        "storefront DB: 2 seller accounts, 2 with an Argon2id password hash",
        "storefront DB: 0 seller sessions, 0 stored as a SHA-256 digest of the token",
    ]


def test_no_seller_account_yet_passes_and_says_so() -> None:
    result = check_seller_credentials(
        [stored("orders DB", [], []), stored("storefront DB", None, None)]
    )

    assert result.outcome is Outcome.PASSED
    assert result.summary.endswith("; no seller account yet")
    assert (
        "orders DB: 0 seller accounts, 0 with an Argon2id password hash (none yet: "
        in (result.evidence[0])
    )
    assert "storefront DB: no seller_accounts table (no seller signs in there)" in result.evidence


@pytest.mark.parametrize(
    "password_hash",
    [
        "a-password-in-clear",
        hashlib.sha256(b"pw").hexdigest(),
        HASH.replace("$argon2id$", "$argon2i$"),
        "$argon2id$",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA trailing",
        "",
    ],
)
def test_a_password_stored_any_other_way_fails_naming_the_seller_not_the_value(
    password_hash: str,
) -> None:
    result = check_seller_credentials([stored("storefront DB", [("s-1", password_hash)], [])])

    assert result.outcome is Outcome.FAILED
    assert result.problems == ["storefront DB: seller s-1: password_hash is not an Argon2id hash"]
    text = "\n".join(result.problems + result.evidence)
    assert not password_hash or password_hash not in text


@pytest.mark.parametrize("token", ["Qx3v-raw-token_urlsafe-43-chars-xxxxxxxxxxx", DIGEST[:63], ""])
def test_a_session_token_stored_as_such_fails(token: str) -> None:
    result = check_seller_credentials([stored("orders DB", [("s-1", HASH)], [("s-1", token)])])

    assert result.problems == [
        "orders DB: a session of seller s-1: token_sha256 is not a SHA-256 digest (a raw token?)"
    ]


def test_a_database_that_could_not_be_read_fails_the_check_and_the_other_is_still_judged() -> None:
    result = check_seller_credentials(
        [stored("storefront DB", [("s-1", HASH)], [])],
        unread=["orders DB not read: cannot read the orders DB at sqlite:///x: gone"],
    )

    assert result.outcome is Outcome.FAILED
    assert result.problems == ["orders DB not read: cannot read the orders DB at sqlite:///x: gone"]
    assert result.evidence[0] == "storefront DB: 1 seller account, 1 with an Argon2id password hash"
