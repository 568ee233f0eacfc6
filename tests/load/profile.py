"""Where the CPU goes in a benchmark: `make profile ARGS="--parts order"`.

Runs `tests.load.bench` (with the given arguments) under py-spy, sampling the bench
process and every process it starts (the services, the load generator, the same-work
ceilings, which run inside the bench process), then prints per process where its CPU
samples fell: by library (self: the frame that was running; inclusive: any frame on the
stack) and the livecart functions with the most inclusive samples. Idle samples (a
process waiting on a socket) are not taken, so the shares are of CPU time.

Raw samples and the summary go to `run/profile/<stamp>.{txt,summary.txt}`; the raw file
is in flamegraph's collapsed format (`flamegraph.pl`, speedscope and others read it).
"""

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROCESS = re.compile(r'^process \d+:"(?P<command>.*)"$')
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):(?P<line>\d+)\)$")

# The first match names a frame's library, by the path of its file.
LIBRARIES: tuple[tuple[str, str], ...] = (
    ("sqlalchemy/", "sqlalchemy"),
    ("sqlmodel/", "sqlalchemy"),
    ("asyncpg/", "asyncpg"),
    ("pydantic", "pydantic"),
    ("faststream/", "faststream"),
    ("fast_depends/", "faststream"),
    ("redis/", "redis-py"),
    ("uvicorn/", "uvicorn"),
    ("starlette/", "starlette/fastapi"),
    ("fastapi/", "starlette/fastapi"),
    ("sse_starlette/", "starlette/fastapi"),
    ("h11/", "uvicorn"),
    ("httptools/", "uvicorn"),
    ("aiohttp/", "aiohttp (load)"),
    ("prometheus_client/", "prometheus"),
    ("opentelemetry/", "tracing"),
    ("limits/", "rate limits"),
    ("json/", "json"),
    ("concurrent/futures/", "worker threads"),
    ("uuid.py", "uuid"),
    ("asyncio/", "asyncio"),
    ("uvloop/", "asyncio"),
    ("services/", "livecart"),
    ("contracts/", "livecart"),
    ("tests/", "load/ceiling"),
    ("<frozen", "interpreter"),
)


def library_of(path: str) -> str:
    for marker, library in LIBRARIES:
        if marker in path:
            return library
    return "other"


BENCH = "bench (load + same-work ceilings)"


def main_module(frames: list[tuple[str, str]]) -> str:
    """The module a process runs (its stack's first `<module>` frame); empty for a
    thread's stack, which does not start there."""
    if not frames or frames[0][0] != "_run_module_as_main":
        return ""
    for function, path in frames[:3]:  # after runpy's _run_module_as_main and _run_code
        if function == "<module>" and path.endswith(".py") and not path.startswith("<"):
            module = path.removesuffix(".py").removesuffix("/__main__").replace("/", ".")
            return BENCH if module == "tests.load.bench" else module
    return ""


def process_name(command: str) -> str:
    """`python -m services.orders` → `services.orders`; the bench itself → `bench`;
    empty when py-spy could not read it."""
    parts = command.split()
    if not parts:
        return ""
    if "-m" in parts and parts.index("-m") + 1 < len(parts):
        module = parts[parts.index("-m") + 1]
        return BENCH if module == "tests.load.bench" else module
    return parts[0] if parts else "?"


STARTUP = "_find_and_load"
"""A sample with an import on its stack is start-up, not the measured work."""


@dataclass
class ProcessProfile:
    samples: int = 0
    startup: int = 0
    self_by_library: Counter[str] = field(default_factory=Counter)
    inclusive_by_library: Counter[str] = field(default_factory=Counter)
    inclusive_livecart: Counter[str] = field(default_factory=Counter)


def summarize(lines: Iterable[str]) -> dict[str, ProcessProfile]:
    """Collapsed stacks (`frame;frame;… count`) → per process, by library and function."""
    profiles: dict[str, ProcessProfile] = defaultdict(ProcessProfile)
    for raw in lines:
        stack, _, count_text = raw.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        owner, frames = "", []
        for frame in stack.split(";"):
            process = _PROCESS.match(frame)
            if process:
                owner = process_name(process["command"])  # the innermost process owns it
                continue
            match = _FRAME.match(frame)
            frames.append((match["function"], match["file"]) if match else (frame, frame))
        # The module a process runs names it best: py-spy can read a child's command line
        # between fork and exec, when it is still the bench's.
        owner = main_module(frames) or owner or BENCH
        if not frames:
            continue
        profile = profiles[owner]
        if any(function == STARTUP for function, _ in frames):
            profile.startup += count
            continue
        profile.samples += count
        profile.self_by_library[library_of(frames[-1][1])] += count
        for library in {library_of(path) for _, path in frames} - {"interpreter"}:
            profile.inclusive_by_library[library] += count
        ours = {
            f"{function} ({path})" for function, path in frames if library_of(path) == "livecart"
        }
        for name in ours:
            profile.inclusive_livecart[name] += count
    return dict(profiles)


def report(profiles: dict[str, ProcessProfile], *, top: int = 15) -> str:
    out: list[str] = []
    total = sum(p.samples for p in profiles.values()) or 1
    for name, profile in sorted(profiles.items(), key=lambda item: -item[1].samples):
        if not profile.samples:
            continue
        share = 100 * profile.samples / total
        out.append(
            f"\n== {name}: {profile.samples} CPU samples ({share:.0f} % of all; "
            f"{profile.startup} more while starting up, left out)"
        )
        out.append("  library              self   inclusive")
        for library, inclusive in profile.inclusive_by_library.most_common():
            own = profile.self_by_library[library]
            out.append(
                f"  {library:<20} {100 * own / profile.samples:4.0f} %"
                f"  {100 * inclusive / profile.samples:5.0f} %"
            )
        if profile.inclusive_livecart:
            out.append("  livecart functions (inclusive):")
            for function, count in profile.inclusive_livecart.most_common(top):
                out.append(f"  {100 * count / profile.samples:5.1f} %  {function}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=97, help="samples per second per process")
    parser.add_argument("--out", type=Path, default=ROOT / "run" / "profile")
    parser.add_argument("--summarize", type=Path, help="summarize an earlier raw file only")
    args, bench_args = parser.parse_known_args(argv)
    if args.summarize:
        print(report(summarize(args.summarize.read_text().splitlines())))
        return 0
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("py-spy not found: `make venv` installs it (dev extra)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / f"{time.strftime('%Y%m%d-%H%M%S')}.txt"
    command = [
        py_spy, "record", "--subprocesses", "--nonblocking", "--rate", str(args.rate),
        "--format", "raw", "--output", str(raw), "--",
        sys.executable, "-m", "tests.load.bench", *bench_args,
    ]  # fmt: skip
    print("profile:", " ".join(command[1:]), flush=True)
    finished = subprocess.run(command, cwd=ROOT, check=False)
    if not raw.exists():
        print(f"py-spy wrote no samples (exit {finished.returncode})", file=sys.stderr)
        return finished.returncode or 1
    summary = report(summarize(raw.read_text().splitlines()))
    raw.with_suffix(".summary.txt").write_text(summary + "\n")
    print(summary)
    print(f"\nraw samples: {raw}\nsummary: {raw.with_suffix('.summary.txt')}")
    return finished.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
