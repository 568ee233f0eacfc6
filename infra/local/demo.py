"""The demo seller, live room and products that `make up` seeds on both sides."""

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    title: str
    price_minor: int
    currency: str
    stock: int
    max_per_checkout: int = 5


DEMO_SELLER_ID = "demo-seller"
DEMO_SELLER_NAME = "Mia's Merch (demo seller)"
DEMO_ROOM_ID = "demo"
DEMO_ROOM_TITLE = "Friday Night Drop"
DEMO_PRODUCTS = (
    DemoProduct("LC-HOODIE-YEL", "Yellow Cart Hoodie", 4990, "EUR", stock=50),
    DemoProduct("LC-MUG-LIVE", "On-Air Mug", 1490, "EUR", stock=100),
    DemoProduct("LC-CAP-STREAM", "Streamer Cap", 2490, "EUR", stock=30),
)

DEMO_SELLER_EMAIL = "mia@demo.livecart.test"
"""The demo seller's login on both sides. Its password is made afresh by `make up`
(run/seller-login.txt) and handed to both seeds as `LIVECART_DEMO_SELLER_PASSWORD`."""
