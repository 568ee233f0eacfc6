"""The marketplace's seller console, installed on the orders app: sign-in, the JSON API
under /api/seller and the server-rendered pages under /seller (docs/sellers.md).

    console_auth     who is asking (session cookie, CSRF), the `Console` dependencies
    console_session  sign-in and sign-out, as pages and as JSON
    console_api      products, stock and orders as JSON
    console_pages    the same as HTML pages and form posts
    console_images   product image uploads, and /media/products/ serving them
    console_errors   every failure mapped to a 4xx answer, once
"""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.orders.entrypoints import console_api, console_images, console_pages, console_session
from services.orders.entrypoints.app import OrdersRuntime
from services.orders.entrypoints.console_auth import Console
from services.orders.entrypoints.console_errors import install_error_handlers
from services.orders.entrypoints.console_web import STATIC_DIR, ConsoleHeaders


def install_console(app: FastAPI, runtime: OrdersRuntime) -> None:
    """Add the console's routes, static files, error handlers and headers to `app`."""
    app.state.console = Console.of(runtime)
    install_error_handlers(app)
    app.add_middleware(ConsoleHeaders, media=app.state.console.media)
    app.include_router(console_session.pages)
    app.include_router(console_session.api)
    app.include_router(console_api.router)
    app.include_router(console_pages.router)
    app.include_router(console_images.media)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
