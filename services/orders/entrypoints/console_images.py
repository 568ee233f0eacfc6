"""Product images: a seller's upload (the JSON API's `POST /api/seller/products/{sku}/image`
and the products page's Upload form, both multipart with a `file` field) and the images
served back at `GET /media/products/<sha256>.<ext>`, to anyone, from the orders database.

An upload is stored by the SHA-256 of its bytes, then set as the product's image through
the same update as a typed image URL: `catalog.changed` carries it, open rooms redraw."""

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from services.orders import seller_service
from services.orders.entrypoints.console_auth import Console
from services.orders.media import (
    EXTENSIONS,
    MEDIA_NAME,
    MEDIA_PATH,
    Image,
    ImageMissing,
    ImageTooLarge,
    media_url,
)
from services.orders.ports import ProductView

FILE_FIELD = "file"
MULTIPART_OVERHEAD = 64 * 1024
"""What a multipart body may hold besides the image (boundaries, headers, the CSRF field)."""
MEDIA_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
}


async def upload_image(
    request: Request, console: Console, *, seller_id: str, sku: str
) -> ProductView:
    """The posted image, stored and set as the seller's product `sku`'s image: NotFound
    or NotYours first, then ImageMissing, ImageTooLarge or ImageTypeRefused."""
    runtime = console.runtime
    await seller_service.own_product(uow=runtime.uow, seller_id=seller_id, sku=sku)
    image = await _read_image(request, runtime.settings.max_image_bytes)
    await console.images.store(image)
    product = await seller_service.update_product(
        uow=runtime.uow,
        seller_id=seller_id,
        sku=sku,
        image_url=media_url(runtime.settings.public_url, image),
        media=console.media,
    )
    runtime.changed(skus=[sku])
    return product


async def _read_image(request: Request, max_bytes: int) -> Image:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD:
        raise ImageTooLarge(f"an image is at most {max_bytes:,} bytes")
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get(FILE_FIELD)
    if not isinstance(upload, UploadFile):
        raise ImageMissing(f"send the image as the multipart field `{FILE_FIELD}`")
    data = await upload.read(max_bytes + 1)
    return Image.accept(data, max_bytes=max_bytes)


media = APIRouter(tags=["product images"])


@media.get(
    MEDIA_PATH + "{name}",
    summary="An uploaded product image",
    responses={200: {"content": {kind: {} for kind in EXTENSIONS.values()}}, 404: {}},
)
async def product_image(name: str, request: Request) -> Response:
    match = MEDIA_NAME.fullmatch(name)
    console: Console = request.app.state.console
    stored = None if match is None else await console.images.get(match.group(1))
    if match is None or stored is None or EXTENSIONS[match.group(2)] != stored.content_type:
        return Response("no such image", status_code=404, media_type="text/plain",
                        headers={"X-Content-Type-Options": "nosniff"})  # fmt: skip
    return Response(stored.data, media_type=stored.content_type, headers=MEDIA_HEADERS)
