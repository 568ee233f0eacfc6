"""The Redis `make up` gives the services: the one at REDIS_URL, else a private redis-server."""

from collections.abc import Mapping

from infra.local.processes import is_running, note, port_in_use, read_pid, tail, write_pid
from infra.local.redis_server import RedisServer, free_port, redis_answers
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


def ensure_redis(paths: RunPaths, environ: Mapping[str, str], started: Started) -> str:
    """The Redis URL for the services: REDIS_URL if it answers, else a private redis-server
    (the one a previous `up` left running, or a new one with AOF under run/redis/)."""
    url = requested_redis_url(environ)
    if redis_answers(url):
        print(f"Redis answers at {url}")
        return url
    pid = read_pid(paths.pid("redis"))
    if pid and is_running(pid, REDIS_MARKER) and paths.redis_url_file.exists():
        private = paths.redis_url_file.read_text().strip()
        if redis_answers(private):
            print(f"Using the private redis-server started earlier (pid {pid}) at {private}")
            return private
    if RedisServer.binary() is None:
        raise StackError(REDIS_MISSING.format(url=url))
    port = DEFAULT_REDIS_PORT if not port_in_use(DEFAULT_REDIS_PORT) else free_port()
    print(f"No Redis answers at {url}; starting a private redis-server (AOF) on port {port}")
    server = RedisServer(paths.redis_data, port=port, appendonly=True)
    log = paths.log("redis")
    note(log, f"starting redis-server on port {port}")
    try:
        server.start(log=log)
    except RuntimeError as error:
        raise StackError(f"{error}; last lines of {log}:\n{tail(log)}") from error
    assert server.process is not None
    write_pid(paths.pid("redis"), server.process.pid)
    started.append(("redis", REDIS_MARKER, server.process.pid))
    paths.redis_url_file.write_text(server.url + "\n")
    return server.url
