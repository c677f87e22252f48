"""Which store the worker uses: `store` in `.worker.toml`, or WORKER_STORE in the environment.

SQLite (in the repository's git folder) is the default; a PostgreSQL URL selects the
PostgreSQL store (issue 18, store/opening.py), whose password comes from the environment or
~/.pgpass and never from `.worker.toml`, a file that arrives in pull requests. Stdlib only:
every command that opens the store reads this, and `worker status` and `report` skip pydantic
to start fast.
"""

from __future__ import annotations

from ai_skills.util.values import Value
from ai_skills.worker.errors import ConfigError

# Every command opens the store, `worker status` too: a plain class, not a dataclass (whose
# import of `inspect` costs more than status's work) nor a NamedTuple (`typing`), and
# tomllib and urllib.parse imported where a file or a URL is read
# (benchmarks/worker_bench.py).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

ENV_VAR = "WORKER_STORE"
SQLITE = "sqlite"
SCHEMES = ("postgresql", "postgres")
MAX_LENGTH = 1024
# libpq URL parameters a store URL may carry. Not `password` (see above), not `options`
# (server command-line switches), not `passfile` or `service` (other files to read).
PARAMETERS = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "connect_timeout",
        "application_name",
        "target_session_attrs",
    }
)
PASSWORD_HINT = (
    "carries a password; give it in PGPASSWORD or ~/.pgpass, or the whole URL in "
    f"{ENV_VAR}, never in the file"
)


class StoreSetting(Value):
    """The store to open: SQLite (url None) or a PostgreSQL URL, and where that was said."""

    __slots__ = ("url", "origin")

    def __init__(self, url: str | None, origin: str) -> None:
        self.url = url
        self.origin = origin

    @property
    def is_postgresql(self) -> bool:
        """Whether this names a PostgreSQL server rather than the SQLite file."""
        return self.url is not None


def store_problem(value: object, *, password_allowed: bool) -> str | None:
    """Why `value` cannot be a `store` setting, or None; never repeats the value."""
    if not isinstance(value, str):
        return f'must be a string: "{SQLITE}" or a postgresql:// URL'
    if len(value) > MAX_LENGTH:
        return f"is longer than {MAX_LENGTH} characters"
    if _has_control(value):
        return "contains a control character (newline, tab, NUL, ...)"
    if value == SQLITE:
        return None
    scheme, sep, _ = value.partition("://")
    if not sep or scheme not in SCHEMES:
        return f'must be "{SQLITE}" or a postgresql:// (or postgres://) URL'
    return _url_problem(value, password_allowed=password_allowed)


def _has_control(text: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in text)


def _url_problem(url: str, *, password_allowed: bool) -> str | None:
    from urllib.parse import parse_qsl, unquote, urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port
        params = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.fragment or "," in parts.netloc:
        return "must name one server, without a #fragment"
    if port == 0:
        return "has port 0"
    userinfo = parts.netloc.rpartition("@")[0]
    has_password = ":" in userinfo or any(key == "password" for key, _ in params)
    if has_password and not password_allowed:
        return PASSWORD_HINT
    unknown = sorted({key for key, _ in params} - PARAMETERS - {"password"})
    if unknown:
        return f"has unsupported parameters: {', '.join(unknown)}"
    words = [unquote(userinfo), parts.hostname or "", unquote(parts.path.lstrip("/"))]
    words += [value for _, value in params]
    if any(_has_control(word) for word in words):
        return "contains a control character (newline, tab, NUL, ...) once decoded"
    if any(word.startswith("-") for word in words):
        return "has a user, host, database or parameter starting with '-'"
    return None


def resolve_store(config_path: str | Path, environ: Mapping[str, str]) -> StoreSetting:
    """The store setting: WORKER_STORE when set, else `store` in `.worker.toml`, else SQLite."""
    if environ.get(ENV_VAR):
        value = environ[ENV_VAR]
        problem = store_problem(value, password_allowed=True)
        if problem:
            raise ConfigError(path=ENV_VAR, detail=problem)
        return StoreSetting(url=None if value == SQLITE else value, origin=ENV_VAR)
    in_file = _store_in_file(config_path)
    if in_file is None or in_file == SQLITE:
        return StoreSetting(url=None, origin=str(config_path))
    problem = store_problem(in_file, password_allowed=False)
    if problem:
        raise ConfigError(path=str(config_path), detail=f"store: {problem}")
    return StoreSetting(url=str(in_file), origin=str(config_path))


def _store_in_file(path: str | Path) -> object:
    try:
        with open(path, encoding="utf-8") as handle:  # not Path.read_text: `worker status`
            text = handle.read()  # passes text paths, and pathlib costs it milliseconds
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path=str(path), detail=f"cannot read: {exc}") from exc
    import tomllib

    try:
        raw = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(path=str(path), detail=f"cannot read: {exc}") from exc
    return raw.get("store")

