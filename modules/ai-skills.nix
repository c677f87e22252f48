# home-manager module: link agent skills into the folders Claude Code, OpenCode and Codex
# read, one link per skill folder. The catalog, selection and checks live in ./lib.nix
# (builtins only, tested against the shared JSON vectors); this file adapts them to
# home-manager options, files, activation and assertions.
{
  config,
  lib,
  pkgs,
  options,
  ...
}:
let
  cfg = config.services.ai-skills;
  aiLib = import ./lib.nix;
  workerPins = import ../pkgs/worker/pins.nix { };

  # Extra dirs first: a user's own `alpha` shadows the bundled `alpha`.
  catalogDirs = cfg.extraSkillDirs ++ [ ../skills ];

  resolved = aiLib.resolve {
    inherit catalogDirs;
    selection = {
      claude = cfg.claudeSkills;
      opencode = cfg.opencodeSkills;
      codex = cfg.codexSkills;
    };
  };

  optionOfAgent = {
    claude = "claudeSkills";
    opencode = "opencodeSkills";
    codex = "codexSkills";
  };

  homeDir = config.home.homeDirectory;
  codexHome = if cfg.codexHome == null then "${homeDir}/.codex" else cfg.codexHome;
  codexInHome = lib.hasPrefix "${homeDir}/" codexHome;
  codexSkillsDir = "${codexHome}/skills";

  # { "<dir>/<name>" = { source = <skill folder>; }; } for home.file / xdg.configFile.
  linksIn =
    dir: skills:
    lib.mapAttrs' (name: source: lib.nameValuePair "${dir}/${name}" { inherit source; }) skills;

  # Every skill the catalog offers (after shadowing), as one store folder for AI_SKILLS_PATH,
  # so `use-skills` in a repo finds them without evaluating Nix.
  catalogFolder = pkgs.linkFarm "ai-skills-catalog" (
    lib.mapAttrsToList (name: skill: {
      inherit name;
      inherit (skill) path;
    }) resolved.catalog
  );

  # Codex reads $CODEX_HOME/skills; home.file cannot reach outside $HOME, so a CODEX_HOME
  # elsewhere gets its links from an activation step that records what it made and only
  # ever removes links it recorded that point into the Nix store.
  codexRecord = pkgs.writeText "ai-skills-codex-links" (
    lib.concatStrings (map (name: "${name}\n") (lib.attrNames resolved.skills.codex))
  );
  inStore =
    name: source:
    let
      text = toString source;
    in
    if lib.hasPrefix "${builtins.storeDir}/" text then
      "${source}"
    else
      "${builtins.path {
        path = source;
        name = "ai-skills-skill-${name}";
      }}";
  codexActivation = ''
    aiSkillsDir=${lib.escapeShellArg codexSkillsDir}
    aiSkillsRecord=${lib.escapeShellArg "${config.xdg.stateHome}/ai-skills/codex-links"}
    if [[ -f $aiSkillsRecord ]]; then
      while IFS= read -r aiSkillsName; do
        aiSkillsTarget="$aiSkillsDir/$aiSkillsName"
        if [[ -n $aiSkillsName ]] && ! grep -qxF -- "$aiSkillsName" ${codexRecord} \
          && [[ -L $aiSkillsTarget && $(readlink "$aiSkillsTarget") == ${builtins.storeDir}/* ]]; then
          run rm -f "$aiSkillsTarget"
        fi
      done < "$aiSkillsRecord"
    fi
    aiSkillsLink() {
      local target="$aiSkillsDir/$1"
      if [[ -e $target || -L $target ]] \
        && ! [[ -L $target && $(readlink "$target") == ${builtins.storeDir}/* ]]; then
        warnEcho "ai-skills: leaving $target alone: it is not a link made by ai-skills; move it away to deploy skill '$1'"
        return 0
      fi
      run ln -sfn "$2" "$target"
    }
    ${lib.optionalString (resolved.skills.codex != { }) ''run mkdir -p "$aiSkillsDir"''}
    ${lib.concatStrings (
      lib.mapAttrsToList (name: source: ''
        aiSkillsLink ${lib.escapeShellArg name} ${lib.escapeShellArg (inStore name source)}
      '') resolved.skills.codex
    )}
    run install -D -m 644 ${codexRecord} "$aiSkillsRecord"
  '';

  # home-manager's own programs.<agent>.skills, where that option exists and is in use:
  # the same skill name from both modules is the same file, which home-manager refuses.
  collision =
    {
      program,
      agent,
      where,
    }:
    let
      path = [
        "programs"
        program
      ];
      exists = lib.hasAttrByPath (path ++ [ "skills" ]) options;
      enabled = exists && lib.attrByPath (path ++ [ "enable" ]) false config;
      theirs = lib.attrByPath (path ++ [ "skills" ]) { } config;
      ours = lib.attrNames resolved.skills.${agent};
      wholeFolder = !(lib.isAttrs theirs) || theirs ? outPath;
      shared = if wholeFolder then [ ] else lib.filter (name: theirs ? ${name}) ours;
      option = optionOfAgent.${agent};
    in
    lib.optionals (enabled && ours != [ ]) (
      if wholeFolder then
        [
          {
            assertion = theirs == null || theirs == { };
            message =
              "services.ai-skills.${option} links skills into ${where}, "
              + "but programs.${program}.skills manages that whole folder; set one of them "
              + "to empty (e.g. services.ai-skills.${option} = [ ]).";
          }
        ]
      else
        map (name: {
          assertion = false;
          message =
            "services.ai-skills.${option} and programs.${program}.skills both install "
            + "skill '${name}' into ${where}; keep it in only one of them.";
        }) shared
    );

  # One assertion per problem, naming every option that selects the broken skill.
  selectionAssertions =
    let
      messages = lib.unique (map (error: error.message) resolved.errors);
      optionsWith =
        message:
        map (error: optionOfAgent.${error.agent}) (
          lib.filter (error: error.message == message) resolved.errors
        );
      prefix =
        names:
        if lib.length names == 1 then
          "services.ai-skills.${lib.head names}"
        else
          "services.ai-skills.{${lib.concatStringsSep "," names}}";
    in
    map (message: {
      assertion = false;
      message = "${prefix (optionsWith message)}: ${message}";
    }) messages;
in
{
  options.services.ai-skills = {
    enable = lib.mkEnableOption "agent skills for Claude Code, OpenCode and Codex from ai-skills";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.ai-skills or (pkgs.callPackage ../pkgs/ai-skills { });
      defaultText = lib.literalExpression ''
        pkgs.ai-skills or (pkgs.callPackage "''${ai-skills}/pkgs/ai-skills" { })
      '';
      example = lib.literalExpression "inputs.ai-skills.packages.\${pkgs.system}.ai-skills";
      description = ''
        The ai-skills package, which provides `ai-skills`, `use-skills` and `worker`.
        The default builds it from the same source as this module, so the overlay is not needed.
      '';
    };

    workerPackage = lib.mkOption {
      type = lib.types.nullOr lib.types.package;
      default =
        if workerPins.supports pkgs.stdenv.hostPlatform.system then
          pkgs.callPackage ../pkgs/worker { releaseDir = ../releases; }
        else
          null;
      defaultText = lib.literalExpression ''
        the pinned release tarball from releases/ where releases/worker.json has one for
        this system (x86_64-linux), else null
      '';
      example = lib.literalExpression "null";
      description = ''
        The `worker` command, from the release tarball pinned by SRI hash in
        {file}`releases/worker.json`. It takes precedence over the `worker` that
        {option}`services.ai-skills.package` also provides. `null` installs no separate
        `worker` (the one from {option}`services.ai-skills.package` stays on PATH).
      '';
    };

    skills = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      example = [
        "review-gate"
        "worker-orchestration"
      ];
      description = ''
        Names of the skills to give every agent. A name is looked up in
        {option}`services.ai-skills.extraSkillDirs` in order, then in the skills bundled with
        this module; the first folder holding a `SKILL.md` wins.
      '';
    };

    claudeSkills = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = cfg.skills;
      defaultText = lib.literalExpression "config.services.ai-skills.skills";
      example = [ "review-gate" ];
      description = ''
        Skills linked into {file}`~/.claude/skills` for Claude Code, one link per skill folder.
        An empty list links nothing for Claude Code.
      '';
    };

    opencodeSkills = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = cfg.skills;
      defaultText = lib.literalExpression "config.services.ai-skills.skills";
      example = [ ];
      description = ''
        Skills linked into {file}`$XDG_CONFIG_HOME/opencode/skills` for OpenCode. OpenCode also
        reads {file}`~/.claude/skills`, so a skill in both lists shows up twice in OpenCode;
        set this to `[ ]` when Claude Code gets the same skills.
      '';
    };

    codexSkills = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = cfg.skills;
      defaultText = lib.literalExpression "config.services.ai-skills.skills";
      example = [ "review-gate" ];
      description = ''
        Skills linked into {file}`$CODEX_HOME/skills` (see
        {option}`services.ai-skills.codexHome`) for Codex.
      '';
    };

    extraSkillDirs = lib.mkOption {
      type = lib.types.listOf lib.types.path;
      default = [ ];
      example = lib.literalExpression ''[ ./my-skills "''${inputs.team-skills}/skills" ]'';
      description = ''
        Folders (local paths or flake inputs) whose sub-folders are skills, searched in order
        before the bundled skills. A skill here shadows a bundled skill of the same name.
      '';
    };

    codexHome = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "/srv/codex/ada";
      description = ''
        Absolute path of Codex's home folder; `null` means {file}`~/.codex`. When set, it is
        also exported as `CODEX_HOME`. Inside your home folder the skills are declarative
        links; elsewhere an activation step makes them.
      '';
    };

    direnv.enable = lib.mkEnableOption ''
      the direnv `use skills` function: installs it as
      {file}`~/.config/direnv/lib/ai-skills.sh` and sets `AI_SKILLS_PATH` to a store folder
      holding every skill of the catalog, so per-repo `.skills` manifests resolve without
      evaluating Nix'';
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = cfg.codexHome == null || lib.hasPrefix "/" cfg.codexHome;
            message =
              "services.ai-skills.codexHome must be an absolute path, "
              + "not '${toString cfg.codexHome}'.";
          }
        ]
        ++ selectionAssertions
        ++ collision {
          program = "claude-code";
          agent = "claude";
          where = "~/.claude/skills";
        }
        ++ collision {
          program = "opencode";
          agent = "opencode";
          where = "~/.config/opencode/skills";
        }
        ++ collision {
          program = "codex";
          agent = "codex";
          where = "the Codex skills folder";
        };

        home.packages = [
          cfg.package
        ]
        ++ lib.optional (cfg.workerPackage != null) (lib.hiPrio cfg.workerPackage);

        home.file = linksIn ".claude/skills" resolved.skills.claude;
        xdg.configFile = linksIn "opencode/skills" resolved.skills.opencode;
      }

      (lib.mkIf (codexInHome && resolved.skills.codex != { }) {
        home.file = linksIn (lib.removePrefix "${homeDir}/" codexSkillsDir) resolved.skills.codex;
      })

      (lib.mkIf (!codexInHome) {
        home.activation.aiSkillsCodex = lib.hm.dag.entryAfter [ "linkGeneration" ] codexActivation;
      })

      (lib.mkIf (cfg.codexHome != null) { home.sessionVariables.CODEX_HOME = cfg.codexHome; })

      (lib.mkIf cfg.direnv.enable {
        xdg.configFile."direnv/lib/ai-skills.sh".source = ../bin/use_skills.sh;
        home.sessionVariables.AI_SKILLS_PATH = "${catalogFolder}";
      })
    ]
  );
}
