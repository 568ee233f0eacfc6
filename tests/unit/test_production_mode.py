"""Production mode refuses the defaults that are only safe in development."""

import pytest
from pydantic import ValidationError

from services.common.settings import DEVELOPMENT_TOKEN_SECRET
from services.notifier.config import NotifierSettings
from services.orders.config import OrdersSettings
from services.storefront.config import StorefrontSettings

SAFE_REDIS = "redis://orders:s3cret@redis.internal:6379/0"
SECRET = "x" * 48


@pytest.mark.parametrize(
    ("settings_class", "values", "complaint"),
    [
        (OrdersSettings, {"redis_url": "redis://localhost:6379/0",
                          "database_url": "postgresql+asyncpg://db/x"}, "has no password"),
        (OrdersSettings, {"redis_url": SAFE_REDIS}, "SQLite"),
        (NotifierSettings, {"redis_url": SAFE_REDIS,
                            "token_secret": DEVELOPMENT_TOKEN_SECRET}, "LIVECART_TOKEN_SECRET"),
        (StorefrontSettings, {"redis_url": SAFE_REDIS, "token_secret": "short"},
         "LIVECART_TOKEN_SECRET"),
    ],
)  # fmt: skip
def test_production_mode_refuses_development_defaults(
    settings_class: type, values: dict[str, str], complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        settings_class(environment="production", **values)


def test_production_mode_starts_with_real_settings() -> None:
    settings = OrdersSettings(
        environment="production", redis_url=SAFE_REDIS,
        database_url="postgresql+asyncpg://orders@db.internal/livecart",
    )  # fmt: skip
    assert settings.is_production
    NotifierSettings(environment="production", redis_url=SAFE_REDIS, token_secret=SECRET)
