"""Chat and reactions in a live room (the social side): what a buyer may write, the name
they appear under, and the room's seller's moderation (delete a message, mute its author).

Rules only; the events go out through a `ChatStore` (Redis, chat_store.py), and the
notifier carries them to the room's open pages. The marketplace never sees any of it.
"""

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from contracts import (
    ChatModerated,
    ChatModeratedEvent,
    ChatPosted,
    ChatPostedEvent,
    ReactionKind,
    RoomReacted,
    RoomReactedEvent,
    new_event_id,
    utc_now,
)
from contracts.chat import MAX_CHAT_TEXT
from services.storefront.domain import LiveState, Room, RoomNotFound, check_host, is_identifier
from services.storefront.service import PRODUCER, RoomReader

MAX_MUTE_MINUTES = 24 * 60
# Bidirectional overrides and isolates can make a message read as something else
# ("gpj.exe"); zero-width joiners stay (emoji sequences need them).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_ADJECTIVES = (
    "Sunny", "Happy", "Swift", "Calm", "Bright", "Brave", "Cosy", "Lucky", "Merry", "Quiet",
    "Jolly", "Kind", "Witty", "Eager", "Gentle", "Bold", "Clever", "Breezy", "Cheery", "Mellow",
    "Nimble", "Plucky", "Sparkly", "Zesty",
)  # fmt: skip
_ANIMALS = (
    "Otter", "Panda", "Fox", "Koala", "Robin", "Badger", "Dolphin", "Owl", "Penguin", "Hedgehog",
    "Lynx", "Heron", "Seal", "Rabbit", "Falcon", "Turtle", "Squirrel", "Puffin", "Gecko", "Moose",
    "Beaver", "Lemur", "Wren", "Yak",
)  # fmt: skip


class ChatClosed(ValueError):
    """The room is not live: nobody chats or reacts before it starts or after it ends."""

    reason = "room_not_live"

    def __init__(self, room_id: str, state: LiveState) -> None:
        when = "has not started yet" if state is LiveState.SCHEDULED else "has ended"
        super().__init__(f"the live {when}: chat and reactions are open while it is live")
        self.room_id = room_id
        self.state = state


class Muted(PermissionError):
    """The room's seller muted this buyer; they may write again at `until`."""

    reason = "muted"

    def __init__(self, until: datetime) -> None:
        super().__init__(f"the seller muted you in this room until {until.isoformat()}")
        self.until = until


class MessageNotFound(LookupError):
    """No recent message of this room has this id (or who wrote it is forgotten)."""

    reason = "message_not_found"

    def __init__(self, message_id: str) -> None:
        super().__init__(f"no recent message {message_id!r} in this room")
        self.message_id = message_id


def clean_chat_text(text: str) -> str:
    """The message as it will be shown: NFC, trimmed; ValueError, saying why, when it is
    empty, longer than MAX_CHAT_TEXT characters or holds a control character."""
    cleaned = unicodedata.normalize("NFC", text).strip()
    if not cleaned:
        raise ValueError("the message is empty")
    if len(cleaned) > MAX_CHAT_TEXT:
        raise ValueError(f"the message is {len(cleaned)} characters long; at most {MAX_CHAT_TEXT}")
    for char in cleaned:
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError(f"the message holds a control character (U+{ord(char):04X})")
    return cleaned


def display_name(buyer_id: str) -> str:
    """A friendly, stable name for a buyer that tells nothing about them ("Sunny Otter 42"):
    picked by a hash of the buyer id, the same in every room and every replica."""
    digest = hashlib.sha256(f"livecart chat name:{buyer_id}".encode()).digest()
    adjective = _ADJECTIVES[digest[0] % len(_ADJECTIVES)]
    animal = _ANIMALS[digest[1] % len(_ANIMALS)]
    return f"{adjective} {animal} {int.from_bytes(digest[2:4]) % 100:02d}"


@dataclass(frozen=True, slots=True)
class Author:
    room_id: str
    buyer_id: str


class ChatStore(Protocol):
    """Where chat goes (the chat and reaction streams) and what moderation keeps."""

    async def post(self, event: ChatPostedEvent) -> None:
        """Append the message and remember its author; EventUnavailable when Redis fails."""
        ...

    async def react(self, event: RoomReactedEvent) -> None: ...
    async def moderate(self, event: ChatModeratedEvent) -> None: ...
    async def author(self, message_id: str) -> Author | None: ...
    async def muted_until(self, room_id: str, buyer_id: str) -> datetime | None: ...
    async def mute(self, room_id: str, buyer_id: str, *, until: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class Chat:
    """What the chat use cases work with."""

    rooms: RoomReader
    store: ChatStore
    clock: Callable[[], datetime] = field(default=utc_now)
    new_id: Callable[[], str] = field(default=new_event_id)


async def _live_room(chat: Chat, room_id: str) -> Room:
    room = await chat.rooms.get_room(room_id) if is_identifier(room_id) else None
    if room is None:
        raise RoomNotFound(room_id)
    if room.state is not LiveState.LIVE:
        raise ChatClosed(room_id, room.state)
    return room


async def post_message(chat: Chat, *, room_id: str, buyer_id: str, text: str) -> ChatPosted:
    """Say `text` (already clean) in a live room; ChatClosed, Muted or RoomNotFound else."""
    await _live_room(chat, room_id)
    until = await chat.store.muted_until(room_id, buyer_id)
    if until is not None and until > chat.clock():
        raise Muted(until)
    message = ChatPosted(
        message_id=chat.new_id(), room_id=room_id, buyer_id=buyer_id,
        display_name=display_name(buyer_id), text=text,
    )  # fmt: skip
    await chat.store.post(
        ChatPostedEvent.new(correlation_id=room_id, producer=PRODUCER, data=message)
    )
    return message


async def react(chat: Chat, *, room_id: str, kind: ReactionKind) -> None:
    """Send a reaction to a live room (counted, never named)."""
    await _live_room(chat, room_id)
    event = RoomReactedEvent.new(
        correlation_id=room_id, producer=PRODUCER, data=RoomReacted(room_id=room_id, kind=kind)
    )
    await chat.store.react(event)


async def _authored_in(chat: Chat, *, room_id: str, message_id: str) -> Author:
    author = await chat.store.author(message_id) if is_identifier(message_id) else None
    if author is None or author.room_id != room_id:
        raise MessageNotFound(message_id)
    return author


async def _hosted(chat: Chat, *, seller_id: str, room_id: str) -> None:
    room = await chat.rooms.get_room(room_id) if is_identifier(room_id) else None
    check_host(room, room_id=room_id, seller_id=seller_id)


async def delete_message(chat: Chat, *, seller_id: str, room_id: str, message_id: str) -> None:
    """The room's seller deletes a message: it disappears from every open room."""
    await _hosted(chat, seller_id=seller_id, room_id=room_id)
    await _authored_in(chat, room_id=room_id, message_id=message_id)
    moderated = ChatModerated(
        room_id=room_id, seller_id=seller_id, action="deleted", message_id=message_id
    )
    await chat.store.moderate(
        ChatModeratedEvent.new(correlation_id=room_id, producer=PRODUCER, data=moderated)
    )


@dataclass(frozen=True, slots=True)
class Mute:
    display_name: str
    until: datetime


async def mute_author(
    chat: Chat, *, seller_id: str, room_id: str, message_id: str, minutes: int
) -> Mute:
    """The room's seller mutes the author of a message for `minutes`: who, and until when."""
    await _hosted(chat, seller_id=seller_id, room_id=room_id)
    author = await _authored_in(chat, room_id=room_id, message_id=message_id)
    until = (chat.clock() + timedelta(minutes=minutes)).replace(microsecond=0)
    await chat.store.mute(room_id, author.buyer_id, until=until)
    moderated = ChatModerated(
        room_id=room_id, seller_id=seller_id, action="muted", message_id=message_id,
        buyer_id=author.buyer_id, muted_until=until,
    )  # fmt: skip
    await chat.store.moderate(
        ChatModeratedEvent.new(correlation_id=room_id, producer=PRODUCER, data=moderated)
    )
    return Mute(display_name(author.buyer_id), until)
