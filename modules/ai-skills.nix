# home-manager module: put agent skills into the folders Claude Code, OpenCode, Codex (and the
# other agents in ./agents.nix) read, one link or copy per skill folder. The catalog,
# selection and checks live in ./lib.nix (builtins only, tested against the shared JSON
# vectors); where each agent's folder is, and what home-manager's own modules already put
# there, in ./placement.nix; this file holds the options and turns the result into files,
# activation steps and assertions.
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
  inherit (aiLib) agentNames;

  placement = import ./placement.nix {
    inherit
      config
      lib
      pkgs
      options
      aiLib
      ;
  };

  skillType = lib.types.coercedTo lib.types.str (name: { inherit name; }) (
    lib.types.submodule {
      options = {
        name = lib.mkOption {
          type = lib.types.str;
          example = "review-gate";
          description = "The skill's name: its folder name and the `name` in its front matter.";
        };
        agents = lib.mkOption {
          type = lib.types.nullOr (lib.types.listOf (lib.types.enum agentNames));
          default = null;
          example = [ "claude" ];
          description = ''
            The agents that get this skill; `null` means every enabled agent. Only applies
            where {option}`services.ai-skills.agents.<name>.skills` is left at its default.
          '';
        };
        text = lib.mkOption {
          type = lib.types.nullOr lib.types.lines;
          default = null;
          example = "---\nname: my-notes\ndescription: Use when taking notes.\n---\n";
          description = ''
            The skill's {file}`SKILL.md`, for a skill written inline; it takes precedence over
            a catalog skill of the same name. Checked like any other {file}`SKILL.md`.
          '';
        };
      };
    }
  );

  sourceType = lib.types.submodule (
    { name, ... }:
    {
      options = {
        path = lib.mkOption {
          type = lib.types.path;
          example = lib.literalExpression "inputs.team-skills";
          description = "A folder, a local path or a flake input (`flake = false` works too).";
        };
        subdir = lib.mkOption {
          type = lib.types.str;
          default = "";
          example = "skills";
          description = "The folder inside {option}`path` whose sub-folders are skills.";
        };
        enableAll = lib.mkOption {
          type = lib.types.bool;
          default = false;
          example = true;
          description = "Give every skill of this source to every enabled agent.";
        };
      };
    }
  );

  agentOptions =
    agent:
    lib.mkOption {
      default = { };
      example = lib.literalExpression ''{ skills = [ "review-gate" ]; mode = "copy"; }'';
      description = "Skills for ${agent.displayName}, in {file}`~/${agent.userDir}`.";
      type = lib.types.submodule {
        options = {
          enable = lib.mkOption {
            type = lib.types.bool;
            default = agent.defaultEnabled;
            example = !agent.defaultEnabled;
            description = "Whether to deploy skills for ${agent.displayName}.";
          };
          skills = lib.mkOption {
            type = lib.types.listOf lib.types.str;
            default = placement.defaultSkillsFor agent.name;
            defaultText = lib.literalMD ''
              the names in {option}`services.ai-skills.skills` meant for this agent, and every
              skill of a source with `enableAll`
            '';
            example = [ "review-gate" ];
            description = "Skill names for ${agent.displayName}; `[ ]` deploys none.";
          };
          mode = lib.mkOption {
            type = lib.types.enum [
              "link"
              "copy"
            ];
            default = if agent.followsSymlinks then "link" else "copy";
            defaultText = lib.literalMD ''`"link"` where the agent follows a symlinked folder'';
            example = "copy";
            description = ''
              `link`: one symlink per skill folder (a `home.file` inside your home folder).
              `copy`: a real folder per skill, made by an activation step, for agents that do
              not follow symlinks; it is replaced or removed only while unchanged.
            '';
          };
        };
      };
    };

  renamed = agent: [
    "services"
    "ai-skills"
    "${agent}Skills"
  ];

  # One link per skill inside the home folder: home.file, named so that home-manager's own
  # duplicate check (not a raw option conflict) meets any other definition of the target.
  homeFiles = lib.listToAttrs (
    map (target: {
      name = "ai-skills:${target.path}";
      value = {
        target = target.path;
        inherit (target) source;
      };
    }) placement.homeFileTargets
  );

  activationArgs = lib.escapeShellArgs (
    lib.concatMap (target: [
      target.mode
      target.path
      target.storeSource
    ]) placement.activationTargets
  );
  record = "${config.xdg.stateHome}/ai-skills/links";
  activationStep = phase: ''
    source ${./activation.sh}
    aiSkillsSync ${phase} ${lib.escapeShellArg record} ${if cfg.enable then activationArgs else ""}
  '';
in
{
  imports = map (
    agent:
    lib.mkRenamedOptionModule (renamed agent) [
      "services"
      "ai-skills"
      "agents"
      agent
      "skills"
    ]
  ) [ "claude" "opencode" "codex" ];

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
      type = lib.types.listOf skillType;
      default = [ ];
      example = lib.literalExpression ''
        [
          "review-gate"
          { name = "worker-orchestration"; agents = [ "claude" ]; }
          { name = "my-notes"; text = builtins.readFile ./my-notes.md; }
        ]
      '';
      description = ''
        The skills to deploy: a name, or `{ name; agents; text; }`. A name is looked up in
        the inline skills, then {option}`services.ai-skills.extraSkillDirs` in order, then
        {option}`services.ai-skills.sources` by name, then the skills bundled with this
        module; the first folder holding a `SKILL.md` wins.
      '';
    };

    sources = lib.mkOption {
      type = lib.types.attrsOf sourceType;
      default = { };
      example = lib.literalExpression ''
        { team = { path = inputs.team-skills; subdir = "skills"; enableAll = true; }; }
      '';
      description = ''
        Named folders of skill folders (local paths or flake inputs), searched after
        {option}`services.ai-skills.extraSkillDirs` and before the bundled skills.
      '';
    };

    agents = lib.genAttrs agentNames (name: agentOptions aiLib.agents.${name});

    extraSkillDirs = lib.mkOption {
      type = lib.types.listOf lib.types.path;
      default = [ ];
      example = lib.literalExpression ''[ ./my-skills "''${inputs.team-skills}/skills" ]'';
      description = ''
        Folders (local paths or flake inputs) whose sub-folders are skills, searched in order
        before the sources and the bundled skills. A skill here shadows one of the same name.
      '';
    };

    codexHome = lib.mkOption {
      type = lib.types.nullOr lib.types.str;
      default = null;
      example = "/srv/codex/ada";
      description = ''
        Absolute path of Codex's home folder. `null` follows home-manager: the `CODEX_HOME`
        it exports (`programs.codex` with `home.preferXdgDirectories` sets
        {file}`~/.config/codex`), else {file}`~/.codex`. When set, it is exported as
        `CODEX_HOME`, and must agree with a `CODEX_HOME` set elsewhere. Inside your home
        folder the skills are `home.file` links; elsewhere an activation step makes them.
      '';
    };

    direnv.enable = lib.mkEnableOption ''
      the direnv `use skills` function: installs it as
      {file}`~/.config/direnv/lib/ai-skills.sh` and sets `AI_SKILLS_PATH` to a store folder
      holding every skill of the catalog, so per-repo `.skills` manifests resolve without
      evaluating Nix'';
  };

  config = lib.mkMerge [
    # Always, so that turning the module off removes what its activation steps made.
    {
      home.activation.aiSkillsRemove = lib.hm.dag.entryBefore [ "checkLinkTargets" ] (
        activationStep "remove"
      );
      home.activation.aiSkillsDeploy = lib.hm.dag.entryAfter [ "linkGeneration" ] (
        activationStep "deploy"
      );
    }

    (lib.mkIf cfg.enable {
      assertions = map (message: {
        assertion = false;
        inherit message;
      }) placement.problems;
      inherit (placement) warnings;

      home.packages = [
        cfg.package
      ]
      ++ lib.optional (cfg.workerPackage != null) (lib.hiPrio cfg.workerPackage);

      home.file = homeFiles;

      # A lower priority than a plain definition: when programs.codex (or you) set CODEX_HOME
      # too, theirs stays and the placement reports a disagreement instead of Nix a conflict.
      home.sessionVariables = lib.mkIf (placement.codexHome != null) {
        CODEX_HOME = lib.mkDefault placement.codexHome;
      };
    })

    (lib.mkIf (cfg.enable && cfg.direnv.enable) {
      xdg.configFile."direnv/lib/ai-skills.sh".source = ../bin/use_skills.sh;
      home.sessionVariables.AI_SKILLS_PATH = "${placement.catalogFolder}";
    })
  ];
}
