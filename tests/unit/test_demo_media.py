"""The demo's media are in the repository, small, and where the seeds say: every demo
product's image (served by the storefront, and by the marketplace console, which shows the
same /static/ path from its own static files), the demo room's HLS loop, and the vendored
HLS player and SHA-256 at the versions their README names."""

import hashlib
import re
from pathlib import Path

import pytest

from services.orders import seed as marketplace
from services.storefront import seed as storefront
from services.storefront.entrypoints.pages import STATIC_DIR

ROOT = Path(__file__).resolve().parents[2]
ORDERS_STATIC = ROOT / "services" / "orders" / "static"


def static_file(static_dir: Path, url: str) -> Path:
    assert url.startswith("/static/"), url
    return static_dir / url.removeprefix("/static/")


def test_every_demo_product_has_an_image_both_consoles_serve_the_same() -> None:
    images = {p.sku: p.image_url for p in marketplace.DEMO_PRODUCTS}
    assert images == {p.sku: p.image_url for p in storefront.DEMO_PRODUCTS}
    for url in images.values():
        assert url is not None
        shown = static_file(STATIC_DIR, url).read_bytes()
        assert shown.startswith(b"<svg")
        assert len(shown) < 10_000
        assert static_file(ORDERS_STATIC, url).read_bytes() == shown


def test_the_demo_stream_is_a_complete_small_hls_loop() -> None:
    playlist = static_file(STATIC_DIR, storefront.DEMO_STREAM_URL)
    text = playlist.read_text()
    assert text.startswith("#EXTM3U")
    assert "#EXT-X-ENDLIST" in text
    parts = re.findall(r'URI="([^"]+)"', text) + [
        line for line in text.splitlines() if line and not line.startswith("#")
    ]
    assert len(parts) >= 3
    assert all((playlist.parent / part).is_file() for part in parts)
    assert sum(f.stat().st_size for f in playlist.parent.iterdir()) < 200_000


@pytest.mark.parametrize(
    ("file", "licence", "version_mark"),
    [
        ("hls.min.js", "hls.js.LICENSE", '"{version}"'),  # hls.js says its own version
        ("sha256.min.js", "js-sha256.LICENSE", "@version {version}"),
    ],
)
def test_each_vendored_file_is_the_version_and_checksum_its_readme_names(
    file: str, licence: str, version_mark: str
) -> None:
    vendor = STATIC_DIR / "vendor"
    readme = (vendor / "README.md").read_text()
    named = re.search(
        rf"\| `{re.escape(file)}` \|[^|]+\| ([0-9.]+) \|.*sha256 `([0-9a-f]{{64}})`", readme
    )
    assert named is not None
    code = (vendor / file).read_bytes()
    assert hashlib.sha256(code).hexdigest() == named[2]
    assert version_mark.format(version=named[1]).encode() in code
    assert (vendor / licence).read_text().startswith("Copyright")
