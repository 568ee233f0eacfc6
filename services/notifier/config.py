"""Settings of the notifier service (env prefix `NOTIFIER_`)."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore", populate_by_name=True)

    port: int = 8001
    history_seconds: int = Field(
        default=900,
        ge=1,
        description="How far back in `order.status` a starting notifier reads to rebuild history.",
    )
    max_checkouts: int = Field(
        default=100_000, ge=1, description="Bound on the checkouts whose statuses are remembered."
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: ["*"], description="Origins allowed to open the SSE streams."
    )
    heartbeat_seconds: float = Field(
        default=15, gt=0, description="Interval of SSE comment pings that keep proxies open."
    )
