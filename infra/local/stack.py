"""Run livecart on this machine: `python -m infra.local.stack up|down|logs|status`.

`up` finds or starts Redis, seeds the demo, starts every service in the background (as many
processes of each as `SCALE_<SERVICE>` says, see stack_replicas.py) and waits until each is
ready; `down` stops what `up` started. State lives under `run/`.
"""

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from contracts import DEFAULT_PREFIX
from infra.local.processes import (
    http_status,
    is_running,
    note,
    port_in_use,
    read_pid,
    start_background,
    stop,
    tail,
    write_pid,
)
from infra.local.redis_server import redis_answers
from infra.local.stack_acl import operations_hint
from infra.local.stack_config import (
    SERVICES,
    RunPaths,
    Service,
    StackError,
    Started,
    checkout_partitions,
    local_origins,
    missing_entry_points,
    requested_redis_url,
    resolve_ports,
    service_environment,
    summary,
)
from infra.local.stack_redis import REDIS_MARKER, ensure_redis
from infra.local.stack_replicas import (
    Replica,
    load_replicas,
    plan_replicas,
    recorded_processes,
    save_replicas,
    shared_sqlite_note,
    urls_by_service,
)
from infra.local.stack_sellers import demo_seller_login, local_http_cookies, seed_environment
from infra.local.stack_state import recorded_stack, write_stack_record
from services.ops.stack_record import stack_file

ROOT = Path(__file__).resolve().parents[2]
PATHS = RunPaths(ROOT / "run")
REPLICAS_FILE = PATHS.root / "replicas.json"
READY_TIMEOUT = 30.0
SEED_TIMEOUT = 120.0


def up() -> None:
    ports = resolve_ports(os.environ)
    replicas = plan_replicas(os.environ)
    missing = missing_entry_points(ROOT)
    if missing:
        raise StackError(f"not written yet, so there is nothing to run: {', '.join(missing)}")
    check_ports_free(replicas)
    started: Started = []
    prefix = os.environ.get("LIVECART_STREAM_PREFIX") or DEFAULT_PREFIX
    urls = urls_by_service(replicas)
    try:
        access = ensure_redis(PATHS, os.environ, started, stream_prefix=prefix)
        env = service_environment(
            os.environ, redis_url=access.url, ports=ports, service_urls=access.service_urls,
            notifier_urls=urls["notifier"], storefront_urls=urls["storefront"],
        )  # fmt: skip
        local_http_cookies(env)
        hosted_payment(env, orders_url=urls["orders"][0], storefront_urls=urls["storefront"])
        login = demo_seller_login(PATHS.seller_login, os.environ)
        for service in SERVICES:
            if service.seeds_demo:
                seed(service, seed_environment(env, login))
        save_replicas(REPLICAS_FILE, replicas)
        processes = [start_service(r, env, started) for r in replicas]
        # Processes start side by side on few cores: more of them take longer to be ready.
        deadline = time.monotonic() + READY_TIMEOUT + 10.0 * (len(replicas) - len(SERVICES))
        for replica, process in zip(replicas, processes, strict=True):
            wait_ready(replica, process, deadline)
    except BaseException:  # Ctrl-C and a closed stdout included: leave nothing half-started
        undo(started)
        raise
    partitions = checkout_partitions(os.environ)
    # livecart-ops and `make audit` read it: they find this stack without being told.
    write_stack_record(PATHS.root, recorded_stack(
        os.environ, access=access, stream_prefix=prefix, checkout_partitions=partitions,
        root=ROOT,
    ))  # fmt: skip
    operations = operations_hint(access, stream_prefix=prefix, checkout_partitions=partitions)
    if note := shared_sqlite_note(env, replicas):
        print(note)
    print(summary(ports=ports, redis_url=access.url, stream_prefix=prefix, logs=PATHS.logs,
                  operations=operations, replica_urls=urls,
                  checkout_partitions=partitions,
                  seller_login=(login.email, login.password, login.file)))  # fmt: skip


def hosted_payment(env: dict[str, str], *, orders_url: str, storefront_urls: list[str]) -> None:
    """`make up` runs the hosted payment page (unless ORDERS_PAYMENT_MODE says otherwise):
    the buyer approves in the marketplace's page, which the room's pages may frame."""
    env.setdefault("ORDERS_PAYMENT_MODE", "hosted")
    env.setdefault("ORDERS_PUBLIC_URL", orders_url)
    env.setdefault("ORDERS_PAYMENT_FRAME_ANCESTORS", ",".join(local_origins(storefront_urls)))


def undo(started: Started) -> None:
    """Stop what this `up` started, newest first."""
    for name, marker, pid in reversed(started):
        stop(pid, marker=marker)
        PATHS.pid(name).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # stderr may be a closed pipe
            print(f"Stopped {name} (pid {pid}), started by this run", file=sys.stderr)


def check_ports_free(replicas: list[Replica]) -> None:
    """Fail before starting anything when a port is held by a program `up` did not start."""
    for replica in replicas:
        pid = read_pid(PATHS.pid(replica.name))
        if not (pid and is_running(pid, replica.service.module)) and port_in_use(replica.port):
            raise StackError(
                f"port {replica.port} for {replica.name} is taken by another program; "
                f"free it or set {replica.service.port_variable}"
            )


def seed(service: Service, env: dict[str, str]) -> None:
    """Run `python -m services.<name> seed-demo` (idempotent), its output into the log."""
    log = PATHS.log(service.name)
    command = [sys.executable, "-m", service.module, "seed-demo"]
    print(f"Seeding the demo into {service.name}")
    note(log, " ".join(command[1:]))
    try:
        with log.open("ab") as out:
            result = subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=SEED_TIMEOUT,
                check=False,
            )
    except subprocess.TimeoutExpired as error:
        raise StackError(f"{' '.join(command[1:])} took over {SEED_TIMEOUT:.0f}s") from error
    if result.returncode != 0:
        raise StackError(
            f"`{' '.join(command[1:])}` failed with exit code {result.returncode}; "
            f"last lines of {log}:\n{tail(log)}"
        )


def start_service(
    replica: Replica, env: dict[str, str], started: Started
) -> "subprocess.Popen[bytes] | None":
    """Start `replica` unless it already runs; None when it was left as it was."""
    name, module = replica.name, replica.service.module
    pid = read_pid(PATHS.pid(name))
    if pid and is_running(pid, module):
        print(f"{name} is already running (pid {pid}); leaving it as it is")
        return None
    command = [sys.executable, "-m", module]
    process = start_background(command, cwd=ROOT, env=replica.environment(env), log=PATHS.log(name))
    write_pid(PATHS.pid(name), process.pid)
    started.append((name, module, process.pid))
    print(f"Started {name} (pid {process.pid}) on port {replica.port}")
    return process


def wait_ready(
    replica: Replica, process: "subprocess.Popen[bytes] | None", deadline: float
) -> None:
    name = replica.name
    base = f"http://127.0.0.1:{replica.port}"
    log = PATHS.log(name)
    answers: tuple[int | None, int | None] = (None, None)
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(
                f"{name} exited with code {process.returncode}; last lines of {log}:\n{tail(log)}"
            )
        answers = (http_status(f"{base}/health"), http_status(f"{base}/ready"))
        if answers == (200, 200):
            print(f"{name} is ready on {base}")
            return
        time.sleep(0.25)
    raise StackError(
        f"{name} was not ready within {READY_TIMEOUT:.0f}s (last answers: /health "
        f"{answers[0] or 'none'}, /ready {answers[1] or 'none'}); last lines of {log}:\n{tail(log)}"
    )


def down() -> None:
    stopped = []
    processes = recorded_processes(sorted(PATHS.pids.glob("*.pid")))
    targets = [(name, s.module) for name, s in processes] + [("redis", REDIS_MARKER)]
    for name, marker in targets:
        pid = read_pid(PATHS.pid(name))
        if pid and is_running(pid, marker):
            killed = stop(pid, marker=marker)
            stopped.append(f"{name} (pid {pid}{', killed after 15 s' if killed else ''})")
        PATHS.pid(name).unlink(missing_ok=True)
    PATHS.redis_url_file.unlink(missing_ok=True)
    PATHS.acl_prefix_file.unlink(missing_ok=True)
    REPLICAS_FILE.unlink(missing_ok=True)
    stack_file(PATHS.root).unlink(missing_ok=True)
    print(
        "Stopped " + ", ".join(stopped)
        if stopped
        else "Nothing to stop: nothing `make up` started is running."
    )


def logs() -> None:
    files = sorted(str(path) for path in PATHS.logs.glob("*.log"))
    tail_binary = shutil.which("tail")
    if not files:
        raise StackError(f"no logs yet in {PATHS.logs}: start the stack with `make up`")
    if tail_binary is None:
        raise StackError(f"`tail` is not installed; the logs are in {PATHS.logs}")
    os.execv(tail_binary, [tail_binary, "-n", "20", "-F", *files])


def status() -> None:
    """Every process the last `up` started (or would start), then Redis."""
    replicas = load_replicas(REPLICAS_FILE) or plan_replicas(os.environ)
    for replica in replicas:
        pid = read_pid(PATHS.pid(replica.name))
        alive = pid is not None and is_running(pid, replica.service.module)
        ready = http_status(f"http://127.0.0.1:{replica.port}/ready") if alive else None
        state = "running" if alive else "stopped"
        print(f"{replica.name:<13} pid {pid or '-'!s:<8} {state:<8} port {replica.port:<6} "
              f"/ready {ready or '-'}")  # fmt: skip
    # e.g. orders-3 of an earlier `up SCALE_ORDERS=3`, still running after `up SCALE_ORDERS=1`
    known = {replica.name for replica in replicas}
    for name, service in recorded_processes(sorted(PATHS.pids.glob("*.pid"))):
        pid = read_pid(PATHS.pid(name))
        if name not in known and pid and is_running(pid, service.module):
            print(
                f"{name:<13} pid {pid!s:<8} running  (an earlier `make up` started it; "
                "`make down` stops it)"
            )
    pid = read_pid(PATHS.pid("redis"))
    if pid and is_running(pid, REDIS_MARKER):
        print(f"{'redis':<13} pid {pid!s:<8} running  (private, data in {PATHS.redis_data})")
    else:
        url = requested_redis_url(os.environ)
        print(f"{'redis':<13} {url} {'answers' if redis_answers(url) else 'does not answer'}")


COMMANDS = {"up": up, "down": down, "logs": logs, "status": status}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.stack", description=__doc__)
    parser.add_argument("command", choices=COMMANDS)
    args = parser.parse_args(argv)
    try:
        COMMANDS[args.command]()
    except StackError as error:
        print(f"stack {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
