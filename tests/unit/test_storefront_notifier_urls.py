"""Which notifier a buyer's browser is sent to when several notifier replicas run side by
side without a load balancer (NOTIFIER_PUBLIC_URLS)."""

import pytest

from services.storefront.config import StorefrontSettings

A, B = "http://localhost:8001", "http://localhost:8011/"


def settings_from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> StorefrontSettings:
    for name in ("NOTIFIER_PUBLIC_URL", "NOTIFIER_PUBLIC_URLS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return StorefrontSettings()


def test_one_notifier_serves_every_buyer_when_no_list_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from_env(monkeypatch, NOTIFIER_PUBLIC_URL=A)
    assert {settings.notifier_for(f"buyer-{i}") for i in range(50)} == {A}
    assert settings.events_url("co-1", buyer_id="buyer-1") == f"{A}/events/checkouts/co-1"


def test_buyers_are_spread_over_the_listed_notifiers_each_always_to_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from_env(monkeypatch, NOTIFIER_PUBLIC_URLS=f" {A} , {B},")
    assert settings.notifier_public_urls == [A, B]
    chosen = {f"buyer-{i}": settings.notifier_for(f"buyer-{i}") for i in range(200)}
    assert set(chosen.values()) == {A, B.rstrip("/")}
    assert 50 < sum(url == A for url in chosen.values()) < 150, "roughly half each"
    again = settings_from_env(monkeypatch, NOTIFIER_PUBLIC_URLS=f"{A},{B}")
    assert all(again.notifier_for(buyer) == url for buyer, url in chosen.items())


def test_a_checkouts_events_url_and_its_buyers_stream_point_at_the_same_notifier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from_env(monkeypatch, NOTIFIER_PUBLIC_URLS=f"{A},{B}")
    for buyer in (f"buyer-{i}" for i in range(20)):
        base = settings.notifier_for(buyer)
        assert settings.events_url("co-9", buyer_id=buyer).startswith(f"{base}/")
        assert settings.buyer_events_url(buyer_id=buyer) == f"{base}/events/buyers/me"


def test_the_page_may_connect_to_every_listed_notifier(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from_env(
        monkeypatch, NOTIFIER_PUBLIC_URL=A, NOTIFIER_PUBLIC_URLS=f"{A},{B}"
    )
    assert settings.notifier_origin == "http://localhost:8001 http://localhost:8011"
