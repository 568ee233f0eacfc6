"""Live-room chat without I/O: what text is accepted, the names buyers get, the contracts,
the storefront's use cases over a fake store, and the notifier's bounded chat rooms."""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts import (
    ChatEvent,
    ChatModerated,
    ChatModeratedEvent,
    ChatPosted,
    ChatPostedEvent,
    ReactionKind,
    RoomReacted,
    RoomReactedEvent,
    Streams,
    decode_entry,
    encode_entry,
)
from contracts.chat import MAX_CHAT_TEXT
from services.notifier.chat import RoomChat
from services.notifier.room_events import RoomEvent
from services.notifier.rooms import RoomHub
from services.storefront import chat
from services.storefront.chat import Author, Chat, ChatClosed, MessageNotFound, Muted
from services.storefront.domain import LiveState, NotYourRoom, Room, RoomNotFound

NOW = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
ROOM = Room(room_id="r1", title="Drop", seller_id="mia", seller_name="Mia", state=LiveState.LIVE)


# ---- the text -------------------------------------------------------------------------------


def test_a_message_is_trimmed_and_normalised() -> None:
    assert chat.clean_chat_text("  Hello\u0301 there  ") == "Helló there"
    assert chat.clean_chat_text("👨\u200d👩\u200d👧 nice") == "👨\u200d👩\u200d👧 nice"


@pytest.mark.parametrize("text", ["", "   ", "\u3000\t"])
def test_an_empty_message_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        chat.clean_chat_text(text)


def test_a_message_of_200_characters_is_taken_and_one_more_is_refused() -> None:
    assert chat.clean_chat_text("é" * MAX_CHAT_TEXT) == "é" * MAX_CHAT_TEXT
    with pytest.raises(ValueError, match="201 characters"):
        chat.clean_chat_text("x" * (MAX_CHAT_TEXT + 1))


@pytest.mark.parametrize("char", ["\x00", "\n", "\x1b", "\x7f", "\x85", "\u202e", "\ud800"])
def test_control_characters_bidi_overrides_and_lone_surrogates_are_refused(char: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        chat.clean_chat_text(f"a{char}b")


def test_html_is_just_text_to_the_chat() -> None:
    assert chat.clean_chat_text("<script>alert(1)</script>") == "<script>alert(1)</script>"


def test_a_buyer_gets_a_stable_name_that_does_not_contain_their_id() -> None:
    name = chat.display_name("buyer-0123456789abcdef")
    assert name == chat.display_name("buyer-0123456789abcdef")
    assert "buyer" not in name.lower()
    assert "0123" not in name
    assert len(name.split()) == 3
    names = {chat.display_name(f"buyer-{n}") for n in range(200)}
    assert len(names) > 150


# ---- the contracts --------------------------------------------------------------------------


def posted(message_id: str = "m1", room_id: str = "r1", buyer_id: str = "b1") -> ChatPosted:
    return ChatPosted(
        message_id=message_id, room_id=room_id, buyer_id=buyer_id, display_name="Calm Owl 07",
        text="hi",
    )  # fmt: skip


def test_chat_events_round_trip_through_the_wire_format_and_are_told_apart_by_type() -> None:
    message = ChatPostedEvent.new(correlation_id="r1", producer="storefront", data=posted())
    deletion = ChatModeratedEvent.new(
        correlation_id="r1",
        producer="storefront",
        data=ChatModerated(room_id="r1", seller_id="mia", action="deleted", message_id="m1"),
    )
    for event in (message, deletion):
        fields = encode_entry(event)
        assert ChatEvent.model_validate_json(fields["__data__"]).root == event
    assert decode_entry(encode_entry(message), ChatPostedEvent) == message
    reaction = RoomReactedEvent.new(
        correlation_id="r1", producer="storefront", data=RoomReacted(room_id="r1", kind="fire")
    )
    assert decode_entry(encode_entry(reaction), RoomReactedEvent).data.kind is ReactionKind.FIRE


def test_the_contracts_refuse_long_text_unknown_reactions_and_a_mute_without_whom() -> None:
    with pytest.raises(ValidationError):
        ChatPosted.model_validate({**posted().model_dump(), "text": "x" * 201})
    with pytest.raises(ValidationError):
        RoomReacted.model_validate({"room_id": "r1", "kind": "poop"})
    with pytest.raises(ValidationError, match="buyer_id and muted_until"):
        ChatModerated(room_id="r1", seller_id="mia", action="muted", message_id="m1")


def test_chat_keys_share_no_slot_pattern_with_the_streams() -> None:
    streams = Streams("lc")
    assert streams.chat == "lc:{chat}"
    assert streams.reactions == "lc:{room.reactions}"
    assert streams.chat_mute("r1", "b1") == "lc:chat:mute:r1:b1"
    assert streams.chat_author("m1") == "lc:chat:author:m1"
    assert streams.chat_key_pattern == "lc:chat:*"


# ---- the storefront's use cases ---------------------------------------------------------------


class FakeRooms:
    def __init__(self, *rooms: Room) -> None:
        self.rooms = {room.room_id: room for room in rooms}

    async def get_room(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)


class FakeChatStore:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.authors: dict[str, Author] = {}
        self.mutes: dict[tuple[str, str], datetime] = {}

    async def post(self, event: ChatPostedEvent) -> None:
        self.events.append(event)
        self.authors[event.data.message_id] = Author(event.data.room_id, event.data.buyer_id)

    async def react(self, event: RoomReactedEvent) -> None:
        self.events.append(event)

    async def moderate(self, event: ChatModeratedEvent) -> None:
        self.events.append(event)

    async def author(self, message_id: str) -> Author | None:
        return self.authors.get(message_id)

    async def muted_until(self, room_id: str, buyer_id: str) -> datetime | None:
        return self.mutes.get((room_id, buyer_id))

    async def mute(self, room_id: str, buyer_id: str, *, until: datetime) -> None:
        self.mutes[room_id, buyer_id] = until


def chat_of(*rooms: Room) -> tuple[Chat, FakeChatStore]:
    store = FakeChatStore()
    ids = iter(f"m{n}" for n in range(1, 100))
    return Chat(FakeRooms(*rooms), store, clock=lambda: NOW, new_id=lambda: next(ids)), store


async def test_a_message_in_a_live_room_goes_out_under_the_buyers_display_name() -> None:
    chats, store = chat_of(ROOM)
    message = await chat.post_message(chats, room_id="r1", buyer_id="b1", text="hi")
    assert message.display_name == chat.display_name("b1")
    [event] = store.events
    assert isinstance(event, ChatPostedEvent)
    assert event.correlation_id == "r1"
    assert event.data == message


@pytest.mark.parametrize("state", [LiveState.SCHEDULED, LiveState.ENDED])
async def test_nobody_chats_or_reacts_in_a_room_that_is_not_live(state: LiveState) -> None:
    chats, store = chat_of(replace(ROOM, state=state))
    with pytest.raises(ChatClosed) as refused:
        await chat.post_message(chats, room_id="r1", buyer_id="b1", text="hi")
    assert refused.value.state is state
    with pytest.raises(ChatClosed):
        await chat.react(chats, room_id="r1", kind=ReactionKind.HEART)
    with pytest.raises(RoomNotFound):
        await chat.post_message(chats, room_id="nope", buyer_id="b1", text="hi")
    assert store.events == []


async def test_the_seller_mutes_an_author_who_then_cannot_write_until_it_ends() -> None:
    chats, store = chat_of(ROOM)
    message = await chat.post_message(chats, room_id="r1", buyer_id="b1", text="spam")
    muted = await chat.mute_author(
        chats, seller_id="mia", room_id="r1", message_id=message.message_id, minutes=10
    )
    assert muted.until == NOW + timedelta(minutes=10)
    assert muted.display_name == message.display_name
    with pytest.raises(Muted) as refused:
        await chat.post_message(chats, room_id="r1", buyer_id="b1", text="more spam")
    assert refused.value.until == muted.until
    await chat.post_message(chats, room_id="r1", buyer_id="b2", text="others still can")
    moderation = store.events[1]
    assert isinstance(moderation, ChatModeratedEvent)
    assert (moderation.data.action, moderation.data.buyer_id) == ("muted", "b1")


async def test_only_the_rooms_seller_moderates_and_only_messages_of_that_room() -> None:
    other = replace(ROOM, room_id="r2", seller_id="rival")
    chats, store = chat_of(ROOM, other)
    mine = await chat.post_message(chats, room_id="r1", buyer_id="b1", text="hi")
    with pytest.raises(NotYourRoom):
        await chat.delete_message(chats, seller_id="rival", room_id="r1", message_id="m1")
    with pytest.raises(MessageNotFound):  # the rival's own room does not hold it
        await chat.delete_message(
            chats, seller_id="rival", room_id="r2", message_id=mine.message_id
        )
    with pytest.raises(MessageNotFound):
        await chat.mute_author(chats, seller_id="mia", room_id="r1", message_id="m99", minutes=1)
    await chat.delete_message(chats, seller_id="mia", room_id="r1", message_id=mine.message_id)
    deletion = store.events[-1]
    assert isinstance(deletion, ChatModeratedEvent)
    assert (deletion.data.action, deletion.data.message_id) == ("deleted", mine.message_id)


# ---- the notifier's chat rooms ------------------------------------------------------------------


def pushed_to(events: list[tuple[str, RoomEvent]]) -> RoomChat:
    return RoomChat(push=lambda room, event: events.append((room, event)), history=3, max_rooms=2)


def test_a_room_keeps_its_last_messages_and_pushes_each_without_the_buyer() -> None:
    pushes: list[tuple[str, RoomEvent]] = []
    rooms = pushed_to(pushes)
    for n in range(5):
        rooms.posted(posted(f"m{n}", buyer_id="buyer-secret"), at=NOW)
    assert [line.id for line in rooms.recent("r1")] == ["m2", "m3", "m4"]
    assert [(room, event.name) for room, event in pushes] == [("r1", "chat")] * 5
    assert "buyer-secret" not in pushes[0][1].data
    assert json.loads(pushes[0][1].data) == {
        "id": "m0", "name": "Calm Owl 07", "text": "hi", "at": "2026-12-06T20:00:00Z"
    }  # fmt: skip


def test_a_deleted_message_is_forgotten_and_the_room_told() -> None:
    pushes: list[tuple[str, RoomEvent]] = []
    rooms = pushed_to(pushes)
    rooms.posted(posted("m1"), at=NOW)
    rooms.posted(posted("m2"), at=NOW)
    rooms.deleted("r1", "m1")
    rooms.deleted("r1", "gone-long-ago")
    assert [line.id for line in rooms.recent("r1")] == ["m2"]
    assert [(e.name, json.loads(e.data)) for _, e in pushes[2:]] == [
        ("chat_deleted", {"id": "m1"}), ("chat_deleted", {"id": "gone-long-ago"})
    ]  # fmt: skip


def test_the_least_recently_active_room_is_forgotten_past_max_rooms() -> None:
    rooms = pushed_to([])
    for room in ("r1", "r2", "r3"):
        rooms.posted(posted(room_id=room), at=NOW)
    assert rooms.recent("r1") == []
    assert len(rooms.recent("r3")) == 1


def test_reactions_are_pushed_as_counts() -> None:
    pushes: list[tuple[str, RoomEvent]] = []
    rooms = pushed_to(pushes)
    rooms.reacted("r1", ReactionKind.HEART)  # no running loop: pushed at once
    assert [(room, e.name, json.loads(e.data)) for room, e in pushes] == [
        ("r1", "reaction", {"counts": {"heart": 1}})
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_goes_out_as_one_push_per_interval_in_order_with_reactions_added_up() -> None:
    pushes: list[tuple[str, RoomEvent]] = []
    clock = Clock()
    rooms = RoomChat(push=lambda room, e: pushes.append((room, e)), interval=60, clock=clock)
    rooms.posted(posted("m1"), at=NOW)  # after a quiet spell: at once
    assert [json.loads(e.data)["id"] for _, e in pushes] == ["m1"]
    rooms.posted(posted("m2"), at=NOW)
    rooms.deleted("r1", "m2")
    for kind in ("heart", "heart", "fire"):
        rooms.reacted("r1", ReactionKind(kind))
    rooms.posted(posted("m3"), at=NOW)
    assert len(pushes) == 1  # the rest waits for the interval
    clock.now += 60
    rooms._flush("r1")  # what the timer does at the end of the interval
    assert [(e.name, json.loads(e.data)) for _, e in pushes[1:]] == [
        ("chat", json.loads(pushes[0][1].data) | {"id": "m2"}),
        ("chat_deleted", {"id": "m2"}),
        ("chat", json.loads(pushes[0][1].data) | {"id": "m3"}),
        ("reaction", {"counts": {"heart": 2, "fire": 1}}),
    ]
    assert [line.id for line in rooms.recent("r1")] == ["m1", "m3"]
    rooms.close()


async def test_what_waits_for_a_push_is_bounded_by_the_history() -> None:
    pushes: list[tuple[str, RoomEvent]] = []
    rooms = RoomChat(push=lambda room, e: pushes.append((room, e)), interval=60, history=3)
    for n in range(10):
        rooms.posted(posted(f"m{n}"), at=NOW)
    rooms._flush("r1")
    assert [json.loads(e.data)["id"] for _, e in pushes] == ["m0", "m7", "m8", "m9"]
    rooms.close()


def test_a_new_connection_gets_the_rooms_recent_chat_in_its_snapshot_then_new_lines() -> None:
    hub = RoomHub(chat_history=10)
    hub.chat.posted(posted("m1"), at=NOW)
    with hub.watch("r1") as (watch, snapshot):
        assert [line.text for line in snapshot.chat] == ["hi"]
        hub.chat.posted(posted("m2"), at=NOW)
        hub.chat.deleted("r1", "m1")
        events, _ = watch.take(0.0)
        assert [event.name for event in events] == ["chat", "chat_deleted"]
    with hub.watch("r2") as (_, snapshot):
        assert snapshot.chat == []
