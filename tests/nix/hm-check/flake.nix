# Builds real homeManagerConfigurations with the ai-skills module, for machines that can
# fetch nixpkgs and home-manager. It is a separate flake so that home-manager never becomes
# an input of the ai-skills flake that consumers lock.
#
#   nix flake check ./tests/nix/hm-check --override-input ai-skills "path:$PWD"
#
# (run from the repository root; the override pins the checkout under test).
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
            opencodeSkills = [ "team-notes" ];
            extraSkillDirs = [ ./extra-skills ];
            direnv.enable = true;
          } { };

          outsideHome = home pkgs {
            enable = true;
            codexSkills = [ "review-gate" ];
            codexHome = "/srv/codex/ada";
          } { };

          broken = home pkgs {
            enable = true;
            claudeSkills = [
              "reveiw-gate"
              "Not_A_Name"
            ];
          } { };

          expectedFailures = [
            "services.ai-skills.claudeSkills: unknown skill 'reveiw-gate'"
            "services.ai-skills.claudeSkills: invalid skill name 'Not_A_Name'"
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
            assert lib.hasInfix "/srv/codex/ada/skills" (
              outsideHome.config.home.activation.aiSkillsCodex.data
            );
            outsideHome.activationPackage;

          # Misuse is caught by assertions with the expected messages.
          assertions =
            assert lib.length brokenMessages == 2;
            assert lib.all startsWithOneOf brokenMessages;
            pkgs.runCommand "ai-skills-hm-assertions" { } "touch $out";
        }
      );
    };
}
