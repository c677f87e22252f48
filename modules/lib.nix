# The logic of the home-manager module, in builtins only (no nixpkgs), so that it can be
# tested with `nix-instantiate --eval --strict --json` and driven by the same JSON vectors
# as the Python code (tests/vectors/global_selection/). Keep it in step with
# src/ai_skills/deploy/agents.py (target folders) and src/ai_skills/deploy/global_selection.py
# (selection); the agents themselves are data in ./agents.nix.
let
  inherit (builtins)
    attrNames
    concatLists
    concatStringsSep
    elem
    filter
    foldl'
    genList
    head
    isAttrs
    isString
    length
    listToAttrs
    match
    readDir
    readFile
    split
    stringLength
    substring
    tail
    ;

  # The agents, in the order errors and links are reported, and by name.
  agentList = import ./agents.nix;
  agentNames = map (agent: agent.name) agentList;
  agents = listToAttrs (
    map (agent: {
      inherit (agent) name;
      value = agent;
    }) agentList
  );

  # SKILL.md front matter as the Python validator reads it.
  inherit (import ./front-matter.nix) parseFrontMatter trim hasPrefix;

  # Path-like values (paths, strings, flake inputs, derivations) as something `+ "/x"` and
  # readDir accept, without copying a local path into the store.
  asDir = dir: if isAttrs dir then dir.outPath else dir;

  # ---- names ---------------------------------------------------------------------------

  # Agent Skills name rules, as OpenCode enforces them.
  isValidName =
    name: isString name && stringLength name <= 64 && match "[a-z0-9]+(-[a-z0-9]+)*" name != null;

  # ---- catalog -------------------------------------------------------------------------

  # Every folder directly under `dir`, with whether it holds a SKILL.md file. A link is
  # taken as a skill folder only when `<link>/SKILL.md` exists: builtins cannot tell a link
  # to an empty folder from a link to a file without reading it (which fails for a file).
  foldersIn =
    index: dir:
    let
      base = asDir dir;
      entries = if builtins.pathExists base then readDir base else { };
      folder =
        name:
        let
          path = base + "/${name}";
          type = entries.${name};
          inside = readDir path;
        in
        {
          inherit name path index;
          # A linked folder is copied by its content where the module needs it in the store.
          isLink = type == "symlink";
          hasSkillMd =
            if type == "directory" then
              inside ? "SKILL.md" && inside."SKILL.md" != "directory"
            else
              builtins.pathExists (path + "/SKILL.md");
        };
      candidates = map folder (
        filter (name: elem entries.${name} [
          "directory"
          "symlink"
        ]) (attrNames entries)
      );
    in
    filter (f: f.hasSkillMd || entries.${f.name} == "directory") candidates;

  # name -> { name, path, index } for every skill (a folder with SKILL.md) in `dirs`; a name
  # found in several directories resolves to the first directory (listToAttrs keeps the first).
  discover =
    dirs:
    let
      all = concatLists (genList (i: foldersIn i (builtins.elemAt dirs i)) (length dirs));
      toEntry = f: {
        inherit (f) name;
        value = f;
      };
    in
    {
      skills = listToAttrs (map toEntry (filter (f: f.hasSkillMd) all));
      folders = listToAttrs (map toEntry all);
    };

  # Front matter fields of the Agent Skills spec, and those Claude Code adds (accepted, as
  # the Python validator only warns about them).
  specFields = [
    "name"
    "description"
    "license"
    "compatibility"
    "metadata"
    "allowed-tools"
  ];
  agentExtensionFields = [
    "model"
    "disable-model-invocation"
    "user-invocable"
    "argument-hint"
    "context"
    "agent"
    "hooks"
    "version"
    "when_to_use"
  ];

  # Problems with one skill's SKILL.md: [ ] or one { kind, skill, message }. The order of
  # the checks follows ai_skills.deploy.global_selection: a `name` other than the folder's wins over
  # other front matter problems. A skill is a catalog entry: a folder (`path`) or inline `text`,
  # with `file` naming it in messages.
  checkSkill =
    skill:
    let
      file = skillFile skill;
      fm = parseFrontMatter (skillText skill);
      inherit (fm) fields kinds;
      bad = message: [
        {
          kind = "invalid-front-matter";
          skill = skill.name;
          message = "${file}: ${message}";
        }
      ];
      known = specFields ++ agentExtensionFields;
      unknown = filter (k: !(elem k known)) (attrNames fields);
      notString = k: fields ? ${k} && kinds.${k} != "string";
      tooLong = k: limit: fields ? ${k} && stringLength fields.${k} > limit;
    in
    if fm ? error then
      bad fm.error
    else if !(fields ? name) then
      bad "front matter has no `name`"
    else if notString "name" then
      bad "`name` must be a text value"
    else if fields.name != skill.name then
      [
        {
          kind = "name-mismatch";
          skill = skill.name;
          message = "${file}: name '${fields.name}' does not match its folder name '${skill.name}'";
        }
      ]
    else if fm.duplicates != [ ] then
      bad "key `${head fm.duplicates}` appears twice in the front matter"
    else if unknown != [ ] then
      bad "unknown field `${head unknown}` (allowed: ${concatStringsSep ", " specFields})"
    else if !(fields ? description) then
      bad "front matter has no `description`"
    else if notString "description" then
      bad "`description` must be a text value"
    else if trim fields.description == "" then
      bad "`description` is empty"
    else if tooLong "description" 1024 then
      bad "`description` is longer than 1024 characters"
    else if notString "compatibility" then
      bad "`compatibility` must be a text value"
    else if tooLong "compatibility" 500 then
      bad "`compatibility` is longer than 500 characters"
    else if notString "license" || notString "allowed-tools" then
      bad "`license` and `allowed-tools` must be text values"
    else
      [ ];

  skillText = skill: if skill ? text then skill.text else readFile (skill.path + "/SKILL.md");
  skillFile =
    skill:
    if skill ? text then "inline skill '${skill.name}'" else "${toString skill.path}/SKILL.md";

  # ---- where agents read skills --------------------------------------------------------

  # Kept for other flakes that call it; the module compares folders with absolutePath.
  normalisePath =
    path:
    let
      parts = filter (p: isString p && p != "" && p != ".") (split "/" path);
    in
    (if hasPrefix "/" path then "/" else "") + concatStringsSep "/" parts;

  # An override variable as an absolute path, or null when unset or empty; mirrors env_folder
  # in agents.py: a relative XDG_* value is ignored (as the XDG spec says), any other relative
  # value is refused (agents would read it from whatever folder they run in).
  envPath =
    env: var:
    let
      value = env.${var} or "";
      expanded =
        if value == "~" || hasPrefix "~/" value then env.HOME + substring 1 (-1) value else value;
    in
    if value == "" then
      null
    else if hasPrefix "/" expanded then
      absolutePath expanded
    else if hasPrefix "XDG_" var then
      null
    else
      throw (
        "${var}='${value}' is a relative path; agents would read it from whatever folder "
        + "they run in. Set it to an absolute folder"
      );

  # The user-wide skills folder of `agent`; mirrors global_skills_dir in agents.py. (`cwd`
  # is no longer used: relative overrides are not taken against it.)
  globalSkillsDir =
    agent: env: _cwd:
    let
      entry =
        agents.${agent}
          or (throw "unknown agent '${agent}'; known agents: ${concatStringsSep ", " agentNames}");
      moved = if entry.env == null then null else envPath env entry.env.var;
    in
    if moved == null then
      absolutePath "${env.HOME}/${entry.userDir}"
    else
      "${moved}${entry.env.below}";

  # An absolute path with `.`, `..`, doubled and trailing slashes resolved by their text (the
  # way the module compares folders; links are not followed), or null when not absolute.
  absolutePath =
    path:
    let
      parts = filter (p: isString p && p != "" && p != ".") (split "/" path);
      step =
        acc: part:
        if part != ".." then
          acc ++ [ part ]
        else if acc == [ ] then
          [ ]
        else
          dropLast acc;
      dropLast = list: genList (builtins.elemAt list) (length list - 1);
    in
    if isString path && hasPrefix "/" path then
      "/" + concatStringsSep "/" (foldl' step [ ] parts)
    else
      null;

  # `dir` relative to `home` ("." for `home` itself), or null when it is not inside.
  relativeTo =
    home: dir:
    if dir == home then
      "."
    else if home == "/" then
      substring 1 (-1) dir
    else if hasPrefix "${home}/" dir then
      substring (stringLength home + 1) (-1) dir
    else
      null;

  # A variable's value as home-manager would export it, as an absolute path, when that can
  # be told without a shell: `~`, `$HOME` and `${HOME}` stand for `home`.
  #   { path = "/abs"; } or { error = "<why not>"; }
  expandHome =
    home: value:
    let
      m = match "(~|[$]HOME|[$][{]HOME[}])(/.*)?" value;
      rest = builtins.elemAt m 1;
      expanded = if m == null then value else home + (if rest == null then "" else rest);
      absolute = absolutePath expanded;
    in
    if match ".*[$`].*" expanded != null then
      { error = "only the shell can expand it"; }
    else if absolute == null then
      { error = "it is not an absolute path"; }
    else
      { path = absolute; };

  # "directory", "missing" or "other" (a file, or a link to one) for a folder given as a path,
  # string or flake input. A trailing `/.` makes pathExists require a directory.
  folderState =
    dir:
    let
      text = toString (asDir dir);
    in
    if !(builtins.pathExists text) then
      "missing"
    else if builtins.pathExists "${text}/." then
      "directory"
    else
      "other";

  # ---- selection -----------------------------------------------------------------------

  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];

  quoteList = names: concatStringsSep ", " (map (n: "'${n}'") names);

  # Resolve per-agent lists of skill names against the catalog: the `inline` skills
  # ({ <name> = "<SKILL.md text>"; }), then the folders in `catalogDirs` (searched in order,
  # first match wins). Returns
  #   skills = { <agent> = { <name> = <catalog entry>; }; };  only skills without errors
  #   errors = [ { kind, skill, agent, message } ];            one per agent selecting the skill
  #   catalog = { <name> = { name, path, index } or { name, text }; };
  resolve =
    {
      catalogDirs,
      selection,
      inline ? { },
    }:
    let
      found = discover catalogDirs;
      catalog = found.skills // builtins.mapAttrs (name: text: { inherit name text; }) inline;
      available = attrNames catalog;
      agents = filter (a: selection ? ${a}) agentNames;
      unknownAgents = filter (a: !(elem a agentNames)) (attrNames selection);
      wanted = agent: unique selection.${agent};
      requested = unique (concatLists (map wanted agents));
      validRequested = filter isValidName requested;

      # What keeps a well-formed name from being deployed, agent aside: [ ] or one error.
      folderErrors = listToAttrs (
        map (name: {
          inherit name;
          value =
            if catalog ? ${name} then
              checkSkill catalog.${name}
            else if found.folders ? ${name} then
              [
                {
                  kind = "missing-skill-md";
                  skill = name;
                  message = "skill folder ${toString found.folders.${name}.path} has no SKILL.md";
                }
              ]
            else
              [
                {
                  kind = "unknown-skill";
                  skill = name;
                  message =
                    "unknown skill '${name}'; "
                    + (
                      if available == [ ] then
                        "no skills found in the catalog"
                      else
                        "available skills: ${concatStringsSep ", " available}"
                    );
                }
              ];
        }) validRequested
      );

      selectionError =
        agent: name:
        if !(isValidName name) then
          [
            {
              kind = "invalid-name";
              skill = name;
              inherit agent;
              message =
                "invalid skill name '${name}': use 1-64 lowercase letters, digits "
                + "and single hyphens, e.g. 'review-gate'";
            }
          ]
        else
          map (error: error // { inherit agent; }) folderErrors.${name};

      usable = name: isValidName name && folderErrors.${name} == [ ];
    in
    if unknownAgents != [ ] then
      throw (
        "unknown agent ${quoteList unknownAgents}; "
        + "known agents: ${concatStringsSep ", " agentNames}"
      )
    else
      {
        inherit catalog;
        skills = listToAttrs (
          map (agent: {
            name = agent;
            value = listToAttrs (
              map (name: {
                inherit name;
                value = catalog.${name};
              }) (filter usable (wanted agent))
            );
          }) agents
        );
        errors = concatLists (
          map (agent: concatLists (map (selectionError agent) (wanted agent))) agents
        );
      };

  # The global deploy: `resolve`, then one target per selected skill per agent.
  #   links = { "<absolute target>" = <skill folder>; };  errors as in `resolve`.
  selectGlobal =
    {
      catalogDirs,
      selection,
      env,
      cwd ? "/",
    }:
    let
      resolved = resolve { inherit catalogDirs selection; };
      linksFor =
        agent:
        let
          dir = globalSkillsDir agent env cwd;
          skills = resolved.skills.${agent};
        in
        map (name: {
          name = "${dir}/${name}";
          value = skills.${name}.path;
        }) (attrNames skills);
    in
    {
      links = listToAttrs (concatLists (map linksFor (attrNames resolved.skills)));
      inherit (resolved) errors;
    };

  # The catalog as plain data for other flakes: name -> { path, description }.
  catalogData =
    dirs:
    builtins.mapAttrs (
      name: skill:
      let
        fm = parseFrontMatter (readFile (skill.path + "/SKILL.md"));
      in
      {
        inherit (skill) path;
        description = if fm ? fields then fm.fields.description or "" else "";
      }
    ) (discover dirs).skills;
in
{
  inherit
    agents
    agentNames
    isValidName
    absolutePath
    relativeTo
    expandHome
    folderState
    asDir
    parseFrontMatter
    discover
    checkSkill
    globalSkillsDir
    normalisePath
    resolve
    selectGlobal
    catalogData
    ;
}
