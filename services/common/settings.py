"""Settings every service shares; each service extends them with its own env prefix."""

import os
from datetime import timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import AliasChoices, Field, RedisDsn, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import DEFAULT_PREFIX, MAX_CHECKOUT_PARTITIONS, Streams
from contracts.wire import MAX_ENTRY_BYTES
from services.common.tokens import BuyerTokens


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Redis, stream prefix and mode. Subclasses set `env_prefix` (e.g. `ORDERS_`)."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    environment: Environment = Field(
        default=Environment.DEVELOPMENT,
        validation_alias=AliasChoices("LIVECART_ENV", "environment"),
    )
    redis_url: RedisDsn = Field(
        default=RedisDsn("redis://localhost:6379/0"),
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
    )
    stream_prefix: str = Field(
        default=DEFAULT_PREFIX,
        # No braces: every key's Redis Cluster hash tag is the stream's own (contracts/streams.py).
        pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
        validation_alias=AliasChoices("LIVECART_STREAM_PREFIX", "stream_prefix"),
    )
    checkout_partitions: int = Field(
        default=1,
        ge=1,
        le=MAX_CHECKOUT_PARTITIONS,
        description="Checkout streams; every service of a deployment must use the same number.",
        validation_alias=AliasChoices("LIVECART_CHECKOUT_PARTITIONS", "checkout_partitions"),
    )
    redis_cluster: bool = Field(
        default=False,
        description="REDIS_URL names a node of a Redis Cluster: talk Cluster (follow slots).",
        validation_alias=AliasChoices("LIVECART_REDIS_CLUSTER", "redis_cluster"),
    )
    host: str = "127.0.0.1"
    log_level: str = Field(
        default="WARNING", validation_alias=AliasChoices("LIVECART_LOG_LEVEL", "log_level")
    )

    @model_validator(mode="before")
    @classmethod
    def _own_redis_user(cls, data: Any) -> Any:
        """`<SERVICE>_REDIS_URL` (e.g. `ORDERS_REDIS_URL`, carrying that service's own ACL
        user) wins over the shared `REDIS_URL`."""
        prefix = cls.model_config.get("env_prefix") or ""
        own = os.environ.get(f"{prefix}REDIS_URL") if prefix else None
        if own and isinstance(data, dict):
            shared = {"REDIS_URL", "redis_url"}
            return {**{k: v for k, v in data.items() if k not in shared}, "redis_url": own}
        return data

    @property
    def service_name(self) -> str:
        """`orders`, `storefront`, `notifier`… from the env prefix; `livecart` without one."""
        prefix = str(self.model_config.get("env_prefix") or "")
        return prefix.rstrip("_").lower() or "livecart"

    @property
    def streams(self) -> Streams:
        return Streams(self.stream_prefix, self.checkout_partitions)

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    @model_validator(mode="after")
    def _refuse_development_defaults_in_production(self) -> Self:
        if self.is_production:
            problems = self.development_defaults_in_use()
            if problems:
                raise ValueError(
                    "production mode refuses development defaults: " + "; ".join(problems)
                )
        return self

    def development_defaults_in_use(self) -> list[str]:
        """What would be unsafe in production; subclasses add their own checks."""
        problems = []
        if self.redis_url.password is None:
            problems.append("REDIS_URL has no password (set a per-service ACL user)")
        return problems


class SellerAuthSettings(ServiceSettings):
    """Seller sign-in (services/common/seller_auth.py), on the storefront and the marketplace."""

    seller_cookie_secure: bool = Field(
        default=True,
        description="Send the seller session cookie over https only; false only for local http.",
        validation_alias=AliasChoices("LIVECART_SELLER_COOKIE_SECURE", "seller_cookie_secure"),
    )
    seller_session_hours: float = Field(
        default=12.0,
        gt=0,
        le=24 * 30,
        description="A seller stays signed in this long.",
        validation_alias=AliasChoices("LIVECART_SELLER_SESSION_HOURS", "seller_session_hours"),
    )

    def development_defaults_in_use(self) -> list[str]:
        problems = super().development_defaults_in_use()
        if not self.seller_cookie_secure:
            problems.append("LIVECART_SELLER_COOKIE_SECURE is false (cookies over plain http)")
        return problems


class ConsumerSettings(ServiceSettings):
    """Knobs of a consumer group (see services/common/streams/consumer.py and delivery.py)."""

    claim_idle_ms: int = Field(
        default=15_000,
        ge=100,
        description="Pending this long on a consumer, an entry is claimed by another; keep "
        "it a few seconds above the slowest handler (the payment timeout).",
    )
    max_deliveries: int = Field(default=5, ge=1, description="Deliveries before dead-lettering.")
    max_entry_bytes: int = Field(default=MAX_ENTRY_BYTES, ge=1024)
    consumer_gone_ms: int = Field(
        default=300_000, ge=1000, description="Idle this long with nothing pending: removed."
    )
    upkeep_seconds: float = Field(default=1.0, gt=0)
    consumer_max_records: int = Field(default=10, ge=1, le=1000)
    consumer_block_ms: int = Field(default=1000, ge=1, le=5000)


DEVELOPMENT_TOKEN_SECRET = "livecart-development-token-secret-change-me"


class TokenSettings(ServiceSettings):
    """The shared secret of buyer tokens (storefront issues them, notifier checks them)."""

    token_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_TOKEN_SECRET),
        validation_alias=AliasChoices("LIVECART_TOKEN_SECRET", "token_secret"),
    )
    token_ttl_seconds: int = Field(default=12 * 3600, ge=60)

    def development_defaults_in_use(self) -> list[str]:
        problems = super().development_defaults_in_use()
        secret = self.token_secret.get_secret_value()
        if secret == DEVELOPMENT_TOKEN_SECRET or len(secret) < 32:
            problems.append("LIVECART_TOKEN_SECRET is the development default or too short")
        return problems

    @property
    def buyer_tokens(self) -> BuyerTokens:
        return BuyerTokens(
            self.token_secret.get_secret_value(), timedelta(seconds=self.token_ttl_seconds)
        )
