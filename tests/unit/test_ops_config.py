"""livecart-ops settings: URLs per ACL user, passwords never shown, passwords loaded."""

import json
from pathlib import Path

import pytest

from services.ops.config import OpsConfig, OpsError, load_acl_passwords, redact, url_for_user


def test_a_user_url_replaces_the_credentials_and_quotes_the_password() -> None:
    assert url_for_user("redis://old:pw@10.0.0.5:6380/2", "ops", "p@ss/w:rd") == (
        "redis://ops:p%40ss%2Fw%3Ard@10.0.0.5:6380/2"
    )
    assert url_for_user("rediss://u:p@host/0", None, None) == "rediss://host/0"


def test_a_redacted_url_shows_the_user_but_never_the_password() -> None:
    assert redact("redis://ops:very-secret@127.0.0.1:6379/0") == "redis://ops:***@127.0.0.1:6379/0"
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_ops_sign_in_as_the_ops_user_when_the_url_names_no_user_and_a_password_is_known() -> None:
    plain = OpsConfig(redis_url="redis://h:1/0", acl_passwords={"ops": "pw"})
    named = OpsConfig(redis_url="redis://notifier:x@h:1/0", acl_passwords={"ops": "pw"})
    unknown = OpsConfig(redis_url="redis://h:1/0")

    assert plain.ops_url == "redis://ops:pw@h:1/0"
    assert named.ops_url == "redis://notifier:x@h:1/0"
    assert unknown.ops_url == "redis://h:1/0"


def test_passwords_come_from_the_file_before_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "passwords.json"
    path.write_text(json.dumps({"ops": "from-file"}))

    assert load_acl_passwords(env_json='{"ops": "from-env"}', path=path) == {"ops": "from-file"}
    assert load_acl_passwords(env_json='{"ops": "from-env"}', path=None) == {"ops": "from-env"}
    assert load_acl_passwords(env_json=None, path=None) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [("{oops", "is not JSON"), ('["ops"]', "must be a JSON object"), ('{"ops": 1}', "JSON object")],
)
def test_passwords_that_are_not_a_json_object_of_strings_are_refused(
    text: str, message: str
) -> None:
    with pytest.raises(OpsError, match=message):
        load_acl_passwords(env_json=text, path=None)
