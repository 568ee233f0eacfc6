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


def get_deps(request: Request) -> StorefrontDeps:
    deps: StorefrontDeps = request.app.state.deps
    return deps


Deps = Annotated[StorefrontDeps, Depends(get_deps)]
