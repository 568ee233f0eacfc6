"""What every livecart-ops command shares: its settings, consoles, the async runner that
turns Redis and database failures into one clear line, and option parsing helpers."""

import asyncio
import sys
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, NoReturn, TypeVar

import typer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MovedError, NoPermissionError, RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rich.console import Console
from rich.markup import escape

from services.ops.config import OpsConfig, OpsError
from services.ops.entries import parse_time, to_json

T = TypeVar("T")
EXIT_ERROR = 2
"""Exit code of a command that could not do its work (1 is a failed audit)."""


def console() -> Console:
    """Standard output; wide when it is not a terminal, so piped tables are not cut."""
    return Console(width=None if sys.stdout.isatty() else 160)


def error_console() -> Console:
    return Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def config_of(ctx: typer.Context) -> OpsConfig:
    config = ctx.find_root().obj
    if not isinstance(config, OpsConfig):  # only when a command is called without the app
        raise RuntimeError("livecart-ops options were not parsed")
    return config


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    error_console().print(f"[bold red]livecart-ops:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run `work`; Redis or database trouble ends the command with a message, no traceback."""
    try:
        return asyncio.run(work)
    except OpsError as exc:
        fail(str(exc))
    except NoPermissionError as exc:
        fail(f"Redis refused a command to this user (ACL): {exc}")
    except (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError) as exc:
        fail(f"lost the connection to Redis: {exc}")
    except MovedError as exc:
        fail(
            f"Redis answered MOVED {exc}: it is a Redis Cluster, give --redis-cluster "
            "(LIVECART_REDIS_CLUSTER=true)"
        )
    except RedisError as exc:
        fail(f"Redis answered with an error: {exc}")
    except RedisClusterException as exc:
        fail(f"Redis Cluster: {exc}")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def print_json(document: object) -> None:
    typer.echo(to_json(document))


def time_option(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 option value (naive means UTC), or a usage error naming the option."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2026-11-28T10:00:00Z", param_hint=name
        ) from None
