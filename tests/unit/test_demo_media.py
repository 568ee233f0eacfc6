"""The demo's media are in the repository, small, and where the seeds say: every demo
product's image (served by the storefront, and by the marketplace console, which shows the
same /static/ path from its own static files), the demo room's HLS loop, and the vendored
HLS player at the version its README names."""

import hashlib
import re
from pathlib import Path

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


def test_the_vendored_hls_player_is_the_version_its_readme_names() -> None:
    vendor = STATIC_DIR / "vendor"
    readme = (vendor / "README.md").read_text()
    named = re.search(r"\| `hls\.min\.js` \|[^|]+\| ([0-9.]+) \|.*sha256 `([0-9a-f]{64})`", readme)
    assert named is not None
    player = (vendor / "hls.min.js").read_bytes()
    assert hashlib.sha256(player).hexdigest() == named[2]
    assert f'"{named[1]}"'.encode() in player  # hls.js says its own version
    assert (vendor / "hls.js.LICENSE").read_text().startswith("Copyright")
