# The agents the module and ./lib.nix deploy to, as data: everything else (targets, options,
# assertions, the folder resolution) is generated from this list. Keep it in step with
# src/ai_skills/agents.py; the agent-table work replaces it with that table read as JSON.
#
#   name              the agent's name in options and selections
#   displayName       for messages and option descriptions
#   userDir           the user-wide skills folder, relative to the home folder
#   env.var           the variable that moves it ...
#   env.replaces      ... by replacing this leading part of userDir (null: nothing moves it)
#   followsSymlinks   whether the agent reads a skill folder that is a symlink (else: copy)
#   homeManager       home-manager's own module for the agent, whose `skills` option writes
#                     into the same folder (null: none)
#   defaultEnabled    whether services.ai-skills.agents.<name>.enable defaults to true
[
  {
    name = "claude";
    displayName = "Claude Code";
    userDir = ".claude/skills";
    env = {
      var = "CLAUDE_CONFIG_DIR";
      replaces = ".claude";
    };
    followsSymlinks = true;
    homeManager = "claude-code";
    defaultEnabled = true;
  }
  {
    name = "opencode";
    displayName = "OpenCode";
    userDir = ".config/opencode/skills";
    env = {
      var = "XDG_CONFIG_HOME";
      replaces = ".config";
    };
    followsSymlinks = true;
    homeManager = "opencode";
    defaultEnabled = true;
  }
  {
    name = "codex";
    displayName = "Codex";
    userDir = ".codex/skills";
    env = {
      var = "CODEX_HOME";
      replaces = ".codex";
    };
    followsSymlinks = true;
    homeManager = "codex";
    defaultEnabled = true;
  }
  {
    # The shared folder of the Agent Skills standard; Codex and OpenCode read it too, so it is
    # off by default (a skill in both places would show twice).
    name = "agents";
    displayName = "the shared ~/.agents/skills";
    userDir = ".agents/skills";
    env = null;
    followsSymlinks = true;
    homeManager = null;
    defaultEnabled = false;
  }
]
