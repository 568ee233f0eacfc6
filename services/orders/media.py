"""Product images sellers upload: what the marketplace accepts (PNG, JPEG, WebP or GIF,
known by their first bytes, never by what the client says), the name each is stored and
served under (the SHA-256 of its bytes), and the address the product then carries:
`<ORDERS_PUBLIC_URL>/media/products/<sha256>.<ext>`."""

import hashlib
import re
from dataclasses import dataclass

from services.orders.domain import InvalidInput

MEDIA_PATH = "/media/products/"
EXTENSIONS = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
"""The file name's extension of each accepted type, and the content type it is served as."""
MEDIA_NAME = re.compile(r"([0-9a-f]{64})\.(png|jpg|webp|gif)")
MEDIA_URL = re.compile(
    r"https?://[A-Za-z0-9.\-\[\]:]+/media/products/[0-9a-f]{64}\.(png|jpg|webp|gif)"
)
"""The shape of a media address; only the marketplace's own origin is accepted (own_media)."""


class ImageMissing(InvalidInput):
    """No file, or an empty one (422)."""

    reason = "image_missing"


class ImageTooLarge(InvalidInput):
    """More than ORDERS_MAX_IMAGE_BYTES (413)."""

    reason = "image_too_large"


class ImageTypeRefused(InvalidInput):
    """Not a PNG, JPEG, WebP or GIF (415)."""

    reason = "image_type_refused"


def sniff(data: bytes) -> str | None:
    """The extension of the image `data` is, by its magic bytes; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True, slots=True)
class Image:
    sha256: str
    extension: str
    data: bytes

    @property
    def content_type(self) -> str:
        return EXTENSIONS[self.extension]

    @property
    def name(self) -> str:
        return f"{self.sha256}.{self.extension}"

    @classmethod
    def accept(cls, data: bytes, *, max_bytes: int) -> "Image":
        """`data` as an image to store; ImageMissing, ImageTooLarge or ImageTypeRefused."""
        if not data:
            raise ImageMissing("the file is empty: choose a PNG, JPEG, WebP or GIF image")
        if len(data) > max_bytes:
            raise ImageTooLarge(f"an image is at most {max_bytes:,} bytes")
        extension = sniff(data)
        if extension is None:
            raise ImageTypeRefused("only PNG, JPEG, WebP and GIF images are accepted")
        return cls(hashlib.sha256(data).hexdigest(), extension, data)


def extension_of(content_type: str) -> str | None:
    return next((ext for ext, kind in EXTENSIONS.items() if kind == content_type), None)


def media_prefix(public_url: str) -> str:
    """`<public_url>/media/products/`: where the marketplace's own images are."""
    return public_url.rstrip("/") + MEDIA_PATH


def media_url(public_url: str, image: Image) -> str:
    return media_prefix(public_url) + image.name


def own_media(url: str, prefix: str | None) -> bool:
    """Whether `url` is one of the marketplace's own image addresses (under `prefix`)."""
    return (
        prefix is not None
        and url.startswith(prefix)
        and MEDIA_URL.fullmatch(url) is not None
        and MEDIA_NAME.fullmatch(url[len(prefix) :]) is not None
    )
