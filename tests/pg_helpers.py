"""A real PostgreSQL for tests: one server per test session, one fresh database per test.

Where the server comes from, in order:
1. `AI_SKILLS_TEST_PG_URL` (`postgresql://user@host:port/dbname`, a role allowed to create
   databases): a server that already runs; tests only create and drop their databases there;
2. PostgreSQL's own programs (`initdb`, `pg_ctl`, `postgres`; Debian keeps them in
   /usr/lib/postgresql/<version>/bin, `AI_SKILLS_PG_BIN` names another folder): a scratch
   cluster in a temp folder, listening on a socket in that folder and on 127.0.0.1 at a free
   port, with fsync off, stopped when the session ends;
3. neither: the test fails in CI and is skipped elsewhere, with the reason.

Under pytest-xdist every worker process runs its own session, so each gets its own scratch
cluster: nothing to share, lock or port-race beyond a retry on a taken port. A server left
running by a killed pytest is stopped by a watchdog process that outlives it.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import IN_CI

URL_VAR = "AI_SKILLS_TEST_PG_URL"
BIN_VAR = "AI_SKILLS_PG_BIN"
PROGRAMS = ("initdb", "pg_ctl", "postgres")
# initdb and the server refuse to run as root; Debian's package creates this user.
SERVER_USER = "postgres"
SUPERUSER = "postgres"
# Crash safety buys nothing for a cluster deleted after the session.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
}
# Stops the server once the pytest process is gone (killed, timed out), then deletes it.
# $1 pytest pid, $2 postmaster pid, $3 the cluster's folder.
WATCHDOG = """
while kill -0 "$1" 2>/dev/null; do sleep 1; done
[ -f "$3/data/postmaster.pid" ] && kill -QUIT "$2" 2>/dev/null
n=0
while [ -f "$3/data/postmaster.pid" ] && [ "$n" -lt 20 ]; do sleep 0.5; n=$((n + 1)); done
rm -rf "$3"
"""


class PostgresUnavailable(Exception):
    """No server to test against, and why (the test is skipped, or fails in CI)."""


def find_pg_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, newest Debian version first."""
    candidates: list[Path] = []
    if os.environ.get(BIN_VAR):
        candidates.append(Path(os.environ[BIN_VAR]))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda p: _version_key(p.parent.name), reverse=True)
    for folder in candidates:
        if all(os.access(folder / name, os.X_OK) for name in PROGRAMS):
            return folder
    return None


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url(server_url: str, dbname: str) -> str:
    """`server_url` pointing at another database (user, host, port and options kept)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + dbname))


@dataclass
class ScratchCluster:
    """A throwaway cluster: `root/data` holds the data, `root` the socket and the log."""

    bin_dir: Path
    root: Path
    port: int = 0
    run_as: str | None = None
    watchdog: subprocess.Popen[bytes] | None = None
    started_ms: float = 0.0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """The superuser's URL over TCP (what a `.worker.toml` user would write)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @property
    def socket_url(self) -> str:
        """The superuser's URL over the unix socket in `root`."""
        return f"postgresql://{SUPERUSER}@/postgres?host={self.root}&port={self.port}"

    def postmaster_pid(self) -> int | None:
        """The server's pid while it runs (from postmaster.pid), else None."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
        except OSError:
            return None
        return int(first) if first.strip().isdigit() else None

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return subprocess.run(
            [*prefix, *argv], cwd=self.root, env=env, capture_output=True, text=True, timeout=120
        )

    def init(self) -> None:
        """initdb into `root/data`, as the server user when we are root."""
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(SERVER_USER)
            except KeyError as exc:
                raise PostgresUnavailable(
                    f"running as root and there is no {SERVER_USER!r} user to run initdb as "
                    "(Debian's postgresql package creates it)"
                ) from exc
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.run_as = SERVER_USER
        proc = self._run(str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-A", "trust",
                         "-U", SUPERUSER, "-E", "UTF8", "--no-locale", "--no-sync")  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"initdb failed ({proc.returncode}): {proc.stderr.strip()}")

    def start(self, *, attempts: int = 5, port: int | None = None) -> None:
        """Start the server on a free port (another one if a parallel run took it first),
        or on `port` (a restart: clients reconnect to the same address)."""
        begun = time.monotonic()
        for _ in range(1 if port else attempts):
            self.port = port or free_port()
            options = [f"-k {shlex.quote(str(self.root))}", f"-p {self.port}"]
            options += [f"-c {key}={value}" for key, value in SERVER_SETTINGS.items()]
            proc = self._run(str(self.bin_dir / "pg_ctl"), "start", "-w", "-t", "60",
                             "-D", str(self.data_dir), "-l", str(self.log_file),
                             "-o", " ".join(options))  # fmt: skip
            if proc.returncode == 0:
                self.started_ms = (time.monotonic() - begun) * 1000
                self._start_watchdog()
                return
            log = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
            if "could not bind" not in log and "already in use" not in log:
                raise RuntimeError(f"pg_ctl start failed: {proc.stderr.strip()}\n{log[-2000:]}")
        raise RuntimeError(f"pg_ctl start: no free port after {attempts} tries")

    def _start_watchdog(self) -> None:
        pid = self.postmaster_pid()
        self.watchdog = subprocess.Popen(
            ["sh", "-c", WATCHDOG, "pg-watchdog", str(os.getpid()), str(pid), str(self.root)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip

    def restart(self) -> None:
        """Stop the server (fast shutdown: every connection ends) and start it again on
        the same port, with a watchdog for the new server process."""
        pid = self.postmaster_pid()
        proc = self._run(str(self.bin_dir / "pg_ctl"), "stop", "-w", "-t", "30", "-m", "fast",
                         "-D", str(self.data_dir))  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {proc.stderr.strip()}")
        if pid is not None:
            _wait_gone(pid)
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait()
        self.start(port=self.port)

    def stop(self) -> None:
        """Stop the server (immediate shutdown), its watchdog, and delete the folder."""
        pid = self.postmaster_pid()
        if pid is not None:
            self._run(str(self.bin_dir / "pg_ctl"), "stop", "-w", "-t", "30", "-m", "immediate",
                      "-D", str(self.data_dir))  # fmt: skip
            _wait_gone(pid)
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    """Wait for a process that is not our child to exit; KILL it when it does not."""
    deadline = time.monotonic() + timeout
    while process_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_scratch_cluster() -> ScratchCluster:
    """initdb and start a cluster in a new temp folder; raises PostgresUnavailable."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        raise PostgresUnavailable(
            "PostgreSQL's initdb/pg_ctl/postgres are not installed (Debian: apt-get install "
            f"postgresql; or set {BIN_VAR} to their folder, or {URL_VAR} to a running server)"
        )
    # Not under pytest's basetemp: its 0700 parents would keep the server user out.
    cluster = ScratchCluster(bin_dir=bin_dir, root=Path(tempfile.mkdtemp(prefix="ai-skills-pg-")))
    try:
        cluster.init()
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@dataclass(frozen=True)
class ScratchDatabase:
    """One test's own database: `url` connects to it as a superuser."""

    name: str
    url: str


@dataclass
class PostgresServer:
    """A server tests may create databases on (a scratch cluster, or AI_SKILLS_TEST_PG_URL)."""

    url: str
    cluster: ScratchCluster | None = None
    _admin: Any = None

    def create_database(self) -> ScratchDatabase:
        """A new, empty database with a unique name."""
        from psycopg import sql

        name = f"test_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        admin = self.admin()
        # A file copy of the tiny template beats WAL-logging it (about 110 ms against 160).
        strategy = " STRATEGY = FILE_COPY" if admin.info.server_version >= 150000 else ""
        admin.execute(sql.SQL("CREATE DATABASE {}" + strategy).format(sql.Identifier(name)))
        return ScratchDatabase(name=name, url=database_url(self.url, name))

    def drop_database(self, name: str) -> None:
        """Drop a test's database, ending any connection the test left open."""
        from psycopg import sql

        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        self.admin().execute(statement.format(sql.Identifier(name)))

    def admin(self) -> Any:
        """The session's autocommit connection to the server's `url` database."""
        import psycopg

        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        return self._admin

    def close(self) -> None:
        """Close the admin connection (before the server stops)."""
        if self._admin is not None:
            self._admin.close()


def _unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason}; .ci/run must install it")
    pytest.skip(reason, allow_module_level=True)


def require_psycopg() -> Any:
    """The psycopg module; a test module without it is skipped (failed in CI)."""
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed (bin/setup-venv installs the test extra)")
    return psycopg


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL: AI_SKILLS_TEST_PG_URL, else a scratch cluster (per worker)."""
    require_psycopg()
    external = os.environ.get(URL_VAR, "")
    if external:
        if not external.startswith(("postgresql://", "postgres://")):
            pytest.fail(f"{URL_VAR} must be a postgresql:// URL")
        server = PostgresServer(url=external)
        try:
            yield server
        finally:
            server.close()
        return
    try:
        cluster = start_scratch_cluster()
    except PostgresUnavailable as exc:
        _unavailable(str(exc))
    server = PostgresServer(url=cluster.url, cluster=cluster)
    try:
        yield server
    finally:
        server.close()
        cluster.stop()


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[ScratchDatabase]:
    """A fresh, empty database for this test alone, dropped after it."""
    database = postgres_server.create_database()
    try:
        yield database
    finally:
        postgres_server.drop_database(database.name)


if __name__ == "__main__":  # a manual check: `python tests/pg_helpers.py`
    scratch = start_scratch_cluster()
    print(f"started in {scratch.started_ms:.0f} ms: {scratch.url}")
    scratch.stop()
    sys.exit(0)
