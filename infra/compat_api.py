"""Is an HTTP API still compatible with the last release's OpenAPI document?

The server reads requests: no operation or parameter it read may go, and nothing clients
sent may be refused now (newly required, narrowed). Clients read responses: no field may
go, and nothing may be sent that the release's document did not allow (a new enum
value, null, a looser bound). New operations, optional inputs, fields and statuses are
notes. Refusing request fields the document never named is a note too.
"""

from infra.compat_report import NOW_RELEASE, Report
from infra.contract_surface import Json
from infra.schema_compat import Document, Finding, Kind, narrowings

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def compare_api(name: str, old: Json, new: Json, report: Report) -> None:
    new_paths = new.get("paths", {})
    for path, operations in old.get("paths", {}).items():
        for method in (m for m in METHODS if m in operations):
            label = f"API {name} {method.upper()} {path}"
            operation = new_paths.get(path, {}).get(method)
            if operation is None:
                report.breaking.append(f"{label}: removed")
                continue
            sides = (Document(operations[method], old), Document(operation, new))
            _requests(label, *sides, report)
            _responses(label, *sides, report)
    for path, operations in new_paths.items():
        old_operations = old.get("paths", {}).get(path, {})
        report.notes += [
            f"API {name} {m.upper()} {path}: new"
            for m in METHODS
            if m in operations and m not in old_operations
        ]


def _parameters(doc: Document) -> dict[tuple[str, str], Json]:
    found = {}
    for parameter in doc.schema.get("parameters", []):
        parameter = dict(doc.resolve(parameter))
        where, name = parameter.get("in", "query"), parameter.get("name", "")
        found[(where, name.lower() if where == "header" else name)] = parameter
    return found


def _requests(label: str, old: Document, new: Document, report: Report) -> None:
    before, after = _parameters(old), _parameters(new)
    for (where, name), parameter in before.items():
        what = f"{label}: {where} parameter {name}"
        now = after.get((where, name))
        if now is None:
            report.breaking.append(f"{what}: no longer read")
            continue
        if now.get("required") and not parameter.get("required"):
            report.breaking.append(f"{what}: now required")
        _server_reads(
            what, "value", Document(parameter.get("schema", {}), old.root),
            Document(now.get("schema", {}), new.root), report,
        )  # fmt: skip
    for (where, name), parameter in after.items():
        if (where, name) in before:
            continue
        if parameter.get("required"):
            report.breaking.append(f"{label}: {where} parameter {name}: new and required")
        else:
            report.notes.append(f"{label}: {where} parameter {name}: new, optional")
    body_before, body_after = old.schema.get("requestBody"), new.schema.get("requestBody")
    if body_before is None:
        if body_after is not None and body_after.get("required"):
            report.breaking.append(f"{label}: a request body is now required")
        return
    if body_after is None:
        report.breaking.append(f"{label}: the request body is no longer read")
        return
    if body_after.get("required") and not body_before.get("required"):
        report.breaking.append(f"{label}: the request body is now required")
    for media, content in body_before.get("content", {}).items():
        now_content = body_after.get("content", {}).get(media)
        if now_content is None:
            report.breaking.append(f"{label}: request body {media} no longer accepted")
            continue
        _server_reads(
            f"{label}: request body", "body", Document(content.get("schema", {}), old.root),
            Document(now_content.get("schema", {}), new.root), report,
        )  # fmt: skip


def _server_reads(label: str, root: str, old: Document, new: Document, report: Report) -> None:
    """The server reads it: today's server must take what clients of the release sent."""
    for finding in narrowings(old, new, root):
        if finding.kind is Kind.CLOSED:
            # Fields the contract never named were dropped unread before; refusing them
            # (422) is a note: a client that only sends what the document names is unhurt.
            report.notes.append(f"{label}: {finding}")
        else:
            report.breaking.append(f"{label}: {_explain(finding, 'no longer read')}")


def _responses(label: str, old: Document, new: Document, report: Report) -> None:
    before, after = old.schema.get("responses", {}), new.schema.get("responses", {})
    for status, response in before.items():
        now = after.get(status)
        if now is None:
            target = report.breaking if str(status).startswith("2") else report.notes
            target.append(f"{label}: response {status} no longer answered")
            continue
        for media, content in old.resolve(response).get("content", {}).items():
            now_content = new.resolve(now).get("content", {}).get(media)
            if now_content is None:
                report.breaking.append(f"{label}: response {status} {media} no longer sent")
                continue
            sent = Document(now_content.get("schema", {}), new.root)
            was = Document(content.get("schema", {}), old.root)
            where = f"response {status}"
            # Clients read responses: what is sent now must be what the release sent.
            for finding in narrowings(was, sent, where):
                if finding.kind is Kind.ABSENT:
                    report.breaking.append(f"{label}: {_explain(finding, 'no longer sent')}")
            for finding in narrowings(sent, was, where, sides=NOW_RELEASE):
                if finding.kind is Kind.ABSENT:
                    report.notes.append(f"{label}: new field {finding.where}")
                elif finding.kind is Kind.NARROWED:
                    report.breaking.append(f"{label}: clients may now get {finding}")
    report.notes += [f"{label}: new response {status}" for status in after if status not in before]


def _explain(finding: Finding, absent: str) -> str:
    return f"{finding.where}: {absent}" if finding.kind is Kind.ABSENT else str(finding)
