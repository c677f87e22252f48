# Builds real homeManagerConfigurations with the ai-skills module, for machines that can
# fetch nixpkgs and home-manager. It is a separate flake so that home-manager never becomes
# an input of the ai-skills flake that consumers lock.
#
#   nix flake check ./tests/nix/hm-check --override-input ai-skills "path:$PWD"
#
# (run from the repository root; the override pins the checkout under test). Its inputs are
# also where the module tests find home-manager when AI_SKILLS_HM_VENDOR is not set
# (`lib.testInputs`, read by tests/hm_helpers.py).
{
  description = "home-manager checks for the ai-skills module";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    home-manager = {
      url = "github:nix-community/home-manager";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    ai-skills = {
      url = "path:../../..";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      nixpkgs,
      home-manager,
      ai-skills,
      ...
    }:
    let
      inherit (nixpkgs) lib;
      forAllSystems = lib.genAttrs [
        "x86_64-linux"
        "aarch64-linux"
      ];

      home =
        pkgs: settings: extra:
        home-manager.lib.homeManagerConfiguration {
          inherit pkgs;
          modules = [
            ai-skills.homeManagerModules.default
            {
              home.username = "ada";
              home.homeDirectory = "/home/ada";
              home.stateVersion = "24.11";
              services.ai-skills = settings;
            }
            extra
          ];
        };

      failedAssertions =
        configuration:
        map (a: a.message) (lib.filter (a: !a.assertion) configuration.config.assertions);
    in
    {
      # Where tests/hm_helpers.py finds home-manager and the nixpkgs lib when it may fetch.
      lib.testInputs = {
        home-manager = "${home-manager}";
        nixpkgs-lib = "${nixpkgs}/lib";
      };

      checks = forAllSystems (
        system:
        let
          pkgs = nixpkgs.legacyPackages.${system};

          deployed = home pkgs {
            enable = true;
            skills = [
              "review-gate"
              "team-notes"
            ];
            agents.opencode.skills = [ "team-notes" ];
            extraSkillDirs = [ ./extra-skills ];
            direnv.enable = true;
          } { };

          outsideHome = home pkgs {
            enable = true;
            skills = [ "review-gate" ];
            agents.claude.enable = false;
            agents.opencode.enable = false;
            codexHome = "/srv/codex/ada";
          } { };

          # programs.codex with XDG folders moves CODEX_HOME; the skills follow it.
          xdg = home pkgs { enable = true; skills = [ "review-gate" ]; } {
            home.preferXdgDirectories = true;
            programs.codex.enable = true;
          };

          broken = home pkgs {
            enable = true;
            agents.claude.skills = [
              "reveiw-gate"
              "Not_A_Name"
            ];
          } { };

          expectedFailures = [
            "services.ai-skills.agents.claude.skills: unknown skill 'reveiw-gate'"
            "services.ai-skills.agents.claude.skills: invalid skill name 'Not_A_Name'"
          ];
          brokenMessages = failedAssertions broken;
          startsWithOneOf =
            message: lib.any (prefix: lib.hasPrefix prefix message) expectedFailures;
        in
        {
          # Real home-manager builds the files: one directory link per skill per agent.
          deployed =
            assert lib.hasPrefix "${builtins.storeDir}/" (
              deployed.config.home.sessionVariables.AI_SKILLS_PATH
            );
            pkgs.runCommand "ai-skills-hm-deployed"
              { files = "${deployed.activationPackage}/home-files"; }
              ''
                for skill in review-gate team-notes; do
                  test -f "$files/.claude/skills/$skill/SKILL.md"
                  test -f "$files/.codex/skills/$skill/SKILL.md"
                done
                test -f "$files/.config/opencode/skills/team-notes/SKILL.md"
                test ! -e "$files/.config/opencode/skills/review-gate"
                test -f "$files/.config/direnv/lib/ai-skills.sh"
                touch "$out"
              '';

          # A CODEX_HOME outside $HOME gets an activation step and the variable.
          codex-outside-home =
            assert outsideHome.config.home.sessionVariables.CODEX_HOME == "/srv/codex/ada";
            assert lib.hasInfix "/srv/codex/ada/skills/review-gate" (
              outsideHome.config.home.activation.aiSkillsDeploy.data
            );
            outsideHome.activationPackage;

          follows-home-manager =
            assert xdg.config.home.sessionVariables.CODEX_HOME == "/home/ada/.config/codex";
            pkgs.runCommand "ai-skills-hm-follows"
              { files = "${xdg.activationPackage}/home-files"; }
              ''
                test -f "$files/.config/codex/skills/review-gate/SKILL.md"
                test ! -e "$files/.codex/skills/review-gate"
                touch "$out"
              '';

          # The module tests of `pytest -m nix`, against these inputs instead of the vendored
          # home-manager and nixpkgs lib CI uses.
          module-tests =
            pkgs.runCommand "ai-skills-module-tests"
              {
                src = ai-skills;
                nativeBuildInputs = [
                  (pkgs.python3.withPackages (
                    ps:
                    import "${ai-skills}/pkgs/ai-skills/python-dependencies.nix" lib ps
                    ++ [ ps.pytest ]
                  ))
                  pkgs.nix
                ];
              }
              ''
                cp -r "$src" source && chmod -R u+w source && cd source
                mkdir -p vendor/nixpkgs-lib
                ln -s ${home-manager} vendor/home-manager
                ln -s ${nixpkgs}/lib vendor/nixpkgs-lib/lib
                export HOME="$TMPDIR/home" NIX_STATE_DIR="$TMPDIR/nix-state" NIX_CONF_DIR="$TMPDIR"
                export NIX_LOG_DIR="$TMPDIR/nix-log" CI=true PYTHONPATH="$PWD/src"
                export AI_SKILLS_HM_VENDOR="$PWD/vendor"
                python -m pytest -q -p no:cacheprovider tests/test_nix_module.py \
                  tests/test_nix_module_follow_hm.py tests/test_nix_module_inputs.py \
                  tests/test_nix_module_activation.py
                touch "$out"
              '';

          # Misuse is caught by assertions with the expected messages.
          assertions =
            assert lib.length brokenMessages == 2;
            assert lib.all startsWithOneOf brokenMessages;
            pkgs.runCommand "ai-skills-hm-assertions" { } "touch $out";
        }
      );
    };
}
