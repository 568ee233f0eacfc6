"""The options the `livecart-ops dlq` commands share, and how they become a selection."""

from typing import Annotated

import typer

from services.ops.cli_support import time_option
from services.ops.config import OpsConfig, OpsError
from services.ops.dlq import Selection, stream_keys

StreamOpt = Annotated[
    str,
    typer.Option(
        "--stream",
        help="Stream whose dead letters to use: short name or key; checkout.requested is "
        "every checkout partition, checkout.requested.<k> one; flash_deal.requested and "
        "order.cancellation_requested are the other streams the orders group reads.",
    ),
]
ReasonOpt = Annotated[
    str | None, typer.Option("--reason", help="Only this reason, e.g. handler_error.")
]
SinceOpt = Annotated[
    str | None, typer.Option("--since", help="Dead-lettered at or after (ISO time).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Dead-lettered at or before (ISO time).")
]
IdsOpt = Annotated[list[str] | None, typer.Option("--id", help="Only this DLQ id (repeatable).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DEFAULT_STREAM = "checkout.requested"


def selection_of(
    reason: str | None, since: str | None, until: str | None, ids: list[str] | None = None
) -> Selection:
    return Selection(
        reason=reason,
        since=time_option(since, "--since"),
        until=time_option(until, "--until"),
        ids=frozenset(ids) if ids else None,
    )


def stream_option(config: OpsConfig, stream: str) -> list[str]:
    try:
        return stream_keys(config.streams, stream)
    except OpsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--stream") from None
