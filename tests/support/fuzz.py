"""Fuzz a running service from its own OpenAPI document with schemathesis, one operation at
a time and deterministically (the same cases every run), so `make test` stays CI-stable.

schemathesis's pytest plugin does not load under pytest 9, so its strategies are driven
here with hypothesis directly, and the requests are sent with httpx: an endless
Server-Sent Events answer is then checked by its status line and headers alone.
"""

import json
import secrets
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.strategies import SearchStrategy
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_url
from schemathesis.schemas import APIOperation

from contracts import Streams
from infra.local.redis_server import free_port
from tests.support.demo import DEMO_SELLER_EMAIL
from tests.support.stack import ROOT, ServiceProcess, seed_demo, service_env

TRACEBACK = "Traceback (most recent call last)"
Check = Callable[..., object]
Statuses = dict[str, Counter[int]]
"""The status codes each operation (`METHOD /path`) answered."""


@dataclass(frozen=True)
class Credentials:
    """What a signed-in client sends with every request."""

    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


ANONYMOUS = Credentials()


@contextmanager
def service_alone(
    name: str,
    *,
    redis_url: str,
    workdir: Path,
    seller_password: str,
    seed: bool = True,
    prepare: Callable[[Streams], None] | None = None,
    **extra: str,
) -> Iterator[ServiceProcess]:
    """One service started on its own on a stream prefix of its own (deleted afterwards),
    the demo seeded first unless `seed` is false (the demo seller's password
    `seller_password`), and `prepare` given the streams before it starts."""
    port = free_port()
    prefix = f"lc-fuzz-{name}-{port}"
    env = service_env(
        redis_url=redis_url, stream_prefix=prefix, workdir=workdir,
        LIVECART_DEMO_SELLER_PASSWORD=seller_password, LIVECART_SELLER_COOKIE_SECURE="false",
        **{f"{name.upper()}_PORT": str(port)}, **extra,
    )  # fmt: skip
    if seed:
        seed_demo(env)
    if prepare is not None:
        prepare(Streams(prefix))
    service = ServiceProcess(name, port, env, workdir / f"{name}.log").start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.terminate()
        subprocess.run(
            [sys.executable, "-c", _CLEANUP, redis_url, f"{prefix}:*"], cwd=ROOT, check=False
        )


_CLEANUP = """
import sys, redis
client = redis.Redis.from_url(sys.argv[1])
keys = list(client.scan_iter(match=sys.argv[2]))
if keys:
    client.delete(*keys)
"""


def new_seller_password() -> str:
    return secrets.token_urlsafe(12)


def sign_in_demo_seller(service: ServiceProcess, password: str) -> Credentials:
    """A fresh session of the demo seller: its cookie, and its CSRF token as the header."""
    answer = httpx.post(
        f"{service.base_url}/api/seller/session",
        json={"email": DEMO_SELLER_EMAIL, "password": password},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return Credentials(
        headers={"X-CSRF-Token": answer.json()["csrf_token"]}, cookies=dict(answer.cookies)
    )


def operations(service: ServiceProcess) -> list[APIOperation]:
    schema = from_url(f"{service.base_url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def fuzz_operations(
    operations: list[APIOperation],
    credentials: Callable[[], Credentials],
    *,
    max_examples: int,
    known: Mapping[str, str] | None = None,
    checks: list[Check] | None = None,
) -> Statuses:
    """Throw `max_examples` cases of each kind at each operation, with fresh
    `credentials()` per kind: valid per the schema; invalid; valid with the path
    parameters of `known` (ids that exist, so the cases get past the 404); and valid with
    an unpaired surrogate in every string of the body and invalid UTF-8 after every query
    value. Each answer: no 5xx, no traceback, and (but for invalid cases)
    `checks`. Every operation runs; the failures are reported together."""
    failures: list[str] = []
    statuses: Statuses = {}
    for operation in operations:
        seen = statuses.setdefault(f"{operation.method.upper()} {operation.path}", Counter())
        for kind, (strategy, spoil, examples) in _kinds(
            operation, known or {}, max_examples
        ).items():
            # A body that is not JSON at all is FastAPI's 400, which no route documents.
            also = None if kind == GenerationMode.NEGATIVE.value else checks
            answer = partial(call_and_check, credentials=credentials(), spoil=spoil, checks=also)
            try:
                _fuzz(strategy, answer, seen, max_examples=examples)
            except Unsatisfiable:
                if kind not in NEEDS_INPUT:
                    raise
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis: a group of failures
                failures.append(f"{operation.method.upper()} {operation.path} ({kind}): {exc}")
    assert not failures, "\n\n".join(failures)
    return statuses


def call_and_check(
    case: schemathesis.Case,
    credentials: Credentials,
    *,
    spoil: bool = False,
    checks: list[Check] | None = None,
) -> int:
    """Send `case` (its strings spoiled if `spoil`) with `credentials` on top; no 5xx, no
    traceback, and `checks`. An endless event stream (200 `text/event-stream`) is judged
    by its status line and headers, then closed. The status code."""
    with httpx.stream(
        **_request(case, credentials, spoil=spoil), timeout=httpx.Timeout(10, read=5)
    ) as response:
        streaming = response.headers.get("content-type", "").startswith("text/event-stream")
        if response.status_code == 200 and streaming:
            return response.status_code
        response.read()
    assert TRACEBACK not in response.text, (case.method, case.formatted_path, response.text[:500])
    case.validate_response(response, checks=[not_a_server_error, *(checks or [])])
    return response.status_code


def assert_log_clean(service: ServiceProcess) -> None:
    """Nothing the fuzzing sent made the service log a traceback (an error it swallowed
    after the answer had started, e.g. inside a stream, shows only there)."""
    text = service.log.read_text(errors="replace")
    assert TRACEBACK not in text, text[text.index(TRACEBACK) - 500 :][:4000]


Kinds = dict[str, tuple[SearchStrategy[schemathesis.Case], bool, int]]
NEEDS_INPUT = {GenerationMode.NEGATIVE.value, "unpaired surrogates"}
"""Kinds of case an operation that takes no input (or only optional text) may have none of."""


def _kinds(operation: APIOperation, known: Mapping[str, str], max_examples: int) -> Kinds:
    """Each kind of case: its strategy, whether its strings are spoiled on the way, and
    how many examples of it to try."""
    positive = operation.as_strategy(GenerationMode.POSITIVE)
    negative = operation.as_strategy(GenerationMode.NEGATIVE)
    kinds: Kinds = {GenerationMode.POSITIVE.value: (positive, False, max_examples)}
    inputs = (operation.path_parameters, operation.query, operation.headers, operation.cookies)
    if any(len(parameters) for parameters in inputs) or len(operation.body):
        kinds[GenerationMode.NEGATIVE.value] = (negative, False, max_examples)
    names = [parameter.name for parameter in operation.path_parameters]
    if names and all(name in known for name in names):
        # Made-up ids mostly meet the same 404, which a few cases cover.
        kinds[GenerationMode.POSITIVE.value] = (positive, False, max(3, max_examples // 5))
        positive = operation.as_strategy(path_parameters={n: known[n] for n in names})
        kinds["known ids"] = (positive, False, max_examples)
    if len(operation.query) or len(operation.body):
        # A handful is enough: one unpaired surrogate reaches every string at once.
        kinds["unpaired surrogates"] = (positive.filter(_has_text), True, max(5, max_examples // 3))
    return kinds


def _fuzz(
    strategy: SearchStrategy[schemathesis.Case],
    answer: Callable[[schemathesis.Case], int],
    seen: Counter[int],
    *,
    max_examples: int,
) -> None:
    @given(case=strategy)
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_acceptably(case: schemathesis.Case) -> None:
        seen[answer(case)] += 1

    answers_acceptably()


def _request(case: schemathesis.Case, credentials: Credentials, *, spoil: bool) -> dict[str, Any]:
    """httpx's arguments for `case`, as schemathesis would send it, with `credentials`."""
    request = case.as_transport_kwargs(headers=credentials.headers)
    headers = dict(request["headers"])
    cookies = {**(request.get("cookies") or {}), **credentials.cookies}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    params = request.get("params") or {}
    body = request.get("data")
    if "json" in request:
        body = json.dumps(_with_surrogates(request["json"]) if spoil else request["json"])
    elif isinstance(body, dict):
        body = urlencode(_with_bad_bytes(body) if spoil else body, doseq=True)
    url = request["url"]
    if spoil and params:  # bytes in the query: httpx would send their repr
        url, params = f"{url}?{urlencode(_with_bad_bytes(params), doseq=True)}", {}
    return {
        "method": request["method"],
        "url": url,
        "params": params,
        "headers": headers,
        "content": body.encode() if isinstance(body, str) else body,
    }


def _has_text(case: schemathesis.Case) -> bool:
    return bool(case.query) or _strings_in(case.body)


def _strings_in(value: object) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(_strings_in(v) for v in value.values())
    return isinstance(value, list) and any(_strings_in(v) for v in value)


def _with_surrogates(value: object) -> object:
    """`value` with an unpaired surrogate after every string: `json.dumps` writes it as the
    escape `\\ud800`, which JSON allows and a Python server decodes to a lone surrogate."""
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, dict):
        return {k: _with_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_surrogates(v) for v in value]
    return value


def _with_bad_bytes(values: Mapping[str, Any]) -> dict[str, Any]:
    # 0xff is never UTF-8; ED A0 80 is a surrogate (U+D800) encoded as if it could be.
    return {name: f"{value}".encode() + b"\xed\xa0\x80\xff" for name, value in values.items()}
