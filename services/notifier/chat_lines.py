"""What a live room's stream says about its chat: the public face of `chat.posted`,
`chat.moderated` and `room.reacted`. Never the buyer: a name derived from them, the text,
and counts of reactions."""

from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, Field

from contracts import ChatPosted, ReactionKind


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True)


class ChatLine(_Payload):
    """One chat message as every viewer sees it (`chat` event, and the snapshot's `chat`)."""

    id: str = Field(description="The message id (the seller moderates by it).")
    name: str = Field(description="The writer's display name (not who they are).")
    text: str = Field(description="Plain text: show it as text, never as HTML.")
    at: datetime = Field(description="When it was written.")

    @classmethod
    def of(cls, message: ChatPosted, at: datetime) -> Self:
        return cls(id=message.message_id, name=message.display_name, text=message.text, at=at)


class ChatDeleted(_Payload):
    """The seller deleted a message (`chat_deleted` event): remove it."""

    id: str = Field(description="The message id.")


class Reactions(_Payload):
    """Reactions sent since the last `reaction` event of the room, by kind."""

    counts: dict[ReactionKind, int] = Field(description="How many of each kind.")
