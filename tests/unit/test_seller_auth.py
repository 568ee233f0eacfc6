"""Seller sign-in helpers (services/common/seller_auth.py) and the console's own pure
pieces: what a redirect may point at, and what a request body may hold."""

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi import Response
from pydantic import ValidationError

from contracts import utc_now
from services.common.seller_auth import (
    MIN_PASSWORD_LENGTH,
    CookiePolicy,
    NewSession,
    csrf_matches,
    hash_password,
    new_token,
    token_digest,
    verify_or_waste,
    verify_password,
)
from services.orders.entrypoints.console_auth import local_path
from services.orders.entrypoints.console_schemas import ProductCreate, StockChange
from services.orders.entrypoints.console_web import major, money

PASSWORD = "correct horse battery"


def test_a_password_hash_is_argon2id_and_verifies_only_the_same_password() -> None:
    stored = hash_password(PASSWORD)

    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "!")
    assert hash_password(PASSWORD) != stored  # salted


def test_a_short_password_is_refused() -> None:
    with pytest.raises(ValueError, match=str(MIN_PASSWORD_LENGTH)):
        hash_password("x" * (MIN_PASSWORD_LENGTH - 1))


def test_a_malformed_hash_or_missing_account_verifies_nothing_and_raises_nothing() -> None:
    assert not verify_password("not-a-hash", PASSWORD)
    assert not verify_or_waste(None, PASSWORD)
    assert verify_or_waste(hash_password(PASSWORD), PASSWORD)


def test_csrf_tokens_match_only_exactly() -> None:
    token = new_token()

    assert csrf_matches(token, token)
    assert not csrf_matches(token, None)
    assert not csrf_matches(token, "")
    assert not csrf_matches(token, token[:-1])
    assert not csrf_matches(token, token + "x")
    assert not csrf_matches(token, "\ud800")  # odd input is a mismatch, not a crash


def test_a_session_stores_only_the_digest_of_its_token() -> None:
    session = NewSession.starting_now(timedelta(hours=2))

    assert session.token_sha256 == token_digest(session.token) != session.token
    assert len(session.token_sha256) == 64
    assert session.csrf_token != session.token
    assert timedelta(hours=1.9) < session.expires_at - utc_now() <= timedelta(hours=2)


def _cookie_attributes(policy: CookiePolicy, *, clear: bool = False) -> str:
    response = Response()
    if clear:
        policy.clear(response)
    else:
        policy.set(response, "token-value")
    header = response.headers["set-cookie"]
    assert SimpleCookie(header)[policy.name] is not None
    return header.lower()


@pytest.mark.parametrize("secure", [True, False])
def test_the_session_cookie_is_httponly_strict_and_secure_as_configured(secure: bool) -> None:
    policy = CookiePolicy("livecart_marketplace_seller", secure, 3600)
    header = _cookie_attributes(policy)

    assert header.startswith("livecart_marketplace_seller=token-value;")
    assert "httponly" in header
    assert "samesite=strict" in header
    assert "path=/" in header
    assert "max-age=3600" in header
    assert ("secure" in header.replace("samesite", "")) is secure


def test_clearing_the_cookie_keeps_its_attributes_and_expires_it() -> None:
    header = _cookie_attributes(CookiePolicy("c", True, 3600), clear=True)

    assert "max-age=0" in header
    assert "httponly" in header
    assert "samesite=strict" in header
    assert "secure" in header.replace("samesite", "")


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/seller/orders?status=confirmed", "/seller/orders?status=confirmed"),
        ("/seller", "/seller"),
        (None, "/seller"),
        ("", "/seller"),
        ("https://evil.example/", "/seller"),
        ("//evil.example/", "/seller"),
        ("/\\evil.example", "/seller"),
        ("seller", "/seller"),
        ("/seller\r\nSet-Cookie: x=1", "/seller"),
        ("/\ud800", "/seller"),
    ],
)
def test_after_sign_in_only_a_local_path_is_followed(candidate: str | None, expected: str) -> None:
    assert local_path(candidate) == expected


def test_prices_are_shown_in_major_units() -> None:
    assert money(4990, "EUR") == "49.90 EUR"
    assert money(123456789, "EUR") == "1,234,567.89 EUR"
    assert major(5) == "0.05"


def _product(**overrides: object) -> dict[str, object]:
    return {"sku": "SKU-1", "title": "Mug", "price_minor": 990, "stock": 3} | overrides


@pytest.mark.parametrize(
    "overrides",
    [
        {"price_minor": "990"},  # a string for a number
        {"stock": -1},
        {"stock": True},
        {"colour": "red"},  # unknown field
        {"title": "bad \ud800 title"},  # lone surrogate
        {"title": "nul\x00byte"},
        {"title": "evil \u202e txet"},  # bidi override
        {"title": "   "},
        {"sku": "has space"},
        {"image_url": "javascript:alert(1)"},
        {"image_url": "http://plain.example/x.png"},
        {"image_url": "/static/../secret"},
        {"currency": "eur"},
    ],
)
def test_a_product_body_with_anything_odd_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ProductCreate.model_validate(_product(**overrides))


def test_a_product_title_may_hold_any_ordinary_unicode() -> None:
    body = ProductCreate.model_validate(_product(title="  Café ☕ 👩‍💻 タイトル  "))

    assert body.title == "Café ☕ 👩‍💻 タイトル"


@pytest.mark.parametrize("body", [{}, {"set": 1, "add": 1}, {"add": 0}, {"set": "3"}, {"put": 1}])
def test_a_stock_change_is_exactly_one_whole_number(body: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        StockChange.model_validate(body)


def test_a_stock_change_reads_set_and_add() -> None:
    assert StockChange.model_validate({"set": 0}).set_to == 0
    assert StockChange.model_validate({"add": 5}).add == 5
