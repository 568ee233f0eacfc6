"""The notifier's readers and settings as configured, without connecting to anything."""

from typing import Any

import pytest
from faststream.specification import AsyncAPI
from pydantic import ValidationError

from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.messaging import specification_broker

SECRET = "a-notifier-unit-test-secret-of-at-least-32-chars"


def document() -> dict[str, Any]:
    spec = AsyncAPI(specification_broker(), title="notifier").to_specification()
    result: dict[str, Any] = spec.to_jsonable()
    return result


def test_the_specification_documents_six_fan_out_readers_without_groups() -> None:
    channels = document()["channels"].values()
    assert {c["address"] for c in channels} == {
        "livecart:{order.status}",
        "livecart:{catalog.changed}",
        "livecart:{room.sales}",
        "livecart:{room.changed}",
        "livecart:{chat}",
        "livecart:{room.reactions}",
    }
    assert {c["bindings"]["redis"]["method"] for c in channels} == {"xread"}
    assert all("no group" in c["description"] for c in channels)
    schemas = document()["components"]["schemas"]
    assert {
        "OrderStatusChangedEvent",
        "CatalogChangedEvent",
        "RoomSalesChangedEvent",
        "RoomChangedEvent",
        "ChatPostedEvent",
        "ChatModeratedEvent",
        "RoomReactedEvent",
    } <= set(schemas)


def test_the_specification_does_not_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://user:secret@prod-redis:6379/3")
    monkeypatch.setenv("LIVECART_STREAM_PREFIX", "somewhere-else")
    text = str(document())
    assert "prod-redis" not in text
    assert "somewhere-else" not in text


def test_the_token_secret_is_the_shared_livecart_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVECART_TOKEN_SECRET", SECRET)
    settings = NotifierSettings()
    assert settings.buyer_tokens.buyer_of(settings.buyer_tokens.issue("ann")) == "ann"
    assert settings.token_secret.get_secret_value() == SECRET


def test_production_mode_refuses_the_development_token_secret() -> None:
    with pytest.raises(ValidationError, match="LIVECART_TOKEN_SECRET"):
        NotifierSettings(environment="production", redis_url="redis://u:p@redis:6379/0")
