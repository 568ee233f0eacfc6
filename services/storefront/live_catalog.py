"""The marketplace's catalog as this storefront process last heard it: in memory only.

Fed by the fan-out reader of `catalog.changed`. Stock and flash deals shown here are
display hints (the marketplace reserves stock and prices deals of record); nothing of
them is ever written to the storefront's database. Title, price, image and seller are
copied to the showcase rows (the seller's catalog and the pinned products).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Self

from contracts import ProductSnapshot


@dataclass(frozen=True, slots=True)
class StockLevel:
    """Units a product has left, and the catalog version that said so."""

    available: int
    version: int


@dataclass(frozen=True, slots=True)
class ProductDetails:
    """What the showcase copies of a marketplace product: title, price, image and seller,
    never stock. `version` says which snapshot they came with; two details that differ
    only in it are the same (a stock change alone copies nothing)."""

    sku: str
    title: str
    price_minor: int
    currency: str
    seller_id: str | None = None
    image_url: str | None = None
    version: int = field(default=0, compare=False)

    @classmethod
    def of(cls, product: ProductSnapshot) -> Self:
        return cls(
            product.sku, product.title, product.price_minor, product.currency,
            product.seller_id, product.image_url, product.version,
        )  # fmt: skip


class LiveCatalog:
    """The highest-version snapshot per sku, and which titles/prices the showcase lacks."""

    def __init__(self) -> None:
        self._products: dict[str, ProductSnapshot] = {}
        self._copied: dict[str, ProductDetails] = {}

    def apply(self, products: Iterable[ProductSnapshot]) -> list[ProductSnapshot]:
        """Keep each snapshot newer than the known one (by `version`); the ones kept.

        Snapshots of one sku may arrive out of order (several marketplace replicas
        publish), so an older version never overwrites a newer one.
        """
        kept = []
        for product in products:
            known = self._products.get(product.sku)
            if known is None or product.version > known.version:
                self._products[product.sku] = product
                kept.append(product)
        return kept

    def stock(self, sku: str) -> StockLevel | None:
        """The latest stock level of `sku`; None while the catalog has not mentioned it."""
        product = self._products.get(sku)
        return None if product is None else StockLevel(product.available, product.version)

    def product(self, sku: str) -> ProductSnapshot | None:
        """The newest snapshot of `sku` (image, flash deal…); None while not heard of."""
        return self._products.get(sku)

    def stale_details(self, products: Iterable[ProductSnapshot]) -> list[ProductDetails]:
        """Details of `products` that differ from what was last copied to the showcase."""
        details = (ProductDetails.of(product) for product in products)
        return [d for d in details if self._copied.get(d.sku) != d]

    def details_copied(self, details: Iterable[ProductDetails]) -> None:
        """The showcase now holds these details (after a successful write)."""
        for item in details:
            self._copied[item.sku] = item
