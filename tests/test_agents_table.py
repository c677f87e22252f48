"""The agent table (src/ai_skills/agents.json): its shape, how it resolves, what checks it.

The facts are checked against `npx skills`' own table, read from the installed npm package;
the schema is checked by reading the file with Nix builtins alone, as the home-manager
module does; docs/agent-paths.md is checked to be what the table generates.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from ai_skills.cli.agents_render import as_markdown
from ai_skills.deploy.agents import (
    TABLE_FILE,
    AgentError,
    env_folder,
    global_skills_dir,
    parse_agent_list,
    repo_skills_dir,
    table,
)
from ai_skills.deploy.fastpath import ENV_INPUTS
from ai_skills.util.xdg import xdg_home
from tests.conftest import require_env_tool, require_tool

ROOT = Path(__file__).resolve().parent.parent
TABLE_PATH = ROOT / "src/ai_skills" / TABLE_FILE
NPX_READER = Path(__file__).with_name("npx_agent_table.mjs")
AGENT_KEYS = {"name", "aliases", "display_name", "project_dir", "project_override", "global_dir",
              "detect", "programs", "follows_symlinks", "source", "note"}
VAR = re.compile(r"[A-Z][A-Z0-9_]*")


def raw_table() -> dict:
    return json.loads(TABLE_PATH.read_text(encoding="utf-8"))


def _safe_relative(path: str) -> bool:
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and "" not in parts


def _check_location(where: str, loc: dict, *, subpath_may_be_empty: bool) -> None:
    assert set(loc) == {"env", "default", "subpath"}, where
    assert loc["env"] is None or VAR.fullmatch(loc["env"]), where
    default = loc["default"]
    assert default == "~" or (default.startswith("~/") and _safe_relative(default[2:])), where
    assert _safe_relative(loc["subpath"]) or (subpath_may_be_empty and loc["subpath"] == ""), where


def test_table_has_the_shape_the_nix_reader_relies_on() -> None:
    data = raw_table()
    assert data["version"] == 1
    names = [a["name"] for a in data["agents"]]
    every = names + [alias for a in data["agents"] for alias in a["aliases"]]
    assert len(every) == len(set(every)), "names and aliases must be unique across the table"
    assert set(data["defaults"]) <= set(names)
    for agent in data["agents"]:
        where = agent["name"]
        assert set(agent) == AGENT_KEYS, where
        assert all(re.fullmatch(r"[a-z0-9][a-z0-9.-]*", n) for n in [where, *agent["aliases"]])
        assert agent["project_dir"] is None or _safe_relative(agent["project_dir"]), where
        override = agent["project_override"]
        assert override is None or (VAR.fullmatch(override["env"])
                                    and _safe_relative(override["subpath"])), where
        if agent["global_dir"] is not None:
            _check_location(where, agent["global_dir"], subpath_may_be_empty=False)
        for loc in agent["detect"]:
            _check_location(where, loc, subpath_may_be_empty=True)
        assert agent["follows_symlinks"] in (True, False, None), where
        assert agent["source"].strip(), where
        assert agent["note"] is None or agent["note"].strip(), where


def test_names_and_aliases_resolve_to_table_names() -> None:
    assert parse_agent_list("claude-code,gemini copilot cursor") == [
        "claude", "gemini-cli", "github-copilot", "cursor"]
    assert len(table().agents) >= 80


def test_the_no_op_stamp_watches_every_variable_that_moves_a_repo_folder() -> None:
    # fastpath cannot read the table (it must stay cheap), so its list is kept by hand: a
    # variable missing there would let a no-op keep links in a folder the agent left.
    moving = {a.project_override.env for a in table().agents if a.project_override}
    assert moving and moving <= set(ENV_INPUTS)


def test_relative_xdg_values_are_ignored_as_the_spec_says() -> None:
    env = {"HOME": "/home/u", "XDG_CONFIG_HOME": "relative/config"}
    assert global_skills_dir("opencode", env) == Path("/home/u/.config/opencode/skills")
    assert global_skills_dir("goose", env) == Path("/home/u/.config/goose/skills")
    for var, default in (("XDG_STATE_HOME", ".local/state"), ("XDG_CACHE_HOME", ".cache"),
                         ("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config")):
        assert xdg_home({"HOME": "/home/u", var: "rel"}, var) == f"/home/u/{default}"
        assert xdg_home({"HOME": "/home/u", var: "/abs"}, var) == "/abs"


@pytest.mark.parametrize("var", ["CODEX_HOME", "CLAUDE_CONFIG_DIR", "GROK_HOME"])
def test_a_relative_agent_home_is_refused_in_one_line(var: str, tmp_path: Path) -> None:
    agent = {"CODEX_HOME": "codex", "CLAUDE_CONFIG_DIR": "claude", "GROK_HOME": "grok"}[var]
    with pytest.raises(AgentError) as caught:
        global_skills_dir(agent, {"HOME": "/home/u", var: ".agent-home"})
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{var}='.agent-home' is a relative path")
    assert f"export {var}=$PWD/.agent-home" in message


def test_absolute_homes_as_direnv_writes_them_keep_working(tmp_path: Path) -> None:
    env = {"HOME": "/home/u", "CODEX_HOME": f"{tmp_path}/.codex"}  # export CODEX_HOME=$PWD/.codex
    assert repo_skills_dir("codex", tmp_path, env) == tmp_path / ".codex/skills"
    assert global_skills_dir("codex", env) == tmp_path / ".codex/skills"
    assert global_skills_dir("claude", {"HOME": "/h", "CLAUDE_CONFIG_DIR": "~/cc"}) == Path(
        "/h/cc/skills")
    assert env_folder({"CODEX_HOME": ""}, "CODEX_HOME") is None
    # Gemini CLI's variable names its home: both of its user folders move below it.
    assert global_skills_dir("gemini-cli", {"HOME": "/h", "GEMINI_CLI_HOME": "/g"}) == Path(
        "/g/.gemini/skills")


def test_an_agent_without_a_user_folder_says_so() -> None:
    with pytest.raises(AgentError, match="has no user-wide skills folder"):
        global_skills_dir("eve", {"HOME": "/h"})


def test_docs_agent_paths_is_generated_from_the_table() -> None:
    expected = as_markdown(table())
    actual = (ROOT / "docs/agent-paths.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/agent-paths.md is out of step with src/ai_skills/agents.json; regenerate it "
        "with `ai-skills agents --markdown > docs/agent-paths.md`"
    )
    for agent in table().agents:
        assert f"`{agent.name}`" in actual


# ---- facts: npx skills' own table ---------------------------------------------------------

NPX_ENVS = {
    "defaults": {},
    "overrides": {"XDG_CONFIG_HOME": "/xdg", "CLAUDE_CONFIG_DIR": "/claude-dir",
                  "CODEX_HOME": "/codex-home", "VIBE_HOME": "/vibe", "HERMES_HOME": "/hermes",
                  "AUTOHAND_HOME": "/autohand", "GROK_HOME": "/grok", "SARVAM_HOME": "/sarvam",
                  "GEMINI_CLI_HOME": "/gemini-home"},
}


def npx_table(env_extra: dict[str, str], home: Path) -> dict:
    """npx skills' agents, resolved by its own code under HOME=home and `env_extra`."""
    node_bin = require_env_tool("AI_SKILLS_NODE22_BIN", "folder holding a Node 22 binary")
    cli = require_env_tool("AI_SKILLS_SKILLS_CLI", "path of the `skills` npm CLI")
    package = cli.resolve().parent.parent  # .bin/skills -> skills/bin/cli.mjs
    env = {"PATH": f"{node_bin}{os.pathsep}/usr/bin:/bin", "HOME": str(home), **env_extra}
    proc = subprocess.run([str(node_bin / "node"), str(NPX_READER), str(package)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.interop
@pytest.mark.parametrize("case", sorted(NPX_ENVS))
def test_every_npx_agent_is_ours_with_its_folders_or_a_note(case: str, tmp_path: Path) -> None:
    home = tmp_path / "home"  # empty: no agent's folders exist, as on a fresh machine
    env = {"HOME": str(home), **NPX_ENVS[case]}
    theirs = npx_table(NPX_ENVS[case], home)
    assert len(theirs["agents"]) >= 79, f"npx skills {theirs['version']} lists fewer agents"
    repo = tmp_path / "repo"
    differ = []
    for name, facts in theirs["agents"].items():
        ours = table().find(name)
        assert ours is not None, f"npx skills {theirs['version']} knows '{name}'; add it"
        their_global = facts["globalSkillsDir"]
        our_global = str(global_skills_dir(ours.name, env)) if ours.global_dir else None
        our_project = repo_skills_dir(ours.name, repo, env)
        same = (our_project == repo / facts["skillsDir"] and our_global == their_global)
        if not same:
            differ.append(name)
            assert ours.note, (
                f"'{name}': npx skills {theirs['version']} says {facts['skillsDir']} and "
                f"{their_global}; ours gives {our_project} and {our_global}, with no note why"
            )
    # The agents whose real CLIs were checked here are the ones allowed to differ today
    # (tests/agents/test_skill_visibility.py).
    assert set(differ) <= {"codex", "opencode", "gemini-cli"}, differ


# ---- the schema, read with Nix builtins only ----------------------------------------------

NIX_READER = r"""
table: env:
let
  home = env.HOME;
  isAbs = s: builtins.substring 0 1 s == "/";
  expand = p: if p == "~" then home else if builtins.substring 0 2 p == "~/"
    then home + builtins.substring 1 (builtins.stringLength p) p else p;
  value = var: let v = env.${var} or ""; in
    if v == "" then null
    else if isAbs (expand v) then expand v
    else if builtins.substring 0 4 var == "XDG_" then null
    else throw "${var} is relative";
  resolve = loc: let
    moved = if loc.env == null then null else value loc.env;
    base = if moved == null then expand loc.default else moved;
  in if loc.subpath == "" then base else "${base}/${loc.subpath}";
in
builtins.listToAttrs (map (a: { name = a.name; value =
  if a.global_dir == null then null else resolve a.global_dir; })
  (builtins.fromJSON (builtins.readFile table)).agents)
"""


@pytest.mark.nix
@pytest.mark.parametrize("env", [
    {"HOME": "/h"},
    {"HOME": "/h", "XDG_CONFIG_HOME": "/x", "CLAUDE_CONFIG_DIR": "~/cc", "CODEX_HOME": "/k",
     "GROK_HOME": "/g", "GEMINI_CLI_HOME": "/gh"},
    {"HOME": "/h", "XDG_CONFIG_HOME": "relative", "CODEX_HOME": ""},
])
def test_nix_builtins_read_the_table_to_the_same_user_folders(env: dict[str, str],
                                                              tmp_path: Path) -> None:
    nix = require_tool("nix-instantiate")
    reader = tmp_path / "reader.nix"
    reader.write_text(NIX_READER)
    env_nix = "{ " + " ".join(f'{k} = "{v}";' for k, v in env.items()) + " }"
    proc = subprocess.run(
        [nix, "--eval", "--strict", "--json", "--store", "dummy://", "--expr",
         f"import {reader} {TABLE_PATH} {env_nix}"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    from_nix = json.loads(proc.stdout)
    from_python = {a.name: str(global_skills_dir(a.name, env)) if a.global_dir else None
                   for a in table().agents}
    assert from_nix == from_python


@pytest.mark.slow
def test_the_wheel_carries_the_table_and_reads_it_where_installed(tmp_path: Path) -> None:
    """A wheel built as users get it (hatchling, isolated) holds agents.json and the doc
    template, and the package imported from that unpacked wheel reads them."""
    import sys
    import zipfile

    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                           str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "dist").glob("ai_skills-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"ai_skills/agents.json", "ai_skills/templates/agent-paths.md"} <= names
        archive.extractall(tmp_path / "site")
    code = ("import ai_skills.deploy.agents as a, ai_skills.cli.agents_render as r; "
            "print(a.__file__, len(a.table().agents), len(r.as_markdown(a.table())) > 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(tmp_path / "site")))
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == [str(tmp_path / "site/ai_skills/deploy/agents.py"),
                                  str(len(table().agents)), "True"]
