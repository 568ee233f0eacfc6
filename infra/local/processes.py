"""Background processes for the local stack: pid files, liveness, stopping, HTTP probes."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

# Probes go straight to 127.0.0.1, never through an http_proxy from the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid > 0 else None


def write_pid(path: Path, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{pid}\n")


def is_running(pid: int, marker: str) -> bool:
    """True when `pid` is alive and, where /proc can tell, still runs a command containing
    `marker`, so a pid reused by another program after a reboot is not taken for ours."""
    if pid <= 0:  # 0 and negatives address process groups, never one process
        return False
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that exited: reap it
            return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True
    try:
        return marker.encode() in cmdline.read_bytes()
    except OSError:
        return False


def stop(pid: int, *, marker: str, timeout: float = 15.0) -> bool:
    """SIGTERM the process group `pid` leads, SIGKILL it if still alive after `timeout`.
    Returns True when it had to be killed."""
    _signal_group(pid, signal.SIGTERM)
    if _wait_gone(pid, marker, timeout):
        return False
    _signal_group(pid, signal.SIGKILL)
    _wait_gone(pid, marker, 5.0)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def _wait_gone(pid: int, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(pid, marker):
            return True
        time.sleep(0.1)
    return not is_running(pid, marker)


def start_background(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path
) -> "subprocess.Popen[bytes]":
    """Start `command` in its own session (it outlives the caller), output appended to `log`."""
    note(log, f"starting: {' '.join(command)}")
    with log.open("ab") as out:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def note(log: Path, text: str) -> None:
    """A marker line in a log, so one run's output can be told from the previous one's."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"--- {datetime.now().isoformat(timespec='seconds')} stack: {text}\n")


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of `path` written since the latest `note`, indented."""
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"    ({path} cannot be read)"
    notes = [i for i, line in enumerate(text) if line.startswith("--- ") and " stack: " in line]
    recent = text[notes[-1] :] if notes else text
    return "\n".join(f"    {line}" for line in recent[-lines:])


def http_status(url: str, timeout: float = 1.0) -> int | None:
    """The HTTP status `url` answers with, or None when nothing answers."""
    try:
        with _DIRECT.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
