"""The JSON the seller's API reads and writes (and the shapes its HTML forms are read into).

Bodies are strict: unknown fields, a number sent as text or a boolean as a number are
refused (422), and so is text no database can store (lone surrogates, control
characters). Form posts are read into the same models, leniently (a form only has text).
"""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from contracts.events import MAX_QUANTITY_PER_ITEM, Sku
from services.storefront.domain import (
    MAX_DEAL_LEAD,
    MAX_DEAL_UNITS,
    CatalogProduct,
    Deal,
    Room,
    stream_url_problem,
)
from services.storefront.live_control import RoomReport, SellerRoom

DEFAULT_MAX_PER_CHECKOUT = 5
MAX_DEAL_PRICE_MINOR = 10**11


def _storable(value: str) -> str:
    if any(0xD800 <= ord(ch) <= 0xDFFF or ch == "\x00" for ch in value):
        raise PydanticCustomError("text_invalid", "text must be valid Unicode without NUL")
    return value


def _one_line(value: str) -> str:
    value = _storable(value).strip()
    if any(not ch.isprintable() for ch in value):
        raise PydanticCustomError("text_invalid", "text must not hold control characters")
    if not value:
        raise PydanticCustomError("text_empty", "text must not be blank")
    return value


def _stream_url(value: str) -> str:
    problem = stream_url_problem(_storable(value))
    if problem:
        raise PydanticCustomError("url_invalid", problem)
    return value


Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_one_line)]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_one_line)]
Password = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_storable)]
StreamUrl = Annotated[str, Field(max_length=500), AfterValidator(_stream_url)]


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LoginIn(StrictBody):
    email: Email
    password: Password


class SellerSessionOut(BaseModel):
    """The signed-in seller; send `csrf_token` as `X-CSRF-Token` with every change."""

    seller_id: str
    name: str
    csrf_token: str


class RoomIn(StrictBody):
    """A new room: scheduled until the seller goes live."""

    title: Title
    scheduled_at: AwareDatetime | None = Field(
        default=None, strict=False, description="When the live is planned (with its offset)."
    )
    stream_url: StreamUrl | None = Field(default=None, description="The video, https:// only.")


class PinIn(StrictBody):
    sku: Sku = Field(description="A product of the seller's catalog.")
    max_per_checkout: int = Field(
        default=DEFAULT_MAX_PER_CHECKOUT, ge=1, le=MAX_QUANTITY_PER_ITEM,
        description="Units one checkout may hold.",
    )  # fmt: skip


class DealIn(StrictBody):
    """A flash deal on a pinned product; it starts at `starts_at`, or in
    `starts_in_seconds`, or at once. The marketplace enforces price, cap and limit."""

    sku: Sku
    price_minor: int = Field(ge=0, le=MAX_DEAL_PRICE_MINOR, description="Deal price, minor units.")
    units_cap: int = Field(ge=1, le=MAX_DEAL_UNITS, description="Units at the deal price.")
    per_buyer_limit: int = Field(ge=1, le=MAX_QUANTITY_PER_ITEM)
    starts_at: AwareDatetime | None = Field(default=None, strict=False)
    starts_in_seconds: int | None = Field(default=None, ge=0, le=int(MAX_DEAL_LEAD.total_seconds()))


class PinnedOut(BaseModel):
    sku: str
    title: str
    price: str
    price_minor: int
    currency: str
    max_per_checkout: int
    image_url: str | None


class DealOut(BaseModel):
    deal_id: str
    room_id: str
    sku: str
    price_minor: int
    units_cap: int
    per_buyer_limit: int
    starts_at: datetime
    ends_at: datetime | None

    @classmethod
    def of(cls, deal: Deal) -> "DealOut":
        return cls(
            deal_id=deal.deal_id, room_id=deal.room_id, sku=deal.sku,
            price_minor=deal.price_minor, units_cap=deal.units_cap,
            per_buyer_limit=deal.per_buyer_limit, starts_at=deal.starts_at, ends_at=deal.ends_at,
        )  # fmt: skip


class CatalogProductOut(BaseModel):
    sku: str
    title: str
    price: str
    price_minor: int
    currency: str
    image_url: str | None

    @classmethod
    def of(cls, p: CatalogProduct) -> "CatalogProductOut":
        return cls(
            sku=p.sku, title=p.title, price=p.price, price_minor=p.price_minor,
            currency=p.currency, image_url=p.image_url,
        )  # fmt: skip


class SellerRoomOut(BaseModel):
    """A room as its seller controls it."""

    room_id: str
    title: str
    state: str = Field(description="scheduled, live or ended")
    stream_url: str | None
    scheduled_at: datetime | None
    went_live_at: datetime | None
    ended_at: datetime | None
    products: list[PinnedOut]
    deals: list[DealOut] = Field(default_factory=list, description="Deals asked for here.")
    room_url: str
    dashboard_url: str
    report_url: str

    @classmethod
    def of(cls, room: Room, deals: list[Deal] | None = None) -> "SellerRoomOut":
        return cls(
            room_id=room.room_id, title=room.title, state=room.state.value,
            stream_url=room.stream_url, scheduled_at=room.scheduled_at,
            went_live_at=room.went_live_at, ended_at=room.ended_at,
            products=[
                PinnedOut(
                    sku=p.sku, title=p.title, price=p.price, price_minor=p.price_minor,
                    currency=p.currency, max_per_checkout=p.max_per_checkout,
                    image_url=p.image_url,
                )
                for p in room.products
            ],
            deals=[DealOut.of(d) for d in deals or []],
            room_url=f"/rooms/{room.room_id}", dashboard_url=f"/rooms/{room.room_id}/dashboard",
            report_url=f"/seller/rooms/{room.room_id}/report",
        )  # fmt: skip

    @classmethod
    def of_control(cls, view: SellerRoom) -> "SellerRoomOut":
        return cls.of(view.room, list(view.deals))


class ProductFiguresOut(BaseModel):
    sku: str
    title: str
    currency: str | None
    units_sold: int
    revenue_minor: int


class ReportOut(BaseModel):
    """The post-live report: viewers → taps → confirmed, rejections, revenue per product."""

    room_id: str
    title: str
    state: str
    viewers: int = Field(description="Distinct buyers who opened the room while it was live.")
    taps: int = Field(description="Checkouts the marketplace received from the room.")
    confirmed: int
    cancelled: int
    expired: int
    rejected: dict[str, int] = Field(description="Rejected checkouts by reason.")
    taps_per_viewer: float | None
    confirmed_per_tap: float | None
    confirmed_per_viewer: float | None
    revenue_minor: dict[str, int] = Field(description="Confirmed revenue by currency.")
    products: list[ProductFiguresOut]

    @classmethod
    def of(cls, report: RoomReport) -> "ReportOut":
        sales = report.sales
        return cls(
            room_id=report.room.room_id, title=report.room.title, state=report.room.state.value,
            viewers=report.viewers, taps=sales.checkouts, confirmed=sales.confirmed,
            cancelled=sales.cancelled, expired=sales.expired, rejected=dict(sales.rejected),
            taps_per_viewer=report.taps_per_viewer, confirmed_per_tap=report.confirmed_per_tap,
            confirmed_per_viewer=report.confirmed_per_viewer,
            revenue_minor=dict(sales.revenue_minor),
            products=[
                ProductFiguresOut(
                    sku=p.sku, title=p.title, currency=p.currency, units_sold=p.units,
                    revenue_minor=p.revenue_minor,
                )
                for p in report.products
            ],
        )  # fmt: skip
