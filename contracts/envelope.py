"""The one envelope every livecart event travels in."""

from datetime import UTC, datetime
from typing import Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from uuid_utils.compat import uuid7

DataT = TypeVar("DataT", bound=BaseModel)


def new_event_id() -> str:
    """A unique, time-sortable id (UUIDv7 text) for an event, a checkout or an order."""
    return str(uuid7())


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel, Generic[DataT]):
    """Metadata common to every event; `data` holds the versioned payload."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: str = Field(
        default_factory=new_event_id,
        min_length=1,
        max_length=64,
        description="Unique, time-sortable id (UUIDv7). Consumers deduplicate on it.",
    )
    type: str = Field(description="Event type, e.g. `checkout.requested`.")
    version: int = Field(ge=1, description="Version of `data`'s schema for this type.")
    occurred_at: AwareDatetime = Field(
        default_factory=utc_now, description="When the event happened, ISO 8601 in UTC."
    )
    correlation_id: str = Field(
        min_length=1,
        max_length=64,
        description="The checkout id this event belongs to, carried end to end.",
    )
    producer: str = Field(
        min_length=1, max_length=64, description="The service that emitted the event."
    )
    data: DataT = Field(description="The event's payload.")

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)
