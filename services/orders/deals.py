"""Flash-deal rules, pure like the domain: which deal prices a line, whether a seller's
deal may stand, and which checkouts of a batch a deal admits (cap and per-buyer limit)."""

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from services.orders.domain import DealRefused, Line, Product, Reason

SOLD_OUT = "flash deal sold out"

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Deal:
    """A seller's flash deal on one product, for checkouts from one room in [starts, ends)."""

    deal_id: str
    seller_id: str
    room_id: str
    sku: str
    price_minor: int
    units_cap: int
    per_buyer_limit: int
    starts_at: datetime
    ends_at: datetime | None = None

    def applies(self, *, room_id: str, at: datetime) -> bool:
        return (
            room_id == self.room_id
            and self.starts_at <= at
            and (self.ends_at is None or at < self.ends_at)
        )

    def ended(self, now: datetime) -> bool:
        return self.ends_at is not None and self.ends_at <= now


def check_deal(deal: Deal, product: Product | None) -> None:
    """DealRefused unless the product exists, is the deal's seller's, and the deal price is
    at most its list price."""
    if product is None:
        raise DealRefused("unknown_sku", f"deal {deal.deal_id}: no product {deal.sku}")
    if product.seller_id != deal.seller_id:
        raise DealRefused(
            "not_sellers_product", f"deal {deal.deal_id}: {deal.sku} is not {deal.seller_id}'s"
        )
    if deal.price_minor > product.price_minor:
        raise DealRefused(
            "price_above_list",
            f"deal {deal.deal_id}: {deal.price_minor} above the list price {product.price_minor}",
        )


def deal_for(deals: Iterable[Deal], *, sku: str, room_id: str, at: datetime) -> Deal | None:
    """The deal that prices `sku` for a checkout from `room_id` made at `at`; of overlapping
    ones, the one started last (the seller's newest word)."""
    running = [d for d in deals if d.sku == sku and d.applies(room_id=room_id, at=at)]
    return max(running, key=lambda d: (d.starts_at, d.deal_id), default=None)


def price_with_deals(
    lines: Sequence[Line], deals: Iterable[Deal], *, room_id: str, at: datetime | None
) -> list[Line]:
    """`lines` with each one a deal applies to at the deal price, carrying its deal_id.
    A checkout of unknown time (an old producer) gets no deal."""
    if at is None:
        return list(lines)
    deals = list(deals)
    priced: list[Line] = []
    for line in lines:
        deal = deal_for(deals, sku=line.sku, room_id=room_id, at=at)
        priced.append(
            line if deal is None else Line(line.sku, line.quantity, deal.price_minor, deal.deal_id)
        )
    return priced


def deal_to_show(deals: Iterable[Deal], *, sku: str, now: datetime) -> Deal | None:
    """The deal a product's snapshot carries: not ended yet, the running one started last,
    else the next to start (a countdown)."""
    live = [d for d in deals if d.sku == sku and not d.ended(now)]
    running = [d for d in live if d.starts_at <= now]
    if running:
        return max(running, key=lambda d: (d.starts_at, d.deal_id))
    return min(live, key=lambda d: (d.starts_at, d.deal_id), default=None)


@dataclass
class DealUsage:
    """Units already held or sold at deal prices: per deal, and per (deal, buyer)."""

    taken: Counter[str] = field(default_factory=Counter)
    bought: Counter[tuple[str, str]] = field(default_factory=Counter)


@dataclass
class Admission(Generic[K]):
    """What `admit` decided: granted keys, refused ones with the reason, stock per sku."""

    granted: set[K] = field(default_factory=set)
    refused: dict[K, tuple[Reason, str | None]] = field(default_factory=dict)
    taken: Counter[str] = field(default_factory=Counter)


def admit(
    requests: Sequence[tuple[K, str, Sequence[Line]]],
    *,
    available: Mapping[str, int],
    deals: Mapping[str, Deal],
    usage: DealUsage,
) -> Admission[K]:
    """Decide (key, buyer_id, lines) requests in arrival order: a buyer's deal units above
    the deal's per-buyer limit → limit_exceeded; the deal's units above its cap → sold out;
    then stock, all lines or none. What a granted request takes counts for later ones."""
    left = dict(available)
    taken, bought = Counter(usage.taken), Counter(usage.bought)
    result: Admission[K] = Admission()
    for key, buyer_id, lines in requests:
        wanted: Counter[str] = Counter()
        for line in lines:
            if line.deal_id is not None:
                wanted[line.deal_id] += line.quantity
        refusal = _deal_refusal(wanted, buyer_id, deals, taken, bought)
        if refusal is None and not all(left.get(li.sku, 0) >= li.quantity for li in lines):
            refusal = (Reason.OUT_OF_STOCK, None)
        if refusal is not None:
            result.refused[key] = refusal
            continue
        for line in lines:
            left[line.sku] -= line.quantity
            result.taken[line.sku] += line.quantity
        for deal_id, units in wanted.items():
            taken[deal_id] += units
            bought[deal_id, buyer_id] += units
        result.granted.add(key)
    return result


def _deal_refusal(
    wanted: Mapping[str, int],
    buyer_id: str,
    deals: Mapping[str, Deal],
    taken: Mapping[str, int],
    bought: Mapping[tuple[str, str], int],
) -> tuple[Reason, str | None] | None:
    for deal_id, units in wanted.items():
        limit = deals[deal_id].per_buyer_limit
        if bought.get((deal_id, buyer_id), 0) + units > limit:
            return Reason.LIMIT_EXCEEDED, f"flash deal limit is {limit} per buyer"
    for deal_id, units in wanted.items():
        if taken.get(deal_id, 0) + units > deals[deal_id].units_cap:
            return Reason.OUT_OF_STOCK, SOLD_OUT
    return None
