"""The `store` setting: SQLite by default, a PostgreSQL URL from `.worker.toml` (never with a
password) or WORKER_STORE; hostile values refused; PostgreSQL refused until it exists."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai_skills.cli.worker import main
from ai_skills.worker.config import load_config
from ai_skills.worker.context import RepoContext
from ai_skills.worker.errors import ConfigError
from ai_skills.worker.store.setting import (
    MAX_LENGTH,
    StoreSetting,
    resolve_store,
    store_problem,
)

URL = "postgresql://ada@db.example:5432/work?sslmode=require"


def config_with(tmp_path: Path, store: str) -> Path:
    path = tmp_path / ".worker.toml"
    path.write_text(f"max_running = 2\nstore = {store}\n")
    return path


def test_no_setting_means_the_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / ".worker.toml"
    assert resolve_store(path, {}) == StoreSetting(url=None, origin=str(path))
    path.write_text("max_running = 2\n")
    assert not resolve_store(path, {}).is_postgresql
    assert load_config(path).store == "sqlite"


def test_a_url_in_the_file_is_read_by_both_readers(tmp_path: Path) -> None:
    path = config_with(tmp_path, f'"{URL}"')
    assert resolve_store(path, {}) == StoreSetting(url=URL, origin=str(path))
    assert load_config(path).store == URL


def test_the_environment_wins_over_the_file_and_may_carry_a_password(tmp_path: Path) -> None:
    path = config_with(tmp_path, f'"{URL}"')
    env_url = "postgres://ada:s3cret@127.0.0.1/work"
    assert resolve_store(path, {"WORKER_STORE": env_url}) == StoreSetting(
        url=env_url, origin="WORKER_STORE"
    )
    assert not resolve_store(path, {"WORKER_STORE": "sqlite"}).is_postgresql
    assert resolve_store(path, {"WORKER_STORE": ""}).url == URL  # empty means unset


@pytest.mark.parametrize(
    "url",
    ["postgresql://ada:s3cret@db.example/work", "postgresql://db.example/work?password=s3cret"],
)
def test_a_password_in_the_file_is_refused_naming_file_and_key(tmp_path: Path, url: str) -> None:
    path = config_with(tmp_path, f'"{url}"')
    for read in (lambda: resolve_store(path, {}), lambda: load_config(path)):
        with pytest.raises(ConfigError) as caught:
            read()
        message = str(caught.value)
        assert message.startswith(f"{path}: store: ")
        assert "password" in message and "~/.pgpass" in message
        assert "s3cret" not in message and "\n" not in message


@pytest.mark.parametrize(
    "value",
    [
        "-hdb.example",
        "--store=postgresql://h/db",
        "postgresql://-evil/db",
        "postgresql://-U@db.example/db",
        "postgresql://db.example/-db",
        "postgresql://db.example/db?sslmode=-x",
        "postgresql://db.example/db?options=-c%20log_statement%3Dall",
        "postgresql://db.example/db?passfile=/etc/shadow",
        "postgresql://db.example/db\nrm -rf /",
        "postgresql://db.example/d\x00b",
        "postgresql://db.example/%0Adb",
        "postgresql://db.example/db?application_name=%00",
        "postgresql://" + "h" * MAX_LENGTH + "/db",
        "postgresql://h1,h2/db",
        "postgresql://db.example:99999/db",
        "postgresql://db.example:0/db",
        "postgresql://db.example/db#top",
        "postgresql://db.example/db?sslmode",
        "postgresql://[::1/db",
        "mysql://db.example/db",
        "POSTGRESQL://db.example/db",
        "sqlite:///tmp/worker.db",
        "SQLite",
        "",
    ],
)
def test_hostile_or_unknown_values_are_refused(tmp_path: Path, value: str) -> None:
    problem = store_problem(value, password_allowed=True)
    assert problem is not None and "\n" not in problem
    with pytest.raises(ConfigError, match=r"^WORKER_STORE: "):
        resolve_store(tmp_path / ".worker.toml", {"WORKER_STORE": value or "x"})


@pytest.mark.parametrize("toml", ["1", "true", '["sqlite"]', '{ url = "postgresql://h/db" }'])
def test_a_store_that_is_not_a_string_is_refused(tmp_path: Path, toml: str) -> None:
    path = config_with(tmp_path, toml)
    for read in (lambda: resolve_store(path, {}), lambda: load_config(path)):
        with pytest.raises(ConfigError, match=f"^{path}: store: "):
            read()


@pytest.mark.parametrize(
    "value",
    [
        "sqlite",
        URL,
        "postgres://localhost/work",
        "postgresql:///work?host=/var/run/postgresql",
        "postgresql://[::1]:5432/work",
        "postgresql://ada@db.example/work?connect_timeout=5&application_name=worker",
    ],
)
def test_ordinary_values_are_accepted(value: str) -> None:
    assert store_problem(value, password_allowed=False) is None


@given(st.text(max_size=80).map(lambda tail: "postgresql://" + tail) | st.text(max_size=80))
def test_any_text_is_judged_without_crashing(value: str) -> None:
    problem = store_problem(value, password_allowed=False)
    if problem is None:
        assert value == "sqlite" or value.startswith("postgresql://")
        assert not any(ord(char) < 32 for char in value)
        parts = urlsplit(value)
        assert ":" not in parts.netloc.rpartition("@")[0]
        assert "password" not in dict(parse_qsl(parts.query))


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / ".worker.toml"
    path.write_text("store = [\n")
    with pytest.raises(ConfigError, match="cannot read"):
        resolve_store(path, {})


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


# Nothing listens on port 1: connecting fails at once, without a DNS lookup or a timeout.
UNREACHABLE = "postgresql://ada@127.0.0.1:1/work?connect_timeout=5"


@pytest.fixture
def postgresql_configured(worker_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose `.worker.toml` names a PostgreSQL server that does not answer."""
    monkeypatch.delenv("WORKER_STORE", raising=False)  # the PostgreSQL run sets it
    with open(worker_repo / ".worker.toml", "a") as handle:
        handle.write(f'store = "{UNREACHABLE}"\n')
    monkeypatch.chdir(worker_repo)
    return worker_repo


@pytest.mark.parametrize(
    "argv", [("status",), ("add", "t1", "--title", "x"), ("stats",), ("daemon", "start")]
)
def test_commands_say_so_when_the_postgresql_store_cannot_be_reached(
    postgresql_configured: Path, ctx: RepoContext, capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
) -> None:  # fmt: skip
    code, err = run(capsys, *argv)
    assert code == 6
    assert f"{postgresql_configured / '.worker.toml'}: store: cannot connect:" in err
    assert not ctx.db_path.exists()  # no silent SQLite store beside the configured one


def test_worker_store_in_the_environment_is_used_and_never_echoed(
    in_worker_repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKER_STORE", "postgresql://ada:s3cret@127.0.0.1:1/work")
    code, err = run(capsys, "status")
    assert code == 6 and "WORKER_STORE: cannot connect:" in err
    assert "s3cret" not in err
    monkeypatch.setenv("WORKER_STORE", "postgresql://h/db\x01")
    code, err = run(capsys, "status")
    assert code == 6 and "WORKER_STORE: contains a control character" in err
    monkeypatch.setenv("WORKER_STORE", "sqlite")
    assert run(capsys, "status")[0] == 0


@pytest.fixture
def in_worker_repo(worker_repo: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(worker_repo)
    return worker_repo
