# The agents the module and ./lib.nix deploy to, read from the table Python reads
# (src/ai_skills/agents.json) and shaped for Nix; everything else (targets, options,
# assertions, the folder resolution) is generated from this list. Agents without a user-wide
# folder are left out: they are deployed per repository only.
#
#   name              the agent's name in options and selections
#   displayName       for messages and option descriptions
#   userDir           the user-wide skills folder, relative to the home folder
#   env.var           the variable that moves it to $var + env.below (env = null: none does)
#   env.below         the part of userDir below the variable's folder, from "/" on
#   followsSymlinks   whether the agent reads a skill folder that is a symlink (else: copy);
#                     the table leaves it unknown for most agents, which get links as npx
#                     skills gives them
#   homeManager       home-manager's own module for the agent, whose `skills` option writes
#                     into the same folder (null: none)
#   defaultEnabled    whether services.ai-skills.agents.<name>.enable defaults to true
let
  table = builtins.fromJSON (builtins.readFile ../src/ai_skills/agents.json);

  # Not in the table: which home-manager module writes skills for which agent.
  homeManagerModules = {
    claude = "claude-code";
    codex = "codex";
    opencode = "opencode";
  };

  # "~" -> "", "~/.claude" -> ".claude"
  homeRelative =
    agent: path:
    if path == "~" then
      ""
    else if builtins.substring 0 2 path == "~/" then
      builtins.substring 2 (-1) path
    else
      throw "agents.json: ${agent.name}'s user folder '${path}' is neither ~ nor below ~/";

  join = a: b: if a == "" then b else if b == "" then a else "${a}/${b}";

  shape =
    agent:
    let
      location = agent.global_dir;
      base = homeRelative agent location.default;
    in
    {
      inherit (agent) name;
      displayName = agent.display_name;
      userDir = join base location.subpath;
      env =
        if location.env == null then
          null
        else
          {
            var = location.env;
            below = if location.subpath == "" then "" else "/${location.subpath}";
          };
      followsSymlinks = agent.follows_symlinks != false;
      homeManager = homeManagerModules.${agent.name} or null;
      defaultEnabled = builtins.elem agent.name table.defaults;
    };
in
assert table.version == 1 || throw "agents.json: unknown version ${toString table.version}";
map shape (builtins.filter (agent: agent.global_dir != null) table.agents)
