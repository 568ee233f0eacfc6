"""Whether the Redis ops reached holds livecart at all: a Redis or a prefix other than the
stack's shows no stream, and empty tables with exit code 0 would read as "all is well"."""

from redis.asyncio import Redis
from redis.exceptions import NoPermissionError

from services.ops.config import OpsConfig, OpsError, redact
from services.ops.keys import SCAN_COUNT, stream_keys

HOW_TO_POINT = (
    "point at the stack: run from the folder where `make up` ran (it records run/stack.json), "
    "or give --stack-dir <its run/ folder> (LIVECART_RUN_DIR), or --redis-url and --prefix "
    "(OPS_REDIS_URL, LIVECART_STREAM_PREFIX)"
)


async def require_livecart_streams(client: Redis, config: OpsConfig) -> None:
    """Return when Redis holds a livecart stream under the prefix (a configured one, or any
    `<prefix>:{…}` stream); else raise OpsError saying what was read and how to point ops at
    the right stack."""
    try:
        for _, key in stream_keys(config.streams):
            if await client.exists(key):
                return
        async for _ in client.scan_iter(
            match=f"{config.prefix}:{{*", count=SCAN_COUNT, _type="stream"
        ):
            return
    except NoPermissionError as exc:  # an ACL rendered for another prefix
        raise OpsError(
            f"the Redis at {_read(config)} does not let this user read livecart's streams "
            f"under that prefix ({exc}): it serves another prefix or stack; {HOW_TO_POINT}"
        ) from exc
    raise OpsError(f"no livecart stream at {_read(config)}; {HOW_TO_POINT}")


def _read(config: OpsConfig) -> str:
    """The Redis and prefix read, and where each setting came from."""
    redis_from, prefix_from = config.origin("redis_url"), config.origin("prefix")
    origins = (
        f"both from {redis_from}"
        if redis_from == prefix_from
        else f"Redis from {redis_from}, prefix from {prefix_from}"
    )
    return f"{redact(config.ops_url)} under prefix {config.prefix!r} ({origins})"
