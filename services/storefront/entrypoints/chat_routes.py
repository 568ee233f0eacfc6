"""The live room's chat over HTTP: a buyer's messages and reactions, the seller's
moderation (delete a message, mute its author), and the answers their refusals get.

Messages reach the room's open pages through the notifier's room stream (`chat`,
`chat_deleted`, `reaction` events); these routes answer once the stream holds them.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from contracts import ReactionKind
from contracts.events import Identifier
from services.common.rate_limits import TOO_MANY_REQUESTS
from services.storefront import chat
from services.storefront.chat import MAX_MUTE_MINUTES, Chat, ChatClosed, MessageNotFound, Muted
from services.storefront.chat_store import RedisChatStore
from services.storefront.entrypoints.deps import Deps
from services.storefront.entrypoints.rate_limits import (
    CHAT_PER_BUYER,
    REACTIONS_PER_BUYER,
    per_buyer,
)
from services.storefront.entrypoints.schemas import ErrorOut, ReasonErrorOut, TokenErrorOut
from services.storefront.entrypoints.seller_session import ChangingSeller
from services.storefront.entrypoints.sessions import Buyer

RoomId = Annotated[str, Path(description="The live room.")]
MessageId = Annotated[Identifier, Path(description="The message, as the room stream named it.")]


class ChatIn(BaseModel):
    """A buyer's message: plain text, 1 to 200 characters once trimmed, no control
    characters. Who writes comes from the buyer token, never from the body."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[StrictStr, Field(max_length=2000), AfterValidator(chat.clean_chat_text)]


class ChatOut(BaseModel):
    message_id: str = Field(description="The message's id (the room stream's `chat` event `id`).")
    display_name: str = Field(description="The name shown next to it.")
    text: str = Field(description="The text as shown (trimmed).")


class ReactionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReactionKind = Field(description="`heart`, `fire`, `clap` or `laugh`.")


class MuteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: StrictInt = Field(ge=1, le=MAX_MUTE_MINUTES, description="How long, 1 to 1440.")


class MutedOut(BaseModel):
    display_name: str = Field(description="Who was muted, as the room shows them.")
    until: datetime = Field(description="When they may write again.")


class RefusedOut(ReasonErrorOut):
    until: datetime | None = Field(default=None, description="`muted`: when it ends.")
    state: str | None = Field(default=None, description="`room_not_live`: the room's state.")


async def chat_of(request: Request, deps: Deps) -> Chat:
    """The chat use cases' collaborators, on the broker's Redis (built on first use)."""
    built: Chat | None = getattr(request.app.state, "chat", None)
    if built is None:
        store = RedisChatStore(deps.settings.streams, client=request.app.state.broker.connect)
        built = request.app.state.chat = Chat(rooms=deps.rooms, store=store)
    return built


ChatDeps = Annotated[Chat, Depends(chat_of)]
BUYER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": TokenErrorOut, "description": "Buyer token missing, invalid or expired"},
    404: {"model": ErrorOut, "description": "No such room"},
    409: {"model": RefusedOut, "description": "The room is not live (`room_not_live`)"},
    429: TOO_MANY_REQUESTS,
    503: {"model": ErrorOut, "description": "The stream is unreachable; retry later"},
}
router = APIRouter(prefix="/api/rooms/{room_id}", tags=["chat"], responses=BUYER_ERRORS)
seller_router = APIRouter(prefix="/api/seller/rooms/{room_id}/chat", tags=["chat"])


@router.post(
    "/chat",
    status_code=status.HTTP_201_CREATED,
    summary="Say something in a live room's chat",
    dependencies=[Depends(per_buyer(CHAT_PER_BUYER))],
    responses={403: {"model": RefusedOut, "description": "The seller muted the buyer (`muted`)"}},
)
async def post_message(room_id: RoomId, body: ChatIn, buyer: Buyer, chats: ChatDeps) -> ChatOut:
    message = await chat.post_message(
        chats, room_id=room_id, buyer_id=buyer.buyer_id, text=body.text
    )
    return ChatOut(
        message_id=message.message_id, display_name=message.display_name, text=message.text
    )


@router.post(
    "/reactions",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a reaction to a live room (shown as a count, never who)",
    dependencies=[Depends(per_buyer(REACTIONS_PER_BUYER))],
)
async def react(room_id: RoomId, body: ReactionIn, buyer: Buyer, chats: ChatDeps) -> None:
    await chat.react(chats, room_id=room_id, kind=body.kind)


SELLER_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No seller signed in"},
    403: {"model": ErrorOut, "description": "Another seller's room, or no CSRF token"},
    404: {"model": ErrorOut, "description": "No such room, or no recent message with this id"},
    503: {"model": ErrorOut, "description": "The stream is unreachable; nothing changed"},
}


@seller_router.delete(
    "/{message_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a message from the room's chat: it disappears in every open room",
    responses=SELLER_ERRORS,
)
async def delete_message(
    room_id: RoomId, message_id: MessageId, seller: ChangingSeller, chats: ChatDeps
) -> None:
    await chat.delete_message(
        chats, seller_id=seller.seller_id, room_id=room_id, message_id=message_id
    )


@seller_router.post(
    "/{message_id}/mute",
    summary="Mute the author of a message in this room for some minutes",
    responses=SELLER_ERRORS,
)
async def mute(
    room_id: RoomId, message_id: MessageId, body: MuteIn, seller: ChangingSeller, chats: ChatDeps
) -> MutedOut:
    muted = await chat.mute_author(
        chats, seller_id=seller.seller_id, room_id=room_id, message_id=message_id,
        minutes=body.minutes,
    )  # fmt: skip
    return MutedOut(display_name=muted.display_name, until=muted.until)


def install(app: FastAPI) -> None:
    """Add the chat routes to the storefront app, and the answers of its refusals."""
    app.include_router(router)
    app.include_router(seller_router)
    app.add_exception_handler(ChatClosed, _refused)
    app.add_exception_handler(Muted, _refused)
    app.add_exception_handler(MessageNotFound, _refused)


async def _refused(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, Muted):
        code, body = 403, RefusedOut(detail=str(exc), reason=exc.reason, until=exc.until)
    elif isinstance(exc, ChatClosed):
        code, body = 409, RefusedOut(detail=str(exc), reason=exc.reason, state=exc.state.value)
    else:
        assert isinstance(exc, MessageNotFound)
        code, body = 404, RefusedOut(detail=str(exc), reason=exc.reason)
    return JSONResponse(body.model_dump(mode="json", exclude_none=True), status_code=code)
