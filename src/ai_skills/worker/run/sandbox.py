"""The agent's sandbox (bubblewrap): what a task's agent can see and write, as bwrap argv.

An agent under `bwrap` sees the whole disk read-only, except:

- its workspace (its own clone, workspace.py), writable;
- a private, empty /tmp and /var/tmp; /run/user and the docker and D-Bus sockets hidden
  (a socket stays connectable on a read-only mount: the user's tmux or docker socket
  would be a way out);
- the main checkout replaced by the attempt's *trap* folder (attribution.py): a write
  there lands in the trap, where the supervisor finds it after the agent exits and makes
  it a finding of this task only; the main repository's objects (the clone borrows them
  through `objects/info/alternates`) and git-installed skills are shown read-only on top;
- the folder holding the other tasks' workspaces replaced by a trap as well;
- the state folders its program writes (RUNTIME_STATE, found with the real CLIs), each
  replaced by a private copy per task, so nothing an agent writes there (Claude Code's
  hooks, an MCP server in `~/.claude.json`) reaches the user's own sessions;
- the attempt's run folder (prompt and report socket) read-only at `/tmp/.worker-attempt`.

The network is the host's (the agent must reach its model endpoint); the process tree has
its own pid namespace, so everything the agent starts, also with `setsid`, ends with it.
No `--new-session`: the agent has no controlling terminal (the supervisor runs it in a new
session with stdin and stdout on files), so there is no terminal to inject keys into, and
staying in one process group keeps `cancel`'s TERM-then-KILL working (agent_processes.py).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BWRAP = "bwrap"
MODES = ("bwrap", "none")
# Where the attempt's run folder appears inside the sandbox (inside its private /tmp).
ATTEMPT_DIR = "/tmp/.worker-attempt"
HIDDEN = ("/tmp", "/var/tmp", "/run/user", "/run/dbus", "/run/docker.sock", "/var/run/docker.sock")


@dataclass(frozen=True)
class StatePath:
    """A file or folder an agent program writes outside its workspace.

    `path` may name alternatives (`$CODEX_HOME|~/.codex`: the first that is set). A new
    private copy starts as a copy of the user's own (minus `skip`: sessions and caches), or
    as `seed` for a file that does not exist. `readonly`: entries shown from the user's
    own folder, read-only (Claude Code's local install lives in `~/.claude/local`).
    """

    path: str
    kind: str = "dir"
    seed: str = ""
    skip: tuple[str, ...] = ()
    readonly: tuple[str, ...] = ()


# Observed with Claude Code 2.1.197, Codex 0.171.0 and OpenCode 1.18.33 (tests/agents/):
# with anything less each of them fails (EROFS) or, for Claude Code, reports its config as
# "corrupted" (an empty `.claude.json`).
RUNTIME_STATE: Mapping[str, tuple[StatePath, ...]] = {
    "claude": (
        StatePath(
            "$CLAUDE_CONFIG_DIR|~/.claude",
            skip=("projects", "todos", "shell-snapshots", "statsig", "debug", "backups",
                  "file-history", "logs", "local"),
            readonly=("local",),
        ),
        StatePath("~/.claude.json", kind="file", seed="{}"),
    ),
    "codex": (
        StatePath("$CODEX_HOME|~/.codex", skip=("sessions", "archived_sessions", "log", ".tmp")),
    ),
    "opencode": (
        StatePath("$XDG_CONFIG_HOME/opencode|~/.config/opencode", skip=("node_modules",)),
        StatePath("$XDG_DATA_HOME/opencode|~/.local/share/opencode", skip=("*",)),
        StatePath("$XDG_STATE_HOME/opencode|~/.local/state/opencode", skip=("*",)),
        StatePath("$XDG_CACHE_HOME/opencode|~/.cache/opencode", skip=("*",)),
    ),
}


def runtime_of(command: Sequence[str]) -> str | None:
    """The known agent program a command runs (`claude`, `codex`, `opencode`), or None."""
    if not command:
        return None
    name = Path(command[0]).name
    return name if name in RUNTIME_STATE else None


def expand(path: str, env: Mapping[str, str]) -> Path | None:
    """The first alternative of `path` whose variables are all set, made absolute."""
    home = env.get("HOME", "")
    for choice in path.split("|"):
        text = choice.replace("~", home, 1) if choice.startswith("~") else choice
        if "$" in text:
            name, _, rest = text[1:].partition("/")
            if not env.get(name):
                continue
            text = env[name] + ("/" + rest if rest else "")
        if text and Path(text).is_absolute():
            return Path(text)
    return None


def existing_paths(paths: Sequence[str], env: Mapping[str, str]) -> list[Path]:
    """Configured folders (`~`, `$VAR` allowed) that exist, as absolute paths."""
    home = env.get("HOME", "")
    found = []
    for text in paths:
        text = text.replace("~", home, 1) if text.startswith("~") else text
        path = Path(os.path.expandvars(text))
        if path.is_absolute() and path.exists():
            found.append(path)
    return found


@functools.lru_cache(maxsize=1)
def available() -> str:
    """"" when bwrap runs here, else why not (run once per process: about 5 ms)."""
    found = shutil.which(BWRAP)
    if found is None:
        return "bwrap (Debian package `bubblewrap`) is not installed"
    probe = [found, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--unshare-pid", "--die-with-parent", "true"]
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap cannot run: {exc}"
    if proc.returncode != 0:
        return f"bwrap cannot create a sandbox here: {proc.stderr.strip()[-200:]}"
    return ""


def choose_mode(setting: str) -> tuple[str, str]:
    """The sandbox an attempt gets for the `sandbox` setting, and why it is not bwrap."""
    if setting == "none":
        return "none", 'sandbox = "none" in .worker.toml'
    why = available()
    return ("none", why) if why else ("bwrap", "")


@dataclass(frozen=True)
class Layout:
    """The paths one sandboxed run needs; every one absolute and resolved."""

    workspace: Path
    main: Path
    common_dir: Path
    run_dir: Path
    trap: Path
    state: list[tuple[Path, Path]] = field(default_factory=list)  # (private copy, real path)
    readonly: list[Path] = field(default_factory=list)  # shown again where a hidden path hid them
    state_readonly: list[Path] = field(default_factory=list)  # real entries in private copies
    shared: list[Path] = field(default_factory=list)  # bound writable as they are

    @property
    def workspaces_root(self) -> Path | None:
        """The folder of the other tasks' workspaces, when it can be trapped on its own."""
        root = self.workspace.parent
        main = self.main
        if root == main or root in main.parents or main in root.parents:
            return None
        return root


def _is_under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _hide(hidden: Sequence[str]) -> list[str]:
    args: list[str] = []
    for name in hidden:
        path = Path(name)
        if path.is_symlink() or not path.exists():
            continue
        args += ["--tmpfs", name] if path.is_dir() else ["--ro-bind", "/dev/null", name]
    return args


def trap_mounts(layout: Layout) -> list[tuple[Path, str]]:
    """Folders shown inside a trap (read-only), so the trap's skeleton is known beforehand."""
    shown: list[tuple[Path, str]] = [(layout.common_dir / "objects", "ro")]
    skills = layout.main / ".ai-skills"
    if skills.is_dir():
        shown.append((skills, "ro"))
    # Skill folders inside the checkout (AI_SKILLS_PATH=$PWD/skills): the clone links to them.
    shown += [(p, "ro") for p in layout.readonly if p.is_dir() and p != layout.main]
    unique = dict.fromkeys(p for p, _ in shown if _is_under(p, layout.main))
    return [(p, "ro") for p in unique]


def agent_argv(
    layout: Layout, command: Sequence[str], *, hidden: Sequence[str] = HIDDEN
) -> list[str]:
    """`bwrap ... -- COMMAND` for an agent (the order of the mounts matters: later wins)."""
    args = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *_hide(hidden)]
    hidden_paths = [Path(h) for h in hidden]
    for path in layout.readonly:
        if path.exists() and any(_is_under(path, h) for h in hidden_paths):
            args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(layout.trap / "checkout"), str(layout.main)]
    for path, _mode in trap_mounts(layout):
        args += ["--ro-bind", str(path), str(path)]
    root = layout.workspaces_root
    if root is not None:
        args += ["--bind", str(layout.trap / "workspaces"), str(root)]
    args += ["--bind", str(layout.workspace), str(layout.workspace)]
    for private, real in layout.state:
        args += ["--bind", str(private), str(real)]
    for path in layout.state_readonly:
        args += ["--ro-bind", str(path), str(path)]
    for path in layout.shared:
        args += ["--bind", str(path), str(path)]
    args += ["--ro-bind", str(layout.run_dir), ATTEMPT_DIR]
    args += ["--unshare-pid", "--die-with-parent", "--chdir", str(layout.workspace), "--"]
    return [*args, *command]


def tool_argv(
    workspace: Path,
    command: Sequence[str],
    *,
    readonly: Sequence[Path] = (),
    writable: bool = False,
    network: bool = False,
    shared: Sequence[Path] = (),
) -> list[str]:
    """`bwrap ... -- COMMAND` for worker's own commands in a workspace the agent wrote.

    Its git config, hooks, attributes and files are the agent's: git run there (status,
    commit, upload-pack) or a gate may execute what they name. In here that can write the
    workspace at most (`writable`), never the store or the main checkout.
    """
    args = [BWRAP, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *_hide(HIDDEN)]
    for path in readonly:
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--bind" if writable else "--ro-bind", str(workspace), str(workspace)]
    for path in shared:
        args += ["--bind", str(path), str(path)]
    args += ["--unshare-pid", "--die-with-parent", "--new-session"]
    if not network:
        args.append("--unshare-net")
    args += ["--chdir", str(workspace), "--"]
    return [*args, *command]


def state_paths(
    runtime: str | None, env: Mapping[str, str], extra: Sequence[str] = ()
) -> list[tuple[StatePath, Path]]:
    """The state paths of a runtime plus configured extras, resolved in the agent's `env`."""
    wanted = [*RUNTIME_STATE.get(runtime or "", ()), *(StatePath(p) for p in extra)]
    found: list[tuple[StatePath, Path]] = []
    for spec in wanted:
        real = expand(spec.path, env)
        if real is not None and all(real != r for _, r in found):
            found.append((spec, real))
    return found


def prepare_state(spec: StatePath, real: Path, private: Path) -> None:
    """Make the task's private copy of a state path (once), and its mount point on the disk.

    bwrap can mount only onto something that exists, so a missing real folder (or file) is
    created empty, as the agent program itself would create it on its first run.
    """
    if spec.kind == "file":
        if not real.exists():
            real.parent.mkdir(parents=True, exist_ok=True)
            real.write_text(spec.seed, encoding="utf-8")
        if not private.exists():
            private.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real, private) if real.is_file() else private.write_text(spec.seed)
        return
    real.mkdir(parents=True, exist_ok=True)
    if private.exists():
        return
    private.parent.mkdir(parents=True, exist_ok=True)
    if "*" in spec.skip:
        private.mkdir()
    else:
        shutil.copytree(real, private, symlinks=True, ignore=lambda _d, _n: list(spec.skip))
    for name in spec.readonly:
        (private / name).mkdir(exist_ok=True)


def readonly_inside(state: Sequence[tuple[StatePath, Path]]) -> list[Path]:
    """Real entries to show read-only inside private state folders (`StatePath.readonly`)."""
    return [real / name for spec, real in state for name in spec.readonly if (real / name).exists()]


def env_inside() -> dict[str, str]:
    """The variables that name places, as the agent sees them inside the sandbox."""
    return {
        "TMPDIR": "/tmp",
        "WORKER_PROMPT_FILE": f"{ATTEMPT_DIR}/prompt.md",
        "WORKER_REPORT_SOCKET": f"{ATTEMPT_DIR}/report.sock",
        "WORKER_SANDBOX": "bwrap",
    }
