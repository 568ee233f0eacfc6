"""Production mode refuses the defaults that are only safe in development."""

import pytest
from pydantic import ValidationError

from services.common.settings import DEVELOPMENT_TOKEN_SECRET
from services.notifier.config import NotifierSettings
from services.orders.config import OrdersSettings
from services.storefront.config import StorefrontSettings

SAFE_REDIS = "redis://orders:s3cret@redis.internal:6379/0"
SECRET = "x" * 48
SHOP = "https://shop.example"


@pytest.mark.parametrize(
    ("settings_class", "values", "complaint"),
    [
        (OrdersSettings, {"redis_url": "redis://localhost:6379/0",
                          "database_url": "postgresql+asyncpg://db/x"}, "has no password"),
        (OrdersSettings, {"redis_url": SAFE_REDIS}, "SQLite"),
        (OrdersSettings, {"redis_url": SAFE_REDIS, "database_url": "postgresql+asyncpg://db/x"},
         "ORDERS_PAYMENT_TICKET_SECRET"),
        (NotifierSettings, {"redis_url": SAFE_REDIS, "cors_origins": SHOP,
                            "token_secret": DEVELOPMENT_TOKEN_SECRET}, "LIVECART_TOKEN_SECRET"),
        (NotifierSettings, {"redis_url": SAFE_REDIS, "token_secret": SECRET},
         "NOTIFIER_CORS_ORIGINS allows every origin"),
        (NotifierSettings, {"redis_url": SAFE_REDIS, "token_secret": SECRET,
                            "cors_origins": f"{SHOP},*"}, "NOTIFIER_CORS_ORIGINS"),
        (StorefrontSettings, {"redis_url": SAFE_REDIS, "token_secret": SECRET,
                              "buyer_cookie_secure": "false"}, "LIVECART_BUYER_COOKIE_SECURE"),
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
        payment_ticket_secret=SECRET,
    )  # fmt: skip
    assert settings.is_production
    notifier = NotifierSettings(
        environment="production", redis_url=SAFE_REDIS, token_secret=SECRET,
        cors_origins=f"{SHOP}, https://www.shop.example/",
    )  # fmt: skip
    assert notifier.cors_origins == [SHOP, "https://www.shop.example"]


def test_the_notifier_takes_origins_only() -> None:
    with pytest.raises(ValidationError, match="is not an origin"):
        NotifierSettings(cors_origins=f"{SHOP}/rooms")
    assert NotifierSettings(cors_origins=f'["{SHOP}"]').cors_origins == [SHOP]
