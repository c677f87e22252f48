# Where services.ai-skills puts each skill, decided in one place from the home-manager
# configuration: which skills each agent gets (./lib.nix `resolve`), the folder each agent
# reads (in the order docs/deploying.md documents), what home-manager's own
# programs.<agent>.skills already puts there, and whether a skill becomes a `home.file` link
# or is left to the activation step (outside $HOME, or copied). Everything that stops a
# build is returned as a message in `problems`.
{
  config,
  lib,
  pkgs,
  options,
  aiLib,
}:
let
  cfg = config.services.ai-skills;
  inherit (aiLib) agents agentNames absolutePath;
  home = absolutePath (toString config.home.homeDirectory);

  # ---- which skills --------------------------------------------------------------------

  listed = lib.unique (map (entry: entry.name) cfg.skills);
  entriesOf = name: lib.unique (lib.filter (entry: entry.name == name) cfg.skills);
  entryOf = name: lib.head (entriesOf name);
  inline = lib.listToAttrs (
    map (name: lib.nameValuePair name (entryOf name).text) (
      lib.filter (name: (entryOf name).text != null) listed
    )
  );

  # Skill folders in search order, each checked before it is read.
  extraFolders = map (dir: {
    option = "services.ai-skills.extraSkillDirs";
    inherit dir;
    enableAll = false;
  }) cfg.extraSkillDirs;
  sourceFolders = lib.mapAttrsToList (name: source: {
    option = "services.ai-skills.sources.${name}";
    dir = aiLib.asDir source.path + lib.optionalString (source.subdir != "") "/${source.subdir}";
    inherit (source) enableAll subdir;
  }) cfg.sources;
  subdirProblem =
    folder:
    let
      parts = lib.splitString "/" folder.subdir;
    in
    if folder ? subdir && (lib.hasPrefix "/" folder.subdir || lib.elem ".." parts) then
      "${folder.option}.subdir: '${folder.subdir}' must be a folder inside the source "
      + "(no leading `/`, no `..`)."
    else
      null;
  folderProblem =
    folder:
    let
      state = aiLib.folderState folder.dir;
    in
    if subdirProblem folder != null then
      subdirProblem folder
    else if state == "missing" then
      "${folder.option}: ${toString folder.dir} does not exist."
    else if state != "directory" then
      "${folder.option}: ${toString folder.dir} is not a folder."
    else
      null;
  usableFolders = lib.filter (folder: folderProblem folder == null) (extraFolders ++ sourceFolders);
  catalogDirs = map (folder: folder.dir) usableFolders ++ [ ../skills ];

  enableAllNames = lib.concatMap (folder: lib.attrNames (aiLib.discover [ folder.dir ]).skills) (
    lib.filter (folder: folder.enableAll) usableFolders
  );

  defaultSkillsFor =
    agent:
    lib.unique (
      lib.filter (
        name:
        let
          only = (entryOf name).agents;
        in
        only == null || lib.elem agent only
      ) listed
      ++ enableAllNames
    );

  enabledAgents = lib.filter (name: cfg.agents.${name}.enable) agentNames;
  resolved = aiLib.resolve {
    inherit catalogDirs inline;
    selection = lib.genAttrs enabledAgents (name: cfg.agents.${name}.skills);
  };

  # ---- where each agent reads skills -----------------------------------------------------

  # A variable as home-manager exports it; XDG_* fall back to home-manager's xdg.* values,
  # which is where its own modules write.
  xdgHomes = {
    XDG_CONFIG_HOME = config.xdg.configHome;
    XDG_DATA_HOME = config.xdg.dataHome;
    XDG_STATE_HOME = config.xdg.stateHome;
    XDG_CACHE_HOME = config.xdg.cacheHome;
  };
  exported =
    var:
    let
      value = config.home.sessionVariables.${var} or (xdgHomes.${var} or null);
    in
    if value == null then null else toString value;

  codexHome =
    if cfg.codexHome != null && lib.hasPrefix "/" cfg.codexHome then
      absolutePath cfg.codexHome
    else
      null;

  # The folder `name` reads skills from: services.ai-skills.codexHome (Codex only), else the
  # variable home-manager exports, else the default under the home folder.
  #   { dir = "/abs"; } or { error = "<message>"; }
  folderOf =
    name:
    let
      agent = agents.${name};
      own = name == "codex" && cfg.codexHome != null;
      value =
        if agent.env == null then
          null
        else if own then
          cfg.codexHome
        else
          exported agent.env.var;
      expanded = aiLib.expandHome home value;
    in
    if value == null then
      { dir = "${home}/${agent.userDir}"; }
    else if own && codexHome == null then
      { error = null; } # reported once, as codexHomeProblem
    else if expanded ? error then
      {
        error =
          "services.ai-skills: cannot tell where ${agent.displayName} reads skills: "
          + "home.sessionVariables.${agent.env.var} is '${value}', and ${expanded.error}. Use "
          + "an absolute path (or one starting with $HOME), or set "
          + "services.ai-skills.agents.${name}.enable = false.";
      }
    else
      { dir = "${expanded.path}${agent.env.below}"; };

  codexHomeProblem = lib.optional (cfg.codexHome != null && codexHome == null) (
    "services.ai-skills.codexHome must be an absolute path, not '${cfg.codexHome}'."
  );

  codexConflict =
    let
      theirs = exported "CODEX_HOME";
      theirPath = (aiLib.expandHome home theirs).path or null;
    in
    lib.optional (codexHome != null && theirs != null && theirPath != codexHome) (
      "services.ai-skills.codexHome is '${cfg.codexHome}', but home-manager exports "
      + "CODEX_HOME='${theirs}' (programs.codex does with home.preferXdgDirectories; it may "
      + "also be set in home.sessionVariables), and Codex reads the folder CODEX_HOME names. "
      + "Set services.ai-skills.codexHome to '${theirs}' or remove it."
    );

  # ---- what home-manager's own programs.<agent>.skills put there --------------------------

  # The folder each of home-manager's agent modules writes its skills into.
  homeManagerFolders = {
    claude-code = "${toString (config.programs.claude-code.configDir or "${home}/.claude")}/skills";
    codex =
      if config.home.preferXdgDirectories then
        "${toString config.xdg.configHome}/codex/skills"
      else
        "${home}/.codex/skills";
    opencode = "${toString config.xdg.configHome}/opencode/skills";
  };

  isPathLike =
    value:
    builtins.isPath value
    || lib.isDerivation value
    || (builtins.isString value && lib.hasPrefix "${builtins.storeDir}/" value);
  # A folder that can be listed while evaluating (not one Nix would have to build first).
  canList =
    value:
    builtins.isPath value
    || (
      builtins.isString value
      && lib.all (context: context.path or false) (lib.attrValues (builtins.getContext value))
    );

  # { option; dir; names = { <skill> = "<source folder>" or null; }; unlisted; } or null.
  programSkills =
    name:
    let
      program = agents.${name}.homeManager;
      at = [
        "programs"
        program
      ];
      declared = program != null && lib.hasAttrByPath (at ++ [ "skills" ]) options;
      skills = lib.getAttrFromPath (at ++ [ "skills" ]) config;
      folder = toString skills;
      wholeFolder = isPathLike skills;
      listable = wholeFolder && canList skills && aiLib.folderState folder == "directory";
    in
    if !declared || !(lib.attrByPath (at ++ [ "enable" ]) false config) then
      null
    else
      {
        option = "programs.${program}.skills";
        dir = absolutePath homeManagerFolders.${program};
        unlisted = wholeFolder && !listable;
        names =
          if listable then
            lib.mapAttrs (entry: _: "${folder}/${entry}") (builtins.readDir folder)
          else if wholeFolder then
            { }
          else
            lib.mapAttrs (_: value: if isPathLike value then toString value else null) skills;
      };

  # ---- targets ---------------------------------------------------------------------------

  targetsOf =
    name:
    let
      folder = folderOf name;
      theirs = programSkills name;
      sameFolder = theirs != null && folder ? dir && theirs.dir == folder.dir;
      chosen = resolved.skills.${name};
      clashing = lib.filter (skill: sameFolder && theirs.names ? ${skill}) (lib.attrNames chosen);
      sameSource =
        skill:
        let
          entry = chosen.${skill};
        in
        entry ? path && theirs.names.${skill} == toString entry.path;
      describe = "${agents.${name}.displayName} (${folder.dir})";
    in
    {
      problems =
        lib.optional ((folder.error or null) != null && chosen != { }) folder.error
        ++ map (
          skill:
          "services.ai-skills and ${theirs.option} both install skill '${skill}' for ${describe}; "
          + "keep it in only one of them (e.g. leave '${skill}' out of "
          + "services.ai-skills.agents.${name}.skills)."
        ) (lib.filter (skill: !sameSource skill) clashing);
      warnings =
        map (
          skill:
          "services.ai-skills: skill '${skill}' for ${describe} comes from the same folder "
          + "through ${theirs.option}; leaving it to that option."
        ) (lib.filter sameSource clashing)
        ++ lib.optional (sameFolder && theirs.unlisted && chosen != { }) (
          "services.ai-skills: ${theirs.option} is a folder Nix builds, so it cannot be checked "
          + "for skills services.ai-skills also puts into ${folder.dir}."
        );
      targets = lib.optionals (folder ? dir) (
        map (skill: {
          agent = name;
          inherit (cfg.agents.${name}) mode;
          path = "${folder.dir}/${skill}";
          inherit skill;
          entry = chosen.${skill};
        }) (lib.filter (skill: !(lib.elem skill clashing)) (lib.attrNames chosen))
      );
    };
  perAgent = lib.genAttrs enabledAgents targetsOf;

  # Agents that share a folder share its links.
  byPath = lib.groupBy (target: target.path) (
    lib.concatMap (name: perAgent.${name}.targets) enabledAgents
  );
  targets = map lib.head (lib.attrValues byPath);
  mixedModes = lib.filter (group: lib.length (lib.unique (map (t: t.mode) group)) > 1) (
    lib.attrValues byPath
  );

  # What a link points at: the folder itself, or a store folder made for inline text or a
  # linked folder (so the link never leads out of the store).
  sourceOf =
    skill: entry:
    if entry ? text then
      pkgs.writeTextFile {
        name = "ai-skills-skill-${skill}";
        destination = "/SKILL.md";
        inherit (entry) text;
      }
    else if entry.isLink then
      copiedFolder skill entry.path
    else
      entry.path;
  copiedFolder =
    skill: path:
    pkgs.runCommandLocal "ai-skills-skill-${skill}" { } (
      ''
        mkdir "$out"
      ''
      + lib.concatMapStrings (part: ''
        cp -R ${
          builtins.path {
            path = "${toString path}/${part}";
            name = "ai-skills-part";
          }
        } "$out"/${lib.escapeShellArg part}
      '') (lib.attrNames (builtins.readDir path))
    );
  storePathOf =
    skill: entry:
    let
      source = sourceOf skill entry;
    in
    if lib.isDerivation source then
      "${source}"
    else
      "${builtins.path {
        path = source;
        name = "ai-skills-skill-${skill}";
      }}";

  # One message per problem, naming every option that selects the broken skill.
  selectionProblems =
    errors:
    let
      messages = lib.unique (map (error: error.message) errors);
      agentsWith =
        message: map (error: error.agent) (lib.filter (error: error.message == message) errors);
      prefix =
        names:
        if lib.length names == 1 then
          "services.ai-skills.agents.${lib.head names}.skills"
        else
          "services.ai-skills.agents.{${lib.concatStringsSep "," names}}.skills";
    in
    map (message: "${prefix (agentsWith message)}: ${message}") messages;

  insideHome = target: aiLib.relativeTo home (dirOf target.path) != null;
  linkedByHomeManager = target: target.mode == "link" && insideHome target;
in
{
  inherit codexHome defaultSkillsFor;

  homeFileTargets = map (target: {
    inherit (target) path;
    source = sourceOf target.skill target.entry;
  }) (lib.filter linkedByHomeManager targets);

  activationTargets = map (target: {
    inherit (target) mode path;
    storeSource = storePathOf target.skill target.entry;
  }) (lib.filter (target: !(linkedByHomeManager target)) targets);

  # Every skill of the catalog, for AI_SKILLS_PATH.
  catalogFolder = pkgs.linkFarm "ai-skills-catalog" (
    lib.mapAttrsToList (skill: entry: {
      name = skill;
      path = sourceOf skill entry;
    }) resolved.catalog
  );

  problems =
    lib.filter (problem: problem != null) (map folderProblem (extraFolders ++ sourceFolders))
    ++ map (
      name:
      "services.ai-skills.skills lists '${name}' more than once with different settings; "
      + "list it once."
    ) (lib.filter (name: lib.length (entriesOf name) > 1) listed)
    ++ codexHomeProblem
    ++ codexConflict
    ++ selectionProblems resolved.errors
    ++ lib.concatMap (name: perAgent.${name}.problems) enabledAgents
    ++ map (
      group:
      "services.ai-skills.agents.{${lib.concatMapStringsSep "," (t: t.agent) group}} share "
      + "${dirOf (lib.head group).path} but not one mode; give them the same `mode`."
    ) mixedModes;

  warnings = lib.concatMap (name: perAgent.${name}.warnings) enabledAgents;
}
