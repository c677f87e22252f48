# modules/ai-skills.nix evaluated inside home-manager's real module system: the real nixpkgs
# `lib`, home-manager's real files.nix, home-environment.nix, xdg, launchd and its
# claude-code, codex and opencode modules, so that targets, collisions, session variables,
# activation order and assertions are decided by home-manager's own code. Only `pkgs` is a
# stand-in (./hm-pkgs.nix: inert derivations), with two small modules nixpkgs would bring.
#
#   homeManager: a home-manager source tree (the vendored copy or the flake input)
#   nixpkgsLib:  nixpkgs' lib/ folder
#   modules:     the configuration under test
{
  homeManager,
  nixpkgsLib,
  modules ? [ ],
  homeDirectory ? "/home/ada",
  system ? "x86_64-linux",
  # Where the module comes from: this checkout, or a flake's homeManagerModules.default.
  aiSkills ? ../../modules/ai-skills.nix,
}:
let
  lib = import "${toString homeManager}/modules/lib/stdlib-extended.nix" (import nixpkgsLib);
  pkgs = import ./hm-pkgs.nix { inherit lib system; };
  hm = "${toString homeManager}/modules";

  # What nixpkgs' nixos/modules/misc/{assertions,meta}.nix declare (home-manager imports
  # them from a nixpkgs checkout), and options other home-manager modules write to that
  # the modules under test never read.
  nixpkgsStandIns =
    { lib, ... }:
    let
      unread = lib.mkOption {
        type = lib.types.attrsOf lib.types.anything;
        default = { };
      };
    in
    {
      options = {
        assertions = lib.mkOption {
          type = lib.types.listOf lib.types.unspecified;
          default = [ ];
        };
        warnings = lib.mkOption {
          type = lib.types.listOf lib.types.str;
          default = [ ];
        };
        meta = lib.mkOption {
          type = lib.types.attrsOf lib.types.anything;
          default = { };
        };
        systemd = unread;
        programs = lib.genAttrs [ "bash" "zsh" "fish" "nushell" ] (_: unread);
      };
      config = {
        _module.args.pkgs = pkgs;
        home.username = lib.mkDefault "ada";
        home.homeDirectory = lib.mkDefault homeDirectory;
        home.stateVersion = lib.mkDefault "25.05";
      };
    };

  evaluated = lib.evalModules {
    class = "homeManager";
    specialArgs.modulesPath = hm;
    modules = [
      nixpkgsStandIns
      "${hm}/files.nix"
      "${hm}/home-environment.nix"
      "${hm}/misc/xdg/default.nix"
      "${hm}/misc/lib.nix"
      "${hm}/misc/version.nix"
      "${hm}/misc/submodule-support.nix"
      "${hm}/launchd"
      "${hm}/programs/claude-code"
      "${hm}/programs/codex"
      "${hm}/programs/opencode.nix"
      aiSkills
    ]
    ++ modules;
  };
  inherit (evaluated) config options;

  sourceText = source: if source ? outPath then source.outPath else toString source;

  result = {
    inherit config options lib pkgs;

    # Every enabled home.file entry as home-manager's files.nix sees it, by target.
    files = lib.listToAttrs (
      map (file: {
        name = file.target;
        value = {
          source = sourceText file.source;
          inherit (file) recursive;
        };
      }) (lib.filter (file: file.enable) (lib.attrValues config.home.file))
    );
    # Where each activation step runs; the script text only for ours (home-manager's own steps
    # need more of nixpkgs than the stand-in offers).
    activation = lib.mapAttrs (
      name: entry:
      {
        inherit (entry) after before;
      }
      // lib.optionalAttrs (lib.hasPrefix "aiSkills" name) { inherit (entry) data; }
    ) config.home.activation;
    sessionVariables = lib.mapAttrs (_: toString) config.home.sessionVariables;
    packages = map (p: p.name) config.home.packages;
    failedAssertions = map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);
    inherit (config) warnings;

    summary = {
      inherit (result)
        files
        activation
        sessionVariables
        packages
        failedAssertions
        warnings
        ;
    };
  };
in
result
