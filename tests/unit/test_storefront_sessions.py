"""Buyer sessions without I/O: new buyers, resumed buyers, and the cookie's attributes."""

from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from fastapi import Response

from services.common.tokens import BuyerTokens, InvalidToken
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.sessions import set_buyer_cookie
from services.storefront.sessions import (
    BuyerSession,
    authenticate,
    open_session,
    resume_session,
)

TOKENS = BuyerTokens("unit-test-secret-that-is-long-enough")
FORGED = BuyerTokens("some-other-secret-that-is-long-enough")


def test_a_new_session_is_a_new_buyer_whose_token_names_them() -> None:
    ids = iter(["buyer-a", "buyer-b"])
    first = open_session(tokens=TOKENS, fresh_buyer_id=lambda: next(ids))
    second = open_session(tokens=TOKENS, fresh_buyer_id=lambda: next(ids))

    assert (first.buyer_id, second.buyer_id) == ("buyer-a", "buyer-b")
    assert TOKENS.buyer_of(first.token) == "buyer-a"


def test_real_buyer_ids_are_unique_and_fit_the_contract_pattern() -> None:
    ids = {open_session(tokens=TOKENS).buyer_id for _ in range(100)}
    assert len(ids) == 100
    assert all(i.startswith("buyer-") and len(i) <= 64 for i in ids)


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        (FORGED.issue("buyer-a"), "invalid"),
        (BuyerTokens(TOKENS.secret, ttl=timedelta(seconds=-1)).issue("buyer-a"), "expired"),
    ],
    ids=["none", "empty", "forged", "expired"],
)
def test_authentication_names_why_a_token_proves_no_buyer(token: str | None, reason: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        authenticate(tokens=TOKENS, token=token)
    assert refused.value.reason == reason


def test_a_valid_token_authenticates_its_buyer() -> None:
    token = TOKENS.issue("buyer-a")
    assert authenticate(tokens=TOKENS, token=token) == BuyerSession("buyer-a", token)


def test_resuming_keeps_the_buyer_of_a_valid_token_and_replaces_any_other() -> None:
    assert resume_session(tokens=TOKENS, token=TOKENS.issue("buyer-a")).buyer_id == "buyer-a"
    for token in (None, FORGED.issue("buyer-a"), "garbage"):
        resumed = resume_session(tokens=TOKENS, token=token)
        assert resumed.buyer_id != "buyer-a"
        assert TOKENS.buyer_of(resumed.token) == resumed.buyer_id


@pytest.mark.parametrize("secure", [True, False])
def test_the_buyer_cookie_is_lax_site_wide_httponly_and_secure_unless_local_http(
    secure: bool,
) -> None:
    # model_construct: the production checks (passwords, PostgreSQL) are not under test here.
    settings = StorefrontSettings.model_construct(buyer_cookie_secure=secure)
    response = Response()

    set_buyer_cookie(response, BuyerSession("buyer-a", "t.o.k"), settings)

    morsel = SimpleCookie(response.headers["set-cookie"])["livecart_buyer"]
    assert morsel.value == "t.o.k"
    assert (morsel["path"], morsel["samesite"].lower(), morsel["domain"]) == ("/", "lax", "")
    assert morsel["httponly"] is True
    assert bool(morsel["secure"]) is secure
    assert int(morsel["max-age"]) == settings.token_ttl_seconds


def test_the_buyer_cookie_names_the_configured_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVECART_BUYER_COOKIE_DOMAIN", "shop.example")
    response = Response()

    set_buyer_cookie(response, BuyerSession("buyer-a", "t.o.k"), StorefrontSettings())

    assert SimpleCookie(response.headers["set-cookie"])["livecart_buyer"]["domain"] == (
        "shop.example"
    )


def test_a_cookie_domain_that_is_no_host_name_is_refused() -> None:
    for domain in ("localhost", "shop.example/path", "a b.example", "shop.example:8000"):
        with pytest.raises(ValueError, match="buyer_cookie_domain"):
            StorefrontSettings(buyer_cookie_domain=domain)
