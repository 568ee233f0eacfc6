"""Which value each livecart-ops setting takes: a flag, else its environment variable, else
what `make up` recorded in run/ (services/ops/stack_record.py), else the built-in default.

The ACL passwords `make up` recorded belong to the Redis it recorded: they are used only
when ops look at that Redis, never sent to another one named by a flag or a variable.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from services.ops.config import OpsConfig, load_acl_passwords, url_for_user
from services.ops.stack_record import RecordedStack

FROM_RECORD = {
    "redis_url": "redis_url",
    "prefix": "stream_prefix",
    "checkout_partitions": "checkout_partitions",
    "redis_cluster": "redis_cluster",
    "orders_db": "orders_database_url",
    "orders_schema": "orders_database_schema",
    "storefront_db": "storefront_database_url",
    "storefront_schema": "storefront_database_schema",
}
"""OpsConfig's settings that run/stack.json may hold, and their names there."""
DEFAULT = "built-in default"


def resolve_config(
    *,
    given: Mapping[str, tuple[Any, str]],
    recorded: RecordedStack | None,
    record_origin: str,
    acl_passwords_file: tuple[Path, str] | None = None,
    acl_passwords_json: str | None = None,
) -> OpsConfig:
    """OpsConfig from `given` (setting → (value, where it came from: a flag or a variable)),
    then `recorded` (read from `record_origin`), then OpsConfig's defaults. The passwords
    come from `acl_passwords_file`, else `acl_passwords_json`, else the recorded file."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in FROM_RECORD:
        if name in given:
            values[name], origins[name] = given[name]
        elif recorded is not None and getattr(recorded, FROM_RECORD[name]) is not None:
            values[name], origins[name] = getattr(recorded, FROM_RECORD[name]), record_origin
        else:
            origins[name] = DEFAULT
    on_recorded_redis = recorded is not None and _same_redis(
        values.get("redis_url", OpsConfig.redis_url), recorded.redis_url
    )
    passwords: dict[str, str] = {}
    if acl_passwords_file is not None:
        passwords = load_acl_passwords(env_json=None, path=acl_passwords_file[0])
        origins["acl_passwords"] = acl_passwords_file[1]
    elif acl_passwords_json:
        passwords = load_acl_passwords(env_json=acl_passwords_json, path=None)
        origins["acl_passwords"] = "LIVECART_ACL_PASSWORDS"
    elif on_recorded_redis and recorded is not None and recorded.acl_passwords_file:
        passwords = load_acl_passwords(env_json=None, path=Path(recorded.acl_passwords_file))
        origins["acl_passwords"] = record_origin
    return OpsConfig(
        **values,
        acl_passwords=passwords,
        origins=origins,
        stack_without_acl=bool(on_recorded_redis and recorded and recorded.acl is False),
    )


def _same_redis(url: str, recorded: str | None) -> bool:
    """Whether `url` names the recorded Redis (whoever signs in)."""
    return recorded is not None and url_for_user(url, None, None) == url_for_user(
        recorded, None, None
    )
