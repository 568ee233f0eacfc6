"""Uploaded product images, in the orders database (so every replica serves them), one
row per distinct image: the SHA-256 of the bytes is the key."""

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select

from services.orders.adapters.tables import ProductImageRow
from services.orders.media import Image


@dataclass(frozen=True, slots=True)
class StoredImage:
    content_type: str
    data: bytes


class ProductImages:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def store(self, image: Image) -> None:
        """Keep `image`; the same bytes stored already (or concurrently) are one row."""
        try:
            async with self._sessions.begin() as session:
                there = await session.scalar(
                    select(ProductImageRow.sha256).where(
                        col(ProductImageRow.sha256) == image.sha256
                    )
                )
                if there is None:
                    session.add(
                        ProductImageRow(
                            sha256=image.sha256,
                            content_type=image.content_type,
                            size=len(image.data),
                            data=image.data,
                        )
                    )
        except IntegrityError:  # the same image, stored by a concurrent upload
            pass

    async def get(self, sha256: str) -> StoredImage | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(ProductImageRow.content_type, ProductImageRow.data).where(
                        col(ProductImageRow.sha256) == sha256
                    )
                )
            ).first()
        return None if row is None else StoredImage(row[0], bytes(row[1]))
