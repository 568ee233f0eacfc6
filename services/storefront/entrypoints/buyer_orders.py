"""The buyer's "My orders" page (`GET /orders`): every order of the buyer's session, live.

The storefront holds no orders. The page's script (static/my_orders.js) reads the buyer's
own status stream on the notifier from its beginning, which replays what the marketplace
keeps of the buyer's statuses, and draws every order from it, then follows it live.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from services.common.tokens import InvalidToken
from services.storefront import sessions
from services.storefront.entrypoints.deps import Deps
from services.storefront.entrypoints.pages import page_headers, templates
from services.storefront.entrypoints.sessions import BUYER_COOKIE, set_buyer_cookie

router = APIRouter(include_in_schema=False)

FromRoom = Annotated[
    str | None,
    Query(
        alias="from",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
        description="The room the buyer came from, for the link back.",
    ),
]


@router.api_route("/orders", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def my_orders_page(request: Request, deps: Deps, from_room: FromRoom = None) -> HTMLResponse:
    """The buyer's orders. Without a valid buyer cookie there are none to show: the page
    invites to a live room (where buying starts a session). With one, the session slides
    on, as a visit to a room does."""
    room_url = f"/rooms/{from_room or deps.settings.default_room_id}"
    context: dict[str, object] = {"room_url": room_url, "notifier_url": None}
    try:
        sessions.authenticate(tokens=deps.tokens, token=request.cookies.get(BUYER_COOKIE))
    except InvalidToken:
        return templates.TemplateResponse(
            request, "my_orders.html", context, headers=page_headers(deps)
        )
    session = sessions.resume_session(tokens=deps.tokens, token=request.cookies.get(BUYER_COOKIE))
    context["notifier_url"] = deps.settings.notifier_for(session.buyer_id)
    headers = page_headers(deps)
    page = templates.TemplateResponse(request, "my_orders.html", context, headers=headers)
    set_buyer_cookie(page, session, deps.settings)
    return page
