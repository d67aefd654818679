"""API keys: shown once, stored only as SHA-256 hashes (mode 0600), each with a role; and who may call what.

Covers specscan.scoring.apikeys, `specscan apikey create | list | revoke`, and http.authorize.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from starlette.requests import Request
from typer.testing import CliRunner

from specscan.cli.main import app
from specscan.errors import SpecscanError
from specscan.scoring.apikeys import CHECK_INTERVAL, ApiKeyStore, Caller, KeysUnreadable
from specscan.scoring.http import ApiError, authorize

runner = CliRunner()


@pytest.fixture()
def store(tmp_path: Path) -> ApiKeyStore:
    return ApiKeyStore(tmp_path / "keys" / "api-keys.json")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_new_key_is_returned_once_and_only_its_sha256_is_written(store: ApiKeyStore) -> None:
    key, record = store.create("scorer", note="ci pipeline")

    content = store.path.read_text()
    assert key.startswith(f"ssk_{record.id}_")
    assert key not in content
    assert key.split("_", 2)[2] not in content  # not even the secret part
    assert json.loads(content) == [{"id": record.id, "role": "scorer", "note": "ci pipeline",
                                    "created": record.created,
                                    "sha256": hashlib.sha256(key.encode()).hexdigest()}]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_each_new_key_is_different(store: ApiKeyStore) -> None:
    (first, a), (second, b) = store.create("scorer"), store.create("scorer")

    assert first != second and a.id != b.id
    assert [r.id for r in store.records()] == [a.id, b.id]


def test_verify_names_the_caller_of_the_right_key(store: ApiKeyStore) -> None:
    key, record = store.create("admin")

    assert store.verify(key) == Caller(key_id=record.id, role="admin")


@pytest.mark.parametrize("mangle", [
    pytest.param(lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"), id="last-character-changed"),
    pytest.param(lambda k: k + "x", id="extra-character"),
    pytest.param(lambda k: k[:-10], id="truncated"),
    pytest.param(lambda k: "xyz" + k[3:], id="wrong-prefix"),
    pytest.param(lambda k: k.rsplit("_", 1)[0], id="no-secret"),
    pytest.param(lambda k: "", id="empty"),
    pytest.param(lambda k: "ssk_deadbeef_" + k.split("_", 2)[2], id="unknown-id"),
    pytest.param(lambda k: k + "\ud800", id="lone-surrogate"),
])
def test_verify_rejects_a_wrong_or_malformed_key(store: ApiKeyStore, mangle) -> None:  # type: ignore[no-untyped-def]
    key, _ = store.create("scorer")

    assert store.verify(mangle(key)) is None
    assert store.verify(key) is not None  # the store itself is fine


def test_a_revoked_key_is_rejected_and_others_still_work(store: ApiKeyStore) -> None:
    revoked, record = store.create("scorer")
    kept, _ = store.create("scorer")

    assert store.revoke(record.id) == record
    assert store.verify(revoked) is None
    assert store.verify(kept) is not None
    assert record.id not in store.path.read_text()


def test_revoking_an_unknown_id_names_it(store: ApiKeyStore) -> None:
    store.create("scorer")

    with pytest.raises(SpecscanError, match="no API key with id 'nope'"):
        store.revoke("nope")


def test_admin_may_act_as_scorer_but_a_scorer_may_not_act_as_admin() -> None:
    admin, scorer = Caller(key_id="a", role="admin"), Caller(key_id="s", role="scorer")

    assert admin.may("admin") and admin.may("scorer")
    assert scorer.may("scorer") and not scorer.may("admin")


def test_a_second_store_sees_keys_created_and_revoked_by_the_first_after_refresh(store: ApiKeyStore) -> None:
    other = ApiKeyStore(store.path)
    key, record = store.create("scorer")

    other.refresh()
    assert other.verify(key) == Caller(key_id=record.id, role="scorer")

    store.revoke(record.id)
    other.refresh()
    assert other.verify(key) is None


def test_creating_a_key_keeps_keys_another_store_created_meanwhile(store: ApiKeyStore) -> None:
    stale = ApiKeyStore(store.path)  # e.g. a second `specscan apikey create` running at the same time
    first, _ = store.create("scorer")
    second, _ = stale.create("admin")

    fresh = ApiKeyStore(store.path)
    assert fresh.verify(second) == Caller(key_id=second.split("_")[1], role="admin")
    assert fresh.verify(first) == Caller(key_id=first.split("_")[1], role="scorer")


def test_a_missing_file_means_no_keys(tmp_path: Path) -> None:
    store = ApiKeyStore(tmp_path / "absent.json")

    assert store.records() == []
    assert store.verify("ssk_00000000_secret") is None
    assert not (tmp_path / "absent.json").exists()


@pytest.mark.parametrize("content", [b"{not json", b'[{"id": "x"}]', b'[{"id": "x", "role": "root", "sha256": "0", '
                                     b'"created": "2026-01-01T00:00:00+00:00"}]', b"", b"\xff\xfe"])
def test_a_corrupt_key_file_is_an_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "api-keys.json"
    path.write_bytes(content)

    with pytest.raises(SpecscanError, match="cannot read API keys from") as caught:
        ApiKeyStore(path)

    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_key_file_that_cannot_even_be_looked_at_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    path = tmp_path / "a-file" / "api-keys.json"  # stat fails with NotADirectoryError, not FileNotFoundError

    with pytest.raises(KeysUnreadable, match=f"cannot read API keys from {path}"):
        ApiKeyStore(path)


def test_a_file_corrupted_after_start_is_reported_on_refresh(store: ApiKeyStore) -> None:
    store.create("scorer")
    store.path.write_text("[")

    with pytest.raises(SpecscanError, match=str(store.path)):
        store.refresh()


def test_verify_sees_a_key_revoked_elsewhere_within_the_check_interval_without_a_refresh(store: ApiKeyStore) -> None:
    key, record = store.create("scorer")
    clock = Clock()
    serving = ApiKeyStore(store.path, clock=clock)  # a running service's store: nobody calls refresh() on it
    assert serving.verify(key) is not None

    store.revoke(record.id)  # e.g. `specscan apikey revoke` in another process
    clock.now += CHECK_INTERVAL

    assert serving.verify(key) is None
    assert CHECK_INTERVAL <= 0.5


def test_verify_looks_at_the_key_file_at_most_once_per_check_interval(store: ApiKeyStore) -> None:
    key, record = store.create("scorer")
    clock = Clock()
    serving = ApiKeyStore(store.path, clock=clock)
    store.revoke(record.id)

    clock.now += CHECK_INTERVAL * 0.9
    assert serving.verify(key) is not None  # not looked at yet: a request costs no file system call

    clock.now += CHECK_INTERVAL * 0.1
    assert serving.verify(key) is None


def test_a_key_file_replaced_by_another_of_the_same_size_and_time_is_still_noticed(store: ApiKeyStore) -> None:
    key, record = store.create("scorer")
    clock = Clock()
    serving = ApiKeyStore(store.path, clock=clock)
    before = store.path.stat()
    other = store.path.with_name("other.json")
    other.write_text(store.path.read_text().replace(record.sha256, "0" * 64))
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime: only the inode differs
    os.replace(other, store.path)

    clock.now += CHECK_INTERVAL
    assert serving.verify(key) is None


def test_a_key_file_that_becomes_unreadable_refuses_every_key_until_it_is_repaired(store: ApiKeyStore) -> None:
    key, _ = store.create("admin")
    clock = Clock()
    serving = ApiKeyStore(store.path, clock=clock)
    good = store.path.read_bytes()

    store.path.write_text("[{\"id\": ")  # e.g. a hand edit gone wrong
    clock.now += CHECK_INTERVAL
    with pytest.raises(KeysUnreadable, match=f"cannot read API keys from {store.path}"):
        serving.verify(key)
    clock.now += CHECK_INTERVAL
    with pytest.raises(KeysUnreadable):  # and stays so, however often it is asked
        serving.verify(key)

    store.path.write_bytes(good)
    clock.now += CHECK_INTERVAL
    assert serving.verify(key) == Caller(key_id=key.split("_")[1], role="admin")


def test_a_deleted_key_file_refuses_every_key(store: ApiKeyStore) -> None:
    key, _ = store.create("scorer")
    clock = Clock()
    serving = ApiKeyStore(store.path, clock=clock)

    store.path.unlink()
    clock.now += CHECK_INTERVAL

    assert serving.verify(key) is None


# --- the CLI -------------------------------------------------------------------------------------------------


def _cli(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["apikey", *args], env={"SPECSCAN_HOME": str(home)})


def test_cli_create_prints_the_key_alone_on_stdout_and_stores_its_hash(tmp_path: Path) -> None:
    result = _cli(tmp_path, "create", "--role", "scorer", "--note", "batch job")

    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("ssk_") and "\n" not in key
    store = ApiKeyStore(tmp_path / "api-keys.json")
    caller = store.verify(key)
    assert caller is not None and caller.role == "scorer"
    assert "not shown again" in result.stderr
    assert key not in store.path.read_text()


def test_cli_create_with_an_unknown_role_exits_1_naming_the_roles(tmp_path: Path) -> None:
    result = _cli(tmp_path, "create", "--role", "root")

    assert result.exit_code == 1
    assert "unknown role 'root'; roles are scorer, admin" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "api-keys.json").exists()


def test_cli_list_shows_ids_and_roles_but_never_the_keys(tmp_path: Path) -> None:
    scorer_key = _cli(tmp_path, "create", "--role", "scorer").stdout.strip()
    admin_key = _cli(tmp_path, "create", "--role", "admin", "--note", "ops").stdout.strip()

    result = _cli(tmp_path, "list")

    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [[scorer_key.split("_")[1], "scorer"],
                                                     [admin_key.split("_")[1], "admin"]]
    assert lines[1].endswith("ops")
    assert scorer_key not in result.output and admin_key not in result.output
    assert scorer_key.split("_", 2)[2] not in result.output


def test_cli_revoke_deletes_the_key(tmp_path: Path) -> None:
    key = _cli(tmp_path, "create", "--role", "scorer").stdout.strip()
    key_id = key.split("_")[1]

    result = _cli(tmp_path, "revoke", key_id)

    assert result.exit_code == 0, result.output
    assert f"revoked key {key_id} (scorer)" in result.stdout
    assert ApiKeyStore(tmp_path / "api-keys.json").verify(key) is None
    assert _cli(tmp_path, "list").stdout.strip() == ""


def test_cli_revoke_of_an_unknown_id_exits_1(tmp_path: Path) -> None:
    result = _cli(tmp_path, "revoke", "deadbeef")

    assert result.exit_code == 1
    assert "no API key with id 'deadbeef'" in result.output


# --- authorize: the Authorization header against the store ------------------------------------------------


def _request(authorization: str | None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode("latin-1"))]
    return Request({"type": "http", "method": "POST", "path": "/score", "headers": headers, "state": {}})


def test_authorize_returns_the_caller_and_records_its_key_id(store: ApiKeyStore) -> None:
    key, record = store.create("scorer")
    request = _request(f"Bearer {key}")

    assert authorize(request, store, "scorer") == Caller(key_id=record.id, role="scorer")
    assert request.scope["state"]["caller"] == record.id


def test_authorize_accepts_the_scheme_in_any_case(store: ApiKeyStore) -> None:
    key, _ = store.create("admin")

    assert authorize(_request(f"bearer {key}"), store, "admin").role == "admin"


@pytest.mark.parametrize(("header", "message"), [
    (None, "missing API key"),
    ("", "missing API key"),
    ("Basic dXNlcjpwdw==", "malformed Authorization header"),
    ("Bearer ", "malformed Authorization header"),
    ("Bearer ssk_00000000_wrong", "invalid API key"),
])
def test_authorize_answers_401_with_a_challenge(store: ApiKeyStore, header: str | None, message: str) -> None:
    store.create("scorer")

    with pytest.raises(ApiError) as caught:
        authorize(_request(header), store, "scorer")

    assert caught.value.status == 401
    assert message in caught.value.message
    assert caught.value.headers == {"WWW-Authenticate": "Bearer"}


def test_authorize_answers_503_without_the_file_name_while_the_key_file_is_unreadable(store: ApiKeyStore) -> None:
    key, _ = store.create("scorer")
    clock = Clock()
    serving = ApiKeyStore(store.path, clock=clock)
    store.path.write_text("not json")
    clock.now += CHECK_INTERVAL

    with pytest.raises(ApiError) as caught:
        authorize(_request(f"Bearer {key}"), serving, "scorer")

    assert caught.value.status == 503
    assert caught.value.message == "the service cannot read its API keys, so it accepts none; retry later"
    assert str(store.path) not in caught.value.message


def test_authorize_answers_403_when_the_role_is_not_enough(store: ApiKeyStore) -> None:
    key, _ = store.create("scorer")
    request = _request(f"Bearer {key}")

    with pytest.raises(ApiError) as caught:
        authorize(request, store, "admin")

    assert caught.value.status == 403
    assert "role 'scorer'" in caught.value.message and "needs 'admin'" in caught.value.message
    assert "caller" not in request.scope["state"]
