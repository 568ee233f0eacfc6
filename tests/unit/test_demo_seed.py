"""The demo of `make up`: each service seeds its own half, and the halves agree."""

from services.orders import seed as marketplace
from services.storefront import seed as storefront


def test_both_sides_seed_the_same_demo_seller() -> None:
    assert (
        storefront.DEMO_SELLER_ID,
        storefront.DEMO_SELLER_NAME,
        storefront.DEMO_SELLER_EMAIL,
    ) == (
        marketplace.DEMO_SELLER_ID,
        marketplace.DEMO_SELLER_NAME,
        marketplace.DEMO_SELLER_EMAIL,
    )


def test_the_demo_room_pins_every_demo_product_as_the_marketplace_sells_it() -> None:
    pinned = [(p.sku, p.title, p.price_minor, p.currency) for p in storefront.DEMO_PRODUCTS]
    sold = [(p.sku, p.title, p.price_minor, p.currency) for p in marketplace.DEMO_PRODUCTS]

    assert pinned == sold


def test_the_marketplace_gives_every_demo_product_to_the_demo_seller_with_stock() -> None:
    assert all(p.seller_id == marketplace.DEMO_SELLER_ID for p in marketplace.DEMO_PRODUCTS)
    assert all(p.stock > 0 for p in marketplace.DEMO_PRODUCTS)
    assert all(p.max_per_checkout >= 1 for p in storefront.DEMO_PRODUCTS)
