"""The live room's chat and reactions: events of the storefront (the social side) that the
notifier fans out to the room's public stream. The marketplace never reads them.

`chat.posted` and `chat.moderated` travel on `Streams.chat` (in order: a deletion comes
after the message it deletes), `room.reacted` on `Streams.reactions`. Both streams are
capped: they feed live rooms, nothing replays them.
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, RootModel, model_validator

from contracts.envelope import Envelope
from contracts.events import Identifier, _Payload

MAX_CHAT_TEXT = 200
"""Characters of one chat message at most (after trimming)."""
MAX_DISPLAY_NAME = 40


class ReactionKind(StrEnum):
    """The reactions a viewer can send: a fixed set, so nothing free-form floats over a live."""

    HEART = "heart"
    FIRE = "fire"
    CLAP = "clap"
    LAUGH = "laugh"


class ChatPosted(_Payload):
    """v1: a buyer said something in a live room's chat; the storefront checked the text,
    the room (live) and the buyer (signed in, not muted)."""

    message_id: Identifier = Field(description="The message; moderation names it.")
    room_id: Identifier = Field(description="The live room.")
    buyer_id: Identifier = Field(
        description="Who wrote it (for moderation only: never shown, never sent to browsers)."
    )
    display_name: str = Field(
        min_length=1,
        max_length=MAX_DISPLAY_NAME,
        description="The name shown next to the message (derived from the buyer, not them).",
    )
    text: str = Field(
        min_length=1,
        max_length=MAX_CHAT_TEXT,
        description="The message, trimmed, without control characters; plain text, never HTML.",
    )


class ChatModerated(_Payload):
    """v1: the room's seller deleted a message (`deleted`) or muted its author (`muted`)."""

    room_id: Identifier = Field(description="The live room.")
    seller_id: Identifier = Field(description="The seller who moderated (the room's host).")
    action: Literal["deleted", "muted"] = Field(description="What the seller did.")
    message_id: Identifier = Field(
        description="The message deleted, or the message whose author was muted."
    )
    buyer_id: Identifier | None = Field(
        default=None, description="`muted`: the author muted (never sent to browsers)."
    )
    muted_until: AwareDatetime | None = Field(
        default=None, description="`muted`: when the author may write again."
    )

    @model_validator(mode="after")
    def _mute_names_whom_and_until_when(self) -> "ChatModerated":
        if self.action == "muted" and (self.buyer_id is None or self.muted_until is None):
            raise ValueError("a `muted` moderation needs buyer_id and muted_until")
        return self


class RoomReacted(_Payload):
    """v1: a viewer sent a reaction (a heart, …) in a live room. Nobody's id: it is
    shown as a count, never as who."""

    room_id: Identifier = Field(description="The live room.")
    kind: ReactionKind = Field(description="Which reaction.")


class ChatPostedEvent(Envelope[ChatPosted]):
    """`chat.posted` v1 on the wire; `correlation_id` is the room id."""

    TYPE = "chat.posted"
    VERSION = 1
    type: Literal["chat.posted"]
    version: Literal[1]


class ChatModeratedEvent(Envelope[ChatModerated]):
    """`chat.moderated` v1 on the wire; `correlation_id` is the room id."""

    TYPE = "chat.moderated"
    VERSION = 1
    type: Literal["chat.moderated"]
    version: Literal[1]


class RoomReactedEvent(Envelope[RoomReacted]):
    """`room.reacted` v1 on the wire; `correlation_id` is the room id."""

    TYPE = "room.reacted"
    VERSION = 1
    type: Literal["room.reacted"]
    version: Literal[1]


class ChatEvent(
    RootModel[Annotated[ChatPostedEvent | ChatModeratedEvent, Field(discriminator="type")]]
):
    """What `Streams.chat` carries: a `chat.posted` or a `chat.moderated` envelope, told
    apart by `type` (`root` is the envelope)."""

    model_config = ConfigDict(frozen=True)
