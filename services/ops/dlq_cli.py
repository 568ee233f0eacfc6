"""`livecart-ops dlq list|show|replay|purge`: look at dead letters and act on them."""

from typing import Annotated

import typer
from rich.json import JSON
from rich.markup import escape
from rich.table import Table

from services.common.dead_letters import DeadLetter
from services.ops.checks.result import plural
from services.ops.cli_support import config_of, console, print_json, run
from services.ops.config import OpsConfig
from services.ops.connections import open_redis
from services.ops.dlq import (
    Selection,
    dead_lettered_at,
    find_dead_letter,
    letter_document,
    purge,
    replay,
    select_dead_letters,
)
from services.ops.dlq_options import (
    DEFAULT_STREAM,
    IdsOpt,
    ReasonOpt,
    SinceOpt,
    StreamOpt,
    UntilOpt,
    YesOpt,
    selection_of,
    stream_option,
)
from services.ops.entries import to_json
from services.ops.streams_view import clock

dlq_app = typer.Typer(help="Dead letters: list, show, replay or purge them.", no_args_is_help=True)


@dlq_app.command("list")
def list_command(
    ctx: typer.Context,
    stream: StreamOpt = DEFAULT_STREAM,
    reason: ReasonOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List dead letters, oldest first."""
    config, selection = config_of(ctx), selection_of(reason, since, until)
    key = stream_option(config, stream)
    letters = run(_select(config, key, selection))
    if as_json:
        print_json({"stream": key, "dead_letters": [letter_document(x) for x in letters]})
        return
    table = Table(title=f"{_letters(len(letters))} of {key}", title_justify="left")
    for column in ("dlq id", "dead-lettered", "checkout", "reason", "deliveries", "error"):
        table.add_column(column, overflow="fold")
    for letter in letters:
        doc = letter_document(letter)
        table.add_row(
            letter.dlq_id,
            clock_of(letter),
            doc["checkout_id"] or "-",
            letter.reason,
            str(letter.deliveries),
            escape(letter.error[:80]),
        )
    console().print(table)


@dlq_app.command("show")
def show_command(
    ctx: typer.Context,
    dlq_id: Annotated[str, typer.Argument(help="The DLQ entry id.")],
    stream: StreamOpt = DEFAULT_STREAM,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one dead letter: its metadata and the original entry (pretty JSON)."""
    config = config_of(ctx)
    key = stream_option(config, stream)
    letter = run(_find(config, key, dlq_id))
    document = letter_document(letter, with_entry=True)
    if as_json:
        print_json(document)
        return
    out = console()
    meta = Table(show_header=False, title=f"Dead letter {dlq_id}", title_justify="left")
    for name, value in document.items():
        if name != "entry":
            meta.add_row(name, escape(str(value)))
    out.print(meta)
    out.print("Original entry:")
    out.print(JSON(to_json(document["entry"])))


@dlq_app.command("replay")
def replay_command(
    ctx: typer.Context,
    stream: StreamOpt = DEFAULT_STREAM,
    reason: ReasonOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    ids: IdsOpt = None,
    yes: YesOpt = False,
) -> None:
    """Re-add the selected dead letters to their stream (idempotent consumers: no duplicates)."""
    config, selection = config_of(ctx), selection_of(reason, since, until, ids)
    key = stream_option(config, stream)
    letters = run(_select(config, key, selection))
    if not _confirmed(letters, f"Replay {_letters(len(letters))} into {key}?", yes, key):
        return
    replayed = run(_act(config, key, letters, replaying=True))
    console().print(f"Replayed {_letters(replayed)} into {key}.")


@dlq_app.command("purge")
def purge_command(
    ctx: typer.Context,
    stream: StreamOpt = DEFAULT_STREAM,
    reason: ReasonOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    ids: IdsOpt = None,
    yes: YesOpt = False,
) -> None:
    """Delete the selected dead letters for good."""
    config, selection = config_of(ctx), selection_of(reason, since, until, ids)
    key = stream_option(config, stream)
    letters = run(_select(config, key, selection))
    if not _confirmed(letters, f"Delete {_letters(len(letters))} of {key} for good?", yes, key):
        return
    deleted = run(_act(config, key, letters, replaying=False))
    console().print(f"Purged {_letters(deleted)} of {key}.")


def _letters(count: int) -> str:
    return plural(count, "dead letter", "dead letters")


def clock_of(letter: DeadLetter) -> str:
    return clock(dead_lettered_at(letter))


def _confirmed(letters: list[DeadLetter], question: str, yes: bool, key: str) -> bool:
    if not letters:
        console().print(f"No dead letters of {key} match; nothing to do.")
        return False
    if yes or typer.confirm(question):
        return True
    console().print("Nothing done.")
    return False


async def _select(config: OpsConfig, key: str, selection: Selection) -> list[DeadLetter]:
    async with open_redis(config.ops_url) as client:
        return await select_dead_letters(client, key, selection)


async def _find(config: OpsConfig, key: str, dlq_id: str) -> DeadLetter:
    async with open_redis(config.ops_url) as client:
        return await find_dead_letter(client, key, dlq_id)


async def _act(config: OpsConfig, key: str, letters: list[DeadLetter], *, replaying: bool) -> int:
    async with open_redis(config.ops_url) as client:
        if replaying:
            return len(await replay(client, key, letters))
        return await purge(client, key, letters)
