"""How many processes of each service `make up` runs (`SCALE_<SERVICE>`), on which ports,
and the record of them under run/ that `status` and `down` read back. Pure but for that
record, so it is unit-tested.

Replica 1 keeps the service's port and file names (`orders.pid`, `orders.log`); replica k
listens on the port + 10 * (k - 1) and is named `<service>-k` (`orders-2` on 8012), so
8000/8001/8002 stay storefront/notifier/orders and the tens digit tells the replica.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.local.stack_config import SERVICES, ConfigError, Service, resolve_ports

MAX_REPLICAS = 9
PORT_STEP = 10


@dataclass(frozen=True)
class Replica:
    """One process of a service as `make up` runs it."""

    service: Service
    number: int
    port: int

    @property
    def name(self) -> str:
        """Its pid and log file stem: the service's name, `-<number>` from the second on."""
        return self.service.name if self.number == 1 else f"{self.service.name}-{self.number}"

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with this replica's own port."""
        return {**env, self.service.port_variable: str(self.port)}


def scale_variable(service: Service) -> str:
    return f"SCALE_{service.name.upper()}"


def resolve_scale(environ: Mapping[str, str]) -> dict[str, int]:
    """Each service's process count: its `SCALE_<NAME>` variable (1-9), else 1."""
    scale: dict[str, int] = {}
    for service in SERVICES:
        variable = scale_variable(service)
        raw = environ.get(variable, "").strip()
        if raw and not (raw.isdigit() and 1 <= int(raw) <= MAX_REPLICAS):
            raise ConfigError(f"{variable}={raw!r}: give a number of processes, 1-{MAX_REPLICAS}")
        scale[service.name] = int(raw) if raw else 1
    return scale


def plan_replicas(environ: Mapping[str, str]) -> list[Replica]:
    """Every process `up` starts, in start order (all orders, then notifiers, storefronts)."""
    ports, scale = resolve_ports(environ), resolve_scale(environ)
    replicas = [
        Replica(service, number, ports[service.name] + PORT_STEP * (number - 1))
        for service in SERVICES
        for number in range(1, scale[service.name] + 1)
    ]
    taken: dict[int, str] = {}
    for replica in replicas:
        if replica.port > 65535:
            raise ConfigError(f"{replica.name} would listen on {replica.port}, past 65535")
        if replica.port in taken:
            raise ConfigError(
                f"{replica.name} and {taken[replica.port]} would share port {replica.port} "
                f"(replica k of a service listens on its port + {PORT_STEP} * (k - 1))"
            )
        taken[replica.port] = replica.name
    return replicas


def urls_by_service(replicas: Sequence[Replica]) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {service.name: [] for service in SERVICES}
    for replica in replicas:
        result[replica.service.name].append(replica.url)
    return result


def save_replicas(path: Path, replicas: Sequence[Replica]) -> None:
    """Record what `up` runs, so `status` finds every replica without the SCALE_* variables."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"service": r.service.name, "number": r.number, "port": r.port} for r in replicas]
    path.write_text(json.dumps(rows, indent=2) + "\n")


def load_replicas(path: Path) -> list[Replica] | None:
    """The replicas the last `up` recorded; None when there is no (readable) record."""
    services = {service.name: service for service in SERVICES}
    try:
        rows = json.loads(path.read_text())
        return [Replica(services[r["service"]], int(r["number"]), int(r["port"])) for r in rows]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def recorded_processes(pid_files: Sequence[Path]) -> list[tuple[str, Service]]:
    """(name, service) of each service process with a pid file, in stop order: storefronts,
    notifiers, then orders, each newest replica first."""
    stems = {path.stem for path in pid_files}
    found: list[tuple[str, Service]] = []
    for service in reversed(SERVICES):
        numbers = [1] if service.name in stems else []
        prefix = f"{service.name}-"
        numbers += [
            int(stem.removeprefix(prefix))
            for stem in stems
            if stem.startswith(prefix) and stem.removeprefix(prefix).isdigit()
        ]
        for number in sorted(numbers, reverse=True):
            found.append((service.name if number == 1 else f"{prefix}{number}", service))
    return found


def orders_database_url(env: Mapping[str, str]) -> str:
    """The database the orders processes use, as their settings pick it (see OrdersSettings)."""
    return (
        env.get("ORDERS_DATABASE_URL")
        or env.get("DATABASE_URL")
        or "sqlite+aiosqlite:///run/orders.db"
    )


def shared_sqlite_note(env: Mapping[str, str], replicas: Sequence[Replica]) -> str | None:
    """What `up` says when several orders processes share one SQLite file: correct (each
    write transaction takes the lock up front and waits its turn) but one writer at a time,
    so more replicas add no throughput there; PostgreSQL lets them write side by side."""
    count = sum(1 for r in replicas if r.service.name == "orders")
    url = orders_database_url(env)
    if count < 2 or not url.startswith("sqlite"):
        return None
    return (
        f"The {count} orders processes share the SQLite file {url.split(':///', 1)[-1]}: "
        "correct (BEGIN IMMEDIATE, busy_timeout), but they write one at a time.\n"
        "For replicas that write side by side, use PostgreSQL: "
        "ORDERS_DATABASE_URL=postgresql+asyncpg://user@host/db make up SCALE_ORDERS=3"
    )
