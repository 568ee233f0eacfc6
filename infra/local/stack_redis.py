"""The Redis `make up` gives the services: the one at REDIS_URL, else a private redis-server
started with the ACL (one user per service)."""

from collections.abc import Mapping

from contracts import Streams
from infra.local.processes import is_running, note, port_in_use, read_pid, tail, write_pid
from infra.local.redis_server import RedisServer, free_port, redis_answers
from infra.local.stack_acl import (
    OPS_USER,
    RedisAccess,
    access_with_acl,
    check_acl_prefix,
    load_or_create_passwords,
    write_acl_file,
)
from infra.local.stack_config import (
    DEFAULT_REDIS_PORT,
    RunPaths,
    StackError,
    Started,
    requested_redis_url,
)

REDIS_MARKER = "redis-server"
REDIS_MISSING = """\
Redis was not found: nothing answers at {url} and there is no redis-server to start.
Install Redis 7+ and run `make up` again:
    Debian/Ubuntu:  apt-get install redis-server
    macOS:          brew install redis
or point REDIS_URL at a running Redis: REDIS_URL=redis://host:6379/0 make up"""


def ensure_redis(
    paths: RunPaths, environ: Mapping[str, str], started: Started, *, stream_prefix: str
) -> RedisAccess:
    """The Redis for the services: REDIS_URL if it answers (used as it is, ACL untouched),
    else a private redis-server: the one a previous `up` left running, or a new one with AOF
    and an ACL file (one user per service, see stack_acl.py) under run/redis/."""
    url = requested_redis_url(environ)
    if redis_answers(url):
        print(f"Redis answers at {url}; using it as it is (its ACL is left alone: "
              "every service connects with REDIS_URL)")  # fmt: skip
        return RedisAccess(url)
    pid = read_pid(paths.pid("redis"))
    if pid and is_running(pid, REDIS_MARKER) and paths.redis_url_file.exists():
        private = paths.redis_url_file.read_text().strip()
        access = _running_private(paths, private, stream_prefix)
        if access is not None:
            print(f"Using the private redis-server started earlier (pid {pid}) at {private}"
                  + (" with its ACL" if access.acl else " (started without an ACL)"))  # fmt: skip
            return access
    if RedisServer.binary() is None:
        raise StackError(REDIS_MISSING.format(url=url))
    port = DEFAULT_REDIS_PORT if not port_in_use(DEFAULT_REDIS_PORT) else free_port()
    passwords = load_or_create_passwords(paths.acl_passwords)
    acl_file = write_acl_file(paths.acl_file, Streams(stream_prefix), passwords)
    print(f"No Redis answers at {url}; starting a private redis-server (AOF, ACL with one "
          f"user per service) on port {port}")  # fmt: skip
    server = RedisServer(
        paths.redis_data, port=port, appendonly=True,
        extra_args=("--aclfile", str(acl_file.resolve())),
    )  # fmt: skip
    log = paths.log("redis")
    note(log, f"starting redis-server on port {port} with ACL file {acl_file}")
    try:
        server.start(log=log, probe_url=server.url_for(OPS_USER, passwords[OPS_USER]))
    except RuntimeError as error:
        raise StackError(f"{error}; last lines of {log}:\n{tail(log)}") from error
    assert server.process is not None
    write_pid(paths.pid("redis"), server.process.pid)
    started.append(("redis", REDIS_MARKER, server.process.pid))
    paths.redis_url_file.write_text(server.url + "\n")
    paths.acl_prefix_file.write_text(stream_prefix + "\n")
    return access_with_acl(server.url, passwords, paths)


def _running_private(paths: RunPaths, url: str, stream_prefix: str) -> RedisAccess | None:
    """Access to the private redis-server a previous `up` started, if it still answers."""
    if paths.acl_passwords.exists() and paths.acl_prefix_file.exists():
        check_acl_prefix(paths, stream_prefix)
        access = access_with_acl(url, load_or_create_passwords(paths.acl_passwords), paths)
        if access.ops_url and redis_answers(access.ops_url):
            return access
    if redis_answers(url):  # started by an older `up`, before the ACL
        return RedisAccess(url)
    return None
