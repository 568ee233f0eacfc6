"""What routes get injected: the use cases' collaborators, built once by the app factory."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.storefront.config import StorefrontSettings
from services.storefront.service import CheckoutPublisher, RoomReader, StockReader
from services.storefront.sessions import TokenIssuer


@dataclass(frozen=True, slots=True)
class StorefrontDeps:
    settings: StorefrontSettings
    rooms: RoomReader
    stock: StockReader
    publisher: CheckoutPublisher
    tokens: TokenIssuer


async def get_deps(request: Request) -> StorefrontDeps:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
    deps: StorefrontDeps = request.app.state.deps
    return deps


Deps = Annotated[StorefrontDeps, Depends(get_deps)]
