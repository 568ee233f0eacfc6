"""Serve a service's ASGI app with uvicorn, exiting 0 after a graceful SIGTERM.

One worker serves in this process. Several workers run under uvicorn's supervisor,
each in a spawned process that builds its own app (and so its own broker, readers and
database pool) from a picklable `AppFactory`; Prometheus then runs in multiprocess
mode so `/metrics` (see `metrics_app`) adds up every worker's figures.
"""

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, make_asgi_app, multiprocess
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from services.common.logs import configure_logging
from services.common.settings import ServiceSettings

GRACEFUL_SHUTDOWN_SECONDS = 15
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


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


@dataclass(frozen=True)
class AppFactory(Generic[SettingsT]):
    """Builds the app inside the process that serves it. Picklable (a module-level
    `build` and pydantic settings), so every spawned worker gets the parent's settings."""

    build: Callable[[SettingsT], FastAPI]
    settings: SettingsT

    def __call__(self) -> FastAPI:
        # A spawned worker starts with Python's default logging: set ours up again.
        configure_logging(service=self.settings.service_name, level=self.settings.log_level)
        return self.build(self.settings)


def serve(app: FastAPI, settings: ServiceSettings, *, port: int) -> None:
    """Serve `app` in this process."""
    configure_logging(service=settings.service_name, level=settings.log_level)
    _Server(_config(app, settings, port=port)).run()


def serve_workers(
    build: Callable[[SettingsT], FastAPI], settings: SettingsT, *, port: int, workers: int
) -> None:
    """Serve `build(settings)` with `workers` processes sharing the port (1: this process)."""
    if workers <= 1:
        serve(build(settings), settings, port=port)
        return
    configure_logging(service=settings.service_name, level=settings.log_level)
    config = _config(AppFactory(build, settings), settings, port=port, workers=workers)
    with _multiprocess_metrics(settings.service_name):
        # The supervisor returns after SIGTERM once every worker has shut down: exit 0.
        Multiprocess(config, sockets=[config.bind_socket()]).run()


def metrics_app() -> ASGIApp:
    """`/metrics`: this process's registry, or every worker's figures added up when
    the process is one of several workers (Prometheus multiprocess mode)."""
    if not os.environ.get(METRICS_DIR_VARIABLE):
        return make_asgi_app()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return make_asgi_app(registry)


@contextlib.contextmanager
def _multiprocess_metrics(service: str) -> Iterator[None]:
    """A fresh metrics directory for the workers about to be spawned (they inherit the
    variable), removed when they are gone: figures of an earlier run must not add up
    with this one's. An operator's `PROMETHEUS_MULTIPROC_DIR` holds it."""
    parent = os.environ.get(METRICS_DIR_VARIABLE) or None
    if parent:
        os.makedirs(parent, exist_ok=True)
    directory = tempfile.mkdtemp(prefix=f"livecart-{service}-metrics-", dir=parent)
    os.environ[METRICS_DIR_VARIABLE] = directory
    try:
        yield
    finally:
        if parent is None:
            os.environ.pop(METRICS_DIR_VARIABLE, None)
        else:
            os.environ[METRICS_DIR_VARIABLE] = parent
        shutil.rmtree(directory, ignore_errors=True)


def _config(
    app: FastAPI | AppFactory[SettingsT],
    settings: ServiceSettings,
    *,
    port: int,
    workers: int = 1,
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        workers=workers,
        factory=isinstance(app, AppFactory),
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        proxy_headers=True,
        log_config=None,  # keep the JSON logging configured above
        access_log=False,  # one line per request is hot-path logging
    )
