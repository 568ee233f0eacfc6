"""The one envelope every livecart event travels in."""

from datetime import UTC, datetime
from typing import ClassVar, Generic, Self, TypeVar

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

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]

    event_id: str = Field(
        min_length=1,
        max_length=64,
        description="Unique, time-sortable id (UUIDv7). Consumers deduplicate on it.",
    )
    type: str = Field(description="Event type, e.g. `checkout.requested`.")
    version: int = Field(ge=1, description="Version of `data`'s schema for this type.")
    occurred_at: AwareDatetime = Field(description="When the event happened, ISO 8601 in UTC.")
    correlation_id: str = Field(
        min_length=1,
        max_length=64,
        description="The checkout id this event belongs to, carried end to end.",
    )
    producer: str = Field(
        min_length=1, max_length=64, description="The service that emitted the event."
    )
    data: DataT = Field(description="The event's payload.")

    @classmethod
    def new(cls, *, correlation_id: str, producer: str, data: DataT) -> Self:
        """A new event of this type: fresh event id, occurred now.

        Every envelope field is required on the wire; only this constructor fills them.
        """
        return cls(
            event_id=new_event_id(),
            type=cls.TYPE,
            version=cls.VERSION,
            occurred_at=utc_now(),
            correlation_id=correlation_id,
            producer=producer,
            data=data,
        )

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_text_only(cls, value: object) -> object:
        # pydantic would also take a number as a Unix time; the contract says ISO 8601 text.
        if not isinstance(value, str | datetime):
            raise ValueError("occurred_at must be an ISO 8601 date-time string")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:  # e.g. 0001-01-01T00:00+05:00: before year 1 in UTC
            raise ValueError("occurred_at is outside the years 1 to 9999 in UTC") from exc
