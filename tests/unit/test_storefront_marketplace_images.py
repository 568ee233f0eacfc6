"""The room shows the product images sellers upload to the marketplace, from its
/media/products/ address only: the template's safe_image, the page's CSP and the settings
agree (static/room.js's safeImage checks the same, see tests/e2e/test_browser_image_upload.py)."""

import pytest

from services.orders.media import media_prefix
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.pages import (
    _content_security_policy,
    marketplace_image,
    templates,
)

SHA = "ab" * 32
MEDIA = "http://localhost:8002/media/products/"


def safe_image(url: str, media: str = MEDIA) -> str:
    macro = templates.env.from_string(
        '{% from "_macros.html" import safe_image %}{{ safe_image(url, media) }}'
    )
    return macro.render(url=url, media=media)


def test_the_storefront_and_the_marketplace_agree_on_where_uploaded_images_are() -> None:
    settings = StorefrontSettings(marketplace_public_url="http://localhost:8002/")
    assert settings.marketplace_media == MEDIA == media_prefix("http://localhost:8002/")
    assert StorefrontSettings(marketplace_public_url="not a url").marketplace_media == ""


@pytest.mark.parametrize(
    "url",
    [f"{MEDIA}{SHA}.png", f"{MEDIA}{SHA}.jpg", f"{MEDIA}{SHA}.webp", f"{MEDIA}{SHA}.gif"],
)
def test_an_uploaded_image_of_the_marketplace_is_shown(url: str) -> None:
    assert marketplace_image(url, MEDIA)
    assert safe_image(url) == url


@pytest.mark.parametrize(
    "url",
    [
        f"http://localhost:8002/static/{SHA}.png",  # the marketplace, but not its media
        f"http://evil.example/media/products/{SHA}.png",
        f"http://localhost:8003/media/products/{SHA}.png",
        f"{MEDIA}{SHA}.svg",
        f"{MEDIA}{SHA}.png?x=1",
        f"{MEDIA}../{SHA}.png",
        f"{MEDIA}{SHA.upper()}.png",
        "javascript:alert(1)",
        "//evil.example/a.png",
    ],
)
def test_nothing_else_over_http_is_shown(url: str) -> None:
    assert not marketplace_image(url, MEDIA)
    assert safe_image(url) == ""


def test_without_a_marketplace_address_only_https_and_same_origin_images_show() -> None:
    assert safe_image(f"{MEDIA}{SHA}.png", media="") == ""
    assert safe_image("https://img.example/a.png", media="") == "https://img.example/a.png"
    assert safe_image("/static/a.svg", media="") == "/static/a.svg"


def test_the_room_csp_lets_images_in_from_the_marketplaces_media_path_only() -> None:
    csp = _content_security_policy("http://localhost:8001", "http://localhost:8002", MEDIA)
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["img-src"] == ["'self'", "data:", "https:", MEDIA]
    assert "http://localhost:8002" not in directives["img-src"]
    assert _content_security_policy("a", "b").count("img-src 'self' data: https:;") == 1
