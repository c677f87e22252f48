"""The typer-free entry for `worker report` and `worker status` answers exactly as typer does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from worker_helpers import git

from ai_skills.cli import worker as typer_cli
from ai_skills.cli import worker_entry
from ai_skills.worker.context import find_repo
from ai_skills.worker.errors import WorkerError
from ai_skills.worker.store import connect, open_store, transaction
from ai_skills.worker.tasks import NewTask, add_task

NOT_UTF8 = os.fsdecode(b"caf\xe9")

# (command line, parsed by the fast entry). Run in this order on one repository per entry,
# so the reports change the store the same way on both sides. (`--version` is answered by
# either entry before any parsing.)
COMMAND_LINES: list[tuple[list[str], bool]] = [
    (["status"], True),
    (["status", "--json"], True),
    (["status", "--json", "t1"], True),
    (["status", "t1", "--no-git"], True),
    (["status", "--all", "--json"], True),
    (["status", "nope"], True),
    (["status", ""], True),
    (["status", "t1", "q1"], False),
    (["status", "--bogus"], False),
    (["status", "--json=yes"], False),
    (["status", "--help"], False),
    (["report", "--status", "working", "--task", "t1"], True),
    (["report", "--status=needs-input", "--task=t1", "-m", "which base?"], True),
    (["report", "--status", "working", "--task", "t1", "--json", "-m", "é, 日本"], True),
    (["report", "--status", "finished", "--task", "t1"], True),
    (["report", "--status", "working", "--task", "t1", "--attempt", "1", "--attempt", "9"], True),
    (["report", "--status", "working", "--task", "t1", "--attempt", "1", "--json"], True),
    (["report", "--status", "done", "--task", "q1"], True),
    (["report", "--status", "done", "--task", "nope"], True),
    (["report", "--status", "working"], True),
    (["report", "--status", "blocked", "--task", "t1", "--idempotency-key", "k", "--json"], True),
    (["report", "--status", "blocked", "--task", "t1", "--idempotency-key", "k", "--json"], True),
    (["report", "--status", "working", "--task", "t1", "-m", NOT_UTF8], True),
    (["report", "--status", "working", "--task", "t1", "-m", "--json"], False),
    (["report", "--status", "working", "--task", "t1", "-m"], False),
    (["report", "--task", "t1"], False),
    (["report", "--status", "working", "--task", "t1", "--attempt", "x"], False),
    (["report", "--status", "working", "--task", "t1", "--attempt", "-1"], False),
    (["report", "--status", "working", "--task", "t1", "--json=1"], False),
    (["report", "--status", "working", "t1"], False),
    (["report", "-mhi", "--status", "working", "--task", "t1"], False),
    (["report", "--help"], False),
    (["report", "--status", "working", "--task", "t1", "--", "x"], False),
    (["--version"], False),
    ([], False),
    (["add", "x", "--title", "y"], False),
]


def repo_with_a_running_task(root: Path) -> Path:
    """A repository with task t1 running (attempt 1) and task q1 queued."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "commit", "-q", "--allow-empty", "-m", "initial")
    conn = open_store(find_repo(root))  # WORKER_STORE on the PostgreSQL pass
    for task_id in ("t1", "q1"):
        add_task(conn, NewTask(task_id=task_id, title=f"task {task_id}", base="main"))
    with transaction(conn):
        conn.execute(
            "INSERT INTO attempts (id, task_id, number, worktree, branch, command, log_file,"
            " started_at) VALUES (1, 't1', 1, '/nowhere', 'worker/t1', '[]', '/l', 0)"
        )
        conn.execute("UPDATE tasks SET state = 'running', current_attempt = 1 WHERE id = 't1'")
    conn.close()
    return root


def run_in(
    repo: Path, argv: list[str], main: object, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    here = Path.cwd()
    os.chdir(repo)
    try:
        code = main(list(argv))  # type: ignore[operator]
    finally:
        os.chdir(here)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.sqlite_only(
    reason="compares two repositories side by side; the PostgreSQL pass gives a test one database"
)
def test_fast_and_typer_entries_agree_on_every_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("WORKER_TASK_ID", "WORKER_ATTEMPT_ID", "WORKER_REPORT_SOCKET"):
        monkeypatch.delenv(variable, raising=False)
    fast_repo = repo_with_a_running_task(tmp_path / "fast")
    typer_repo = repo_with_a_running_task(tmp_path / "typer")
    for argv, fast in COMMAND_LINES:
        assert (worker_entry.fast_command(argv) is not None) == fast, argv
        ours = run_in(fast_repo, argv, worker_entry.main, capsys)
        theirs = run_in(typer_repo, argv, typer_cli.main, capsys)
        assert ours == theirs, argv
    states = [
        connect(find_repo(repo).db_path).execute(
            "SELECT kind, task_id, attempt_id, from_state, to_state, data FROM events ORDER BY seq"
        ).fetchall()
        for repo in (fast_repo, typer_repo)
    ]
    assert [tuple(row) for row in states[0]] == [tuple(row) for row in states[1]]
    kinds = [row[0] for row in states[0]]
    assert "stale_report" in kinds and "refused_report" not in kinds[:2]


def test_fast_entry_reads_the_attempt_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = repo_with_a_running_task(tmp_path / "repo")
    monkeypatch.setenv("WORKER_TASK_ID", "t1")
    monkeypatch.setenv("WORKER_ATTEMPT_ID", "1")
    code, out, _ = run_in(repo, ["report", "--status", "done", "--json"], worker_entry.main,
                          capsys)
    assert code == 0 and json.loads(out)["state"] == "in_review"
    code, _, err = run_in(repo, ["report", "--status", "working", "--task", "q1"],
                          worker_entry.main, capsys)
    assert code == 4 and "may report only on its own task" in err


SHOW_IMPORTS = """
import sys
from ai_skills.cli.worker_entry import main
code = main(sys.argv[1:])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"typer", "click", "pydantic", "rich"})
print(code, *heavy)
"""


@pytest.mark.parametrize(
    "argv",
    [["status", "--json"], ["status"], ["report", "--status", "working", "--task", "t1"]],
)
def test_fast_entry_imports_no_typer_pydantic_or_rich(tmp_path: Path, argv: list[str]) -> None:
    repo = repo_with_a_running_task(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("WORKER_") or k == "WORKER_STORE"}
    result = subprocess.run(
        [sys.executable, "-c", SHOW_IMPORTS, *argv], cwd=repo, env=env, capture_output=True,
        text=True,
    )
    assert result.stdout.splitlines()[-1] == "0", result.stderr


@pytest.mark.sqlite_only(reason="psycopg brings modules of its own")
@pytest.mark.parametrize("argv", [["status", "--json"], ["status", "--json", "--all"]])
def test_status_reads_the_store_without_dataclasses_toml_or_the_task_objects(
    tmp_path: Path, argv: list[str]
) -> None:
    repo = repo_with_a_running_task(tmp_path / "repo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKER_")}
    show = SHOW_IMPORTS.replace(
        '{"typer", "click", "pydantic", "rich"}',
        '{"dataclasses", "inspect", "tomllib", "tempfile", "uuid", "ai_skills.worker.tasks",'
        ' "ai_skills.worker.run.profiles"}',
    ).replace('m.split(".")[0] for m in sys.modules', "*sys.modules")
    assert show != SHOW_IMPORTS
    result = subprocess.run([sys.executable, "-c", show, *argv], cwd=repo, env=env,
                            capture_output=True, text=True)
    # Each costs `worker status` more than reading the store (benchmarks/worker_bench.py).
    assert result.stdout.splitlines()[-1] == "0", result.stderr


# What `worker status` may not import: each costs a supervisor's poll more than the work
# (benchmarks/worker_bench.py); `sqlite3` is the package around the `_sqlite3` it uses.
NOT_ON_THE_STATUS_PATH = [
    "typing", "pathlib", "re", "json", "enum", "subprocess", "contextlib", "dataclasses",
    "datetime", "sqlite3", "signal", "selectors", "importlib.util", "tomllib",
]
SHOW_STATUS_IMPORTS = f"""
import sys
from ai_skills.cli.worker_entry import main
code = main(sys.argv[1:])
print(code, *sorted(set(sys.modules) & {set(NOT_ON_THE_STATUS_PATH)!r}), file=sys.stderr)
"""


@pytest.mark.sqlite_only(reason="psycopg brings modules of its own")
@pytest.mark.parametrize(
    "argv",
    [["status", "--json"], ["status"], ["status", "--all", "--json"], ["status", "t1"],
     ["status", "t1", "--json"]],
)
def test_status_imports_nothing_it_can_do_without(tmp_path: Path, argv: list[str]) -> None:
    repo = repo_with_a_running_task(tmp_path / "repo")
    # t1's branch exists and is a commit ahead: status counts it (two more git runs).
    git(repo, "branch", "worker/t1")
    git(repo, "commit", "-q", "--allow-empty", "-m", "ahead", "--no-verify")
    base = git(repo, "rev-parse", "HEAD~1")
    git(repo, "update-ref", "refs/heads/worker/t1", "HEAD")
    db = connect(find_repo(repo).db_path)
    with transaction(db):
        db.execute("UPDATE attempts SET base_sha = ? WHERE id = 1", (base,))
    db.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKER_")}
    result = subprocess.run([sys.executable, "-c", SHOW_STATUS_IMPORTS, *argv], cwd=repo,
                            env=env, capture_output=True, text=True)
    assert result.stderr.splitlines()[-1] == "0", result.stderr
    assert "+1c/0f" in result.stdout or '"commits_ahead": 1,' in result.stdout


def test_a_base_read_from_the_store_never_becomes_an_option_to_git(tmp_path: Path) -> None:
    from ai_skills.worker.ops.status import task_statuses

    repo = repo_with_a_running_task(tmp_path / "repo")
    git(repo, "branch", "worker/t1")
    written = tmp_path / "written"
    ctx = find_repo(repo)
    db = open_store(ctx)
    for base in (f"--output={written}", git(repo, "rev-parse", "HEAD")):
        with transaction(db):
            db.execute("UPDATE attempts SET base_sha = ? WHERE id = 1", (base,))
        (row,) = task_statuses(ctx, db, "t1")
        assert not written.exists()
        counted = base[0] != "-"
        assert (row.commits_ahead, row.files_changed) == ((0, 0) if counted else (None, None))
    db.close()


def test_status_names_the_states_as_the_transition_table_does() -> None:
    from ai_skills.worker.ops import status
    from ai_skills.worker.states import TERMINAL, TaskState

    # Plain strings there: `enum` costs status more than its work.
    assert tuple(sorted(state.value for state in TERMINAL)) == status.FINAL_STATES
    assert (status.APPROVED, status.IN_REVIEW) == (TaskState.APPROVED, TaskState.IN_REVIEW)
    assert sorted(status.LIVE_STATES) == sorted(set(TaskState) - TERMINAL)


def test_the_repository_is_found_the_same_from_any_folder_and_worktree(tmp_path: Path) -> None:
    repo = repo_with_a_running_task(tmp_path / "repo")
    (repo / "sub" / "dir").mkdir(parents=True)
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "side"))
    (tmp_path / "link").symlink_to(repo / "sub")
    real = repo.resolve()
    for start in (repo, repo / "sub" / "dir", tmp_path / "side", tmp_path / "link",
                  str(tmp_path / "side")):
        ctx = find_repo(start)
        assert (ctx.repo_root, ctx.common_dir) == (real, real / ".git"), start
        assert ctx == find_repo(repo) and hash(ctx) == hash(find_repo(repo))
        assert ctx.worker_dir == real / ".git" / "worker" == Path(ctx.worker_folder)
        assert ctx.db_path == ctx.worker_dir / "worker.db" == Path(ctx.db_file)
        assert ctx.config_path == real / ".worker.toml" == Path(ctx.config_file)
    with pytest.raises(WorkerError, match="not inside a git repository"):
        find_repo(tmp_path)


SHOW_REPORT_IMPORTS = """
import sys
from ai_skills.cli.worker_entry import main
code = main(sys.argv[1:])
heavy = {"typer", "click", "pydantic", "rich", "json", "socket", "enum", "re", "typing",
         "pathlib", "dataclasses", "sqlite3"}
print(code, *sorted({m.split(".")[0] for m in sys.modules} & heavy))
"""


def run_report_through(
    server_path: Path, cwd: Path, *args: str, script: str = SHOW_REPORT_IMPORTS
) -> subprocess.CompletedProcess[str]:
    """`worker report ARGS` as a worker agent runs it: the socket in its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKER_")}
    env |= {"WORKER_TASK_ID": "t1", "WORKER_REPORT_SOCKET": str(server_path)}
    return subprocess.run([sys.executable, "-c", script, "report", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def test_a_report_through_the_supervisor_socket_imports_only_what_it_needs(
    tmp_path: Path,
) -> None:
    from ai_skills.worker.run.report_socket import ReportServer

    seen: list[dict[str, object]] = []

    def supervisor(request: dict[str, object]) -> dict[str, object]:
        seen.append(request)
        return {"result": {"task_id": "t1", "accepted": True, "state": "running"}}

    server = ReportServer(tmp_path / "run/report.sock", supervisor)
    try:
        result = run_report_through(server.path, tmp_path, "--status", "working", "-m", "hi")
    finally:
        server.close()
    # Not even json, socket or enum: each costs an agent most of a Python start-up.
    assert result.stdout.splitlines() == ["t1: running", "0"], result.stderr
    assert seen == [{"status": "working", "message": "hi", "key": None, "reply": "text"}]


@pytest.mark.sqlite_only(
    reason="compares two repositories side by side; the PostgreSQL pass gives a test one database"
)
@pytest.mark.parametrize(
    "args",
    [
        ["--status", "working", "-m", 'quote " backslash \\ tab \t bell \x07 é 日本 \U0001f600'],
        ["--status", "needs-input", "--json"],
        ["--status", "done", "--idempotency-key", "k"],
        ["--status", "done", "--idempotency-key", "k", "--json"],
        ["--status", "working"],  # refused: in review by now
        ["--status", "working", "--json"],
        ["--status", "finished"],
    ],
)
def test_a_report_through_the_socket_prints_what_the_store_path_prints(
    tmp_path: Path, args: list[str]
) -> None:
    from ai_skills.worker.errors import WorkerError
    from ai_skills.worker.run.report import report
    from ai_skills.worker.run.report_socket import ReportServer

    direct, channel = (repo_with_a_running_task(tmp_path / name) for name in ("d", "c"))

    def supervisor(request: dict[str, object]) -> dict[str, object]:
        conn = connect(find_repo(channel).db_path)
        try:  # as run/isolation.py's handler does
            key = request.get("key")
            result = report(conn, task_id="t1", attempt_id=1, status=str(request["status"]),
                            message=str(request["message"]), key=str(key) if key else None)
        except WorkerError as exc:
            return {"error": str(exc), "exit_code": exc.exit_code}
        finally:
            conn.close()
        return {"result": result.as_dict()}

    server = ReportServer(tmp_path / "run/report.sock", supervisor)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKER_")}
    try:
        for earlier in (["--status", "done", "--idempotency-key", "k"],) * ("k" in args):
            report_args = [*earlier, "--task", "t1", "--attempt", "1"]
            subprocess.run([sys.executable, "-m", "ai_skills.cli.worker_entry", "report",
                            *report_args], cwd=direct, env=env, check=True, capture_output=True)
            run_report_through(server.path, tmp_path, *earlier)
        through = run_report_through(server.path, tmp_path, *args)
        store = subprocess.run(
            [sys.executable, "-c", SHOW_REPORT_IMPORTS, "report", *args, "--task", "t1",
             "--attempt", "1"], cwd=direct, env=env, capture_output=True, text=True)
    finally:
        server.close()
    ours, theirs = through.stdout.splitlines(), store.stdout.splitlines()
    assert (ours[:-1], through.stderr) == (theirs[:-1], store.stderr)
    assert ours[-1].split()[0] == theirs[-1].split()[0]  # the exit code


def test_a_report_to_a_supervisor_that_answers_only_json_prints_the_same(tmp_path: Path) -> None:
    import json as json_module
    import socket
    import threading

    path = tmp_path / "report.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    requests: list[bytes] = []

    def older_supervisor() -> None:  # one JSON line back, whatever the request asks for
        conn, _ = listener.accept()
        with conn:
            requests.append(conn.recv(65536))
            reply = {"result": {"task_id": "t1", "accepted": False, "state": "in_review",
                                "note": "not now"}}
            conn.sendall(json_module.dumps(reply).encode() + b"\n")

    thread = threading.Thread(target=older_supervisor)
    thread.start()
    try:
        result = run_report_through(path, tmp_path, "--status", "working", "-m", "a\nb")
    finally:
        thread.join(timeout=30)
        listener.close()
    assert result.stdout.split()[0] == "4" and result.stderr == "worker: not now\n"
    assert json_module.loads(requests[0]) == {"status": "working", "message": "a\nb",
                                              "key": None, "reply": "text"}


@given(st.text())
@settings(max_examples=300)
def test_the_hand_written_request_is_the_json_the_supervisor_reads(text: str) -> None:
    import json as json_module

    from ai_skills.worker.run.report_client import report_request

    line = report_request(status=text, message=text, key=text, as_json=True)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json_module.loads(line) == {"status": text, "message": text, "key": text}


def test_a_text_answer_survives_the_wire() -> None:
    from ai_skills.worker.run.report_client import decode_output, encode_output

    output = (4, "é\n0 1\n", "worker: x\n")
    assert decode_output(encode_output(output)) == output
    with pytest.raises(ValueError):
        decode_output(b"0 99\nshort")


def test_the_console_script_starts_in_the_fast_entry() -> None:
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="worker")
    assert script.value == "ai_skills.cli.worker_entry:run"


RUN_SCRIPT = "import sys; from ai_skills.cli.worker_entry import run; sys.argv[0] = 'worker'; run()"


def console(repo: Path, *argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """`worker ARGV` as the console script runs it (`run`, which ends plain commands early),
    its output buffered as a user's is."""
    env = {k: v for k, v in os.environ.items()
           if (not k.startswith("WORKER_") or k == "WORKER_STORE") and k != "PYTHONUNBUFFERED"}
    return subprocess.run([sys.executable, "-c", RUN_SCRIPT, *argv], cwd=repo, env=env,
                          text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def test_the_console_script_ends_early_with_everything_written_and_committed(
    tmp_path: Path,
) -> None:
    # `run` skips the interpreter's teardown (os._exit): what it printed must be flushed,
    # what it wrote committed, and its exit codes those of `main`.
    repo = repo_with_a_running_task(tmp_path / "repo")
    for number in range(300):  # an output well over a pipe's buffer
        add_task(open_store(find_repo(repo)), NewTask(task_id=f"x{number}", title="é " * 40,
                                                      base="main"))
    listed = console(repo, "status", "--json", capture_output=True)
    assert listed.returncode == 0 and listed.stderr == ""
    assert len(json.loads(listed.stdout)) == 302 and len(listed.stdout) > 65536
    said = console(repo, "report", "--status", "working", "--task", "t1", "-m", "half way",
                   capture_output=True)
    assert (said.returncode, said.stderr) == (0, ""), said.stderr
    shown = console(repo, "status", "t1", "--json", capture_output=True)
    assert json.loads(shown.stdout)["id"] == "t1"  # a short output: all of it in the buffer
    store = open_store(find_repo(repo))
    reports = store.rows("SELECT data FROM events WHERE kind = 'report' AND task_id = 't1'")
    assert [json.loads(r["data"])["message"] for r in reports] == ["half way"]
    store.close()
    unknown = console(repo, "status", "nope", capture_output=True)
    assert unknown.returncode == 3 and "unknown task 'nope'" in unknown.stderr
    # A reader that went away: exit 1, quietly, as typer's commands do.
    reader = subprocess.Popen(["true"], stdin=subprocess.PIPE)
    reader.wait()
    assert reader.stdin is not None
    cut = console(repo, "status", "--json", "--all", stdout=reader.stdin, stderr=subprocess.PIPE)
    reader.stdin.close()
    assert (cut.returncode, cut.stderr) == (1, "")
