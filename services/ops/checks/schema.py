"""Check 1: the storefront's database holds no order, payment or stock-of-record table or
column. The live schema is inspected (SQLAlchemy), not the storefront's code."""

from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ops.checks.names import RECORD_STEMS, offending_word
from services.ops.checks.result import CheckResult, plural, verdict

KEY = "storefront-schema"
TITLE = "Storefront DB holds no order, payment or stock of record"

Schema = dict[str, list[str]]
"""Column names by table name."""


async def read_schema(conn: AsyncConnection, schema: str | None = None) -> Schema:
    def inspect_sync(sync: Connection) -> Schema:
        inspector = inspect(sync)
        return {
            name: [column["name"] for column in inspector.get_columns(name, schema=schema)]
            for name in sorted(inspector.get_table_names(schema=schema))
        }

    return await conn.run_sync(inspect_sync)


def offending_names(schema: Schema, stems: tuple[str, ...]) -> list[str]:
    """`table` or `table.column` names that match one of `stems`, each with the stem."""
    found = []
    for table, columns in schema.items():
        if stem := offending_word(table, stems):
            found.append(f"table `{table}` (matches `{stem}`)")
        found += [
            f"column `{table}.{column}` (matches `{stem}`)"
            for column in columns
            if (stem := offending_word(column, stems))
        ]
    return found


def check_storefront_schema(schema: Schema, *, where: str) -> CheckResult:
    evidence = [f"inspected {where}: {len(schema)} tables"] + [
        f"`{table}`: {', '.join(columns)}" for table, columns in schema.items()
    ]
    problems = offending_names(schema, RECORD_STEMS)
    return verdict(
        KEY,
        TITLE,
        problems=problems,
        evidence=evidence,
        passed=f"{len(schema)} tables, none holds orders, payments or stock",
        failed=plural(len(problems), "name", "names") + " of record data in the storefront DB",
    )
