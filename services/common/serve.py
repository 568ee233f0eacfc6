"""Serve a service's ASGI app with uvicorn, exiting 0 after a graceful SIGTERM."""

import contextlib
import signal
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from services.common.logs import configure_logging
from services.common.settings import ServiceSettings

GRACEFUL_SHUTDOWN_SECONDS = 15


class _Server(uvicorn.Server):
    """uvicorn re-raises the signal it caught after shutting down, so a clean SIGTERM
    ends with exit code 143. A finished graceful shutdown is a success: exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(app: FastAPI, settings: ServiceSettings, *, port: int) -> None:
    configure_logging(service=settings.service_name, level=settings.log_level)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        proxy_headers=True,
        log_config=None,  # keep the JSON logging configured above
        access_log=False,  # one line per request is hot-path logging
    )
    _Server(config).run()
