# A minimal home-manager stand-in for evaluating modules/ai-skills.nix without nixpkgs:
#   - ./lib-shim.nix instead of nixpkgs' lib (plus `lib.hm.dag.entryAfter`);
#   - option defaults filled in from the module's own `options` (no types, no priorities:
#     a value in `config` replaces the default, as a plain definition would);
#   - home-manager's `home.homeDirectory`, `xdg.configHome` and `xdg.stateHome`;
#   - the module's `config` merged like the module system does for what this module
#     writes: mkIf/mkMerge resolved, attribute sets merged, lists concatenated, and two
#     different values for one attribute (e.g. two `source`s of one home.file) an error;
#   - `options.programs.<name>.skills` present only for the names in `hmProgramsWithSkills`,
#     like a home-manager release that has those options;
#   - pkgs with `linkFarm`, `writeText` and `callPackage` that return inert records with
#     made-up store paths (nothing is built), and `stdenv.hostPlatform.system` (`system`).
# What it does not do: type checking, option docs, home.file's own collision check, running
# activation. tests/nix/hm-check/flake.nix covers those with the real home-manager.
{
  config ? { },
  homeDirectory ? "/home/ada",
  hmProgramsWithSkills ? [ ],
  system ? "x86_64-linux",
  # Where the module comes from: this checkout, or a flake's homeManagerModules.default.
  module ? ../../modules/ai-skills.nix,
}:
let
  lib = import ./lib-shim.nix;

  fakeDrv = name: extra: {
    type = "derivation";
    inherit name;
    outPath = "${builtins.storeDir}/00000000000000000000000000000000-${name}";
  } // extra;
  pkgs = {
    # The entry names go into the fake store path, so a test can see what a link farm holds.
    linkFarm =
      name: entries:
      fakeDrv "${name}-${builtins.concatStringsSep "+" (map (e: e.name) entries)}" { };
    writeText = name: text: fakeDrv name { inherit text; };
    callPackage = fn: _args: fakeDrv "${baseNameOf (toString fn)}-from-callPackage" { source = toString fn; };
    stdenv.hostPlatform = { inherit system; };
  };

  options = {
    programs = lib.genAttrs hmProgramsWithSkills (_: {
      enable = lib.mkOption { default = false; };
      skills = lib.mkOption { default = { }; };
    });
  };

  withDefaults =
    declared: given:
    builtins.mapAttrs (
      name: decl:
      if decl._type or null == "option" then
        (if given ? ${name} then given.${name} else decl.default)
      else
        withDefaults decl (given.${name} or { })
    ) declared;

  finalConfig = {
    services.ai-skills = withDefaults evaluated.options.services.ai-skills (
      config.services.ai-skills or { }
    );
    home.homeDirectory = homeDirectory;
    xdg.configHome = "${homeDirectory}/.config";
    xdg.stateHome = "${homeDirectory}/.local/state";
    programs = config.programs or { };
  };

  evaluated = import module {
    inherit lib pkgs options;
    config = finalConfig;
  };

  # The definitions a value stands for once mkIf/mkMerge are resolved.
  definitions =
    value:
    if value._type or null == "if" then
      (if value.condition then definitions value.content else [ ])
    else if value._type or null == "merge" then
      builtins.concatMap definitions value.contents
    else
      [ value ];

  isPlainSet = v: builtins.isAttrs v && !(v ? outPath) && !(v ? _type);

  merge =
    path: defs:
    let
      ds = builtins.concatMap definitions defs;
      names = builtins.attrNames (builtins.foldl' (acc: d: acc // d) { } ds);
      first = builtins.head ds;
    in
    if builtins.all isPlainSet ds then
      builtins.listToAttrs (
        map (name: {
          inherit name;
          value = merge (path ++ [ name ]) (
            builtins.concatMap (d: if d ? ${name} then [ d.${name} ] else [ ]) ds
          );
        }) names
      )
    else if builtins.all builtins.isList ds then
      builtins.concatLists ds
    else if builtins.all (d: d == first) ds then
      first
    else
      throw "conflicting definitions for ${builtins.concatStringsSep "." path}";

  merged = merge [ ] [ evaluated.config ];
  at = path: lib.attrByPath path { } merged;
  sources = builtins.mapAttrs (_: file: toString file.source);
in
{
  homeFiles = sources (at [ "home" "file" ]);
  xdgConfigFiles = sources (at [ "xdg" "configFile" ]);
  activation = at [ "home" "activation" ];
  sessionVariables = at [ "home" "sessionVariables" ];
  packages = map (p: p.name) (lib.attrByPath [ "home" "packages" ] [ ] merged);
  failedAssertions = map (a: a.message) (
    builtins.filter (a: !a.assertion) (lib.attrByPath [ "assertions" ] [ ] merged)
  );
  optionNames = builtins.attrNames evaluated.options.services.ai-skills;
  # The merged definitions, shaped like home-manager's `config` for what the module sets.
  config = merged // {
    assertions = merged.assertions or [ ];
  };
}
