"""Logging: JSON lines when not on a terminal, with the checkout's correlation id on every
line written while that checkout is handled."""

import contextlib
import logging
import sys
from collections.abc import Iterator
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

correlation_id: ContextVar[str | None] = ContextVar("livecart_correlation_id", default=None)


class _CorrelationFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = correlation_id.get()
        return True


@contextlib.contextmanager
def correlated(checkout_id: str) -> Iterator[None]:
    """Lines logged inside carry `correlation_id=checkout_id`."""
    token = correlation_id.set(checkout_id)
    try:
        yield
    finally:
        correlation_id.reset(token)


def configure_logging(*, service: str, level: str, json_lines: bool | None = None) -> None:
    """Root logging for a service process; JSON unless stderr is a terminal."""
    use_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_CorrelationFilter())
    if use_json:
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{correlation_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
