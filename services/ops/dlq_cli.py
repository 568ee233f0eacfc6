"""`livecart-ops dlq list|show|replay|purge`: look at dead letters and act on them."""

from typing import Annotated

import typer
from rich.json import JSON
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from services.ops.checks.result import plural
from services.ops.cli_support import config_of, console, print_json, run
from services.ops.config import OpsConfig
from services.ops.connections import open_ops_redis
from services.ops.dlq import (
    Selection,
    StreamLetter,
    dead_lettered_at,
    find_dead_letter,
    label,
    letter_document,
    purge,
    replay,
    select_dead_letters,
)
from services.ops.dlq_advice import advice_lines, letter_advice, replay_warning
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
from services.ops.stack_check import require_livecart_streams
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
    keys = stream_option(config, stream)
    where = label(config.streams, keys)
    letters = run(_select(config, keys, selection))
    if as_json:
        print_json(
            {
                "stream": where,
                "streams": keys,
                "dead_letters": [letter_document(x) for x in letters],
            }
        )
        return
    table = Table(title=f"{_letters(len(letters))} of {where}", title_justify="left")
    # A checkout's id, or what else the entry correlates (a flash deal's id).
    columns = ["dlq id", "dead-lettered", "checkout / deal", "reason", "deliveries", "error"]
    if len(keys) > 1:
        columns.insert(1, "partition")
    for column in columns:
        table.add_column(column, overflow="fold")
    for found in letters:
        doc, letter = letter_document(found), found.letter
        row = [
            letter.dlq_id,
            clock_of(found),
            doc["checkout_id"] or doc["correlation_id"] or "-",
            letter.reason,
            str(letter.deliveries),
            escape(letter.error[:80]),
        ]
        if len(keys) > 1:
            row.insert(1, config.streams.short_name(found.stream))
        table.add_row(*row)
    out = console()
    out.print(table)
    for line in advice_lines(letters, stream=stream):
        out.print(line, soft_wrap=True)


@dlq_app.command("show")
def show_command(
    ctx: typer.Context,
    dlq_id: Annotated[str, typer.Argument(help="The DLQ entry id.")],
    stream: StreamOpt = DEFAULT_STREAM,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one dead letter: its metadata and the original entry (pretty JSON)."""
    config = config_of(ctx)
    keys = stream_option(config, stream)
    letter = run(_find(config, keys, dlq_id))
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
    out.print(letter_advice(letter, stream=stream), soft_wrap=True)


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
    keys = stream_option(config, stream)
    where = label(config.streams, keys)
    letters = run(_select(config, keys, selection))
    for line in replay_warning(letters, stream=stream):
        warning = Text.assemble(("Replaying will not help: ", "bold red"), line)
        console().print(warning, soft_wrap=True)
    if not _confirmed(letters, f"Replay {_letters(len(letters))} into {where}?", yes, where):
        return
    replayed = run(_act(config, letters, replaying=True))
    console().print(f"Replayed {_letters(replayed)} into {where}.")


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
    keys = stream_option(config, stream)
    where = label(config.streams, keys)
    letters = run(_select(config, keys, selection))
    question = f"Delete {_letters(len(letters))} of {where} for good?"
    if not _confirmed(letters, question, yes, where):
        return
    deleted = run(_act(config, letters, replaying=False))
    console().print(f"Purged {_letters(deleted)} of {where}.")


def _letters(count: int) -> str:
    return plural(count, "dead letter", "dead letters")


def clock_of(found: StreamLetter) -> str:
    return clock(dead_lettered_at(found.letter))


def _confirmed(letters: list[StreamLetter], question: str, yes: bool, key: str) -> bool:
    if not letters:
        console().print(f"No dead letters of {key} match; nothing to do.")
        return False
    if yes or typer.confirm(question):
        return True
    console().print("Nothing done.")
    return False


async def _select(config: OpsConfig, keys: list[str], selection: Selection) -> list[StreamLetter]:
    async with open_ops_redis(config) as client:
        await require_livecart_streams(client, config)
        return await select_dead_letters(client, keys, selection)


async def _find(config: OpsConfig, keys: list[str], dlq_id: str) -> StreamLetter:
    async with open_ops_redis(config) as client:
        await require_livecart_streams(client, config)
        return await find_dead_letter(client, keys, dlq_id)


async def _act(config: OpsConfig, letters: list[StreamLetter], *, replaying: bool) -> int:
    async with open_ops_redis(config) as client:
        if replaying:
            return len(await replay(client, letters))
        return await purge(client, letters)
