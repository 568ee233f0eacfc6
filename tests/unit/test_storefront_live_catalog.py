"""The storefront's in-memory copy of the catalog: newest version wins, details to copy."""

from contracts import ProductSnapshot
from services.storefront.live_catalog import LiveCatalog, ProductDetails, StockLevel


def snapshot(
    sku: str = "MUG", *, available: int = 5, version: int = 1, **changes: object
) -> ProductSnapshot:
    values: dict[str, object] = {
        "sku": sku, "title": "Mug", "price_minor": 1490, "currency": "EUR",
        "available": available, "sold": 0, "version": version,
    }  # fmt: skip
    return ProductSnapshot.model_validate(values | changes)


def test_a_product_never_announced_has_no_stock_level() -> None:
    assert LiveCatalog().stock("MUG") is None


def test_the_highest_version_of_each_sku_is_kept_whatever_the_arrival_order() -> None:
    catalog = LiveCatalog()
    newer, older = snapshot(available=2, version=9), snapshot(available=7, version=4)

    assert catalog.apply([newer]) == [newer]
    assert catalog.apply([older, snapshot(version=9, available=0)]) == []
    assert catalog.stock("MUG") == StockLevel(available=2, version=9)


def test_every_newer_snapshot_in_one_batch_is_kept_in_order() -> None:
    catalog = LiveCatalog()
    first, second = snapshot(available=3, version=1), snapshot(available=1, version=2)
    cap = snapshot("CAP", available=4, version=1)

    assert catalog.apply([first, cap, second]) == [first, cap, second]
    assert catalog.stock("MUG") == StockLevel(1, 2)
    assert catalog.stock("CAP") == StockLevel(4, 1)


def test_details_are_stale_until_copied_and_again_when_title_or_price_change() -> None:
    catalog = LiveCatalog()
    mug = snapshot()
    assert catalog.stale_details([mug]) == [ProductDetails("MUG", "Mug", 1490, "EUR")]

    catalog.details_copied(catalog.stale_details([mug]))
    assert catalog.stale_details([snapshot(available=0, version=2)]) == []  # stock only
    assert catalog.stale_details([snapshot(version=3, price_minor=990)]) == [
        ProductDetails("MUG", "Mug", 990, "EUR")
    ]
