# An offline stand-in for the nixpkgs flake, just enough to evaluate this repository's
# flake.nix (`nix flake show`, `nix eval`) where GitHub is out of reach:
# tests/test_nix_flake.py copies it next to the vendored nixpkgs lib (the real one, as
# ./nixpkgs-lib) and passes it with `--override-input nixpkgs`. Packages are inert records
# with made-up store paths; nothing here can be built. `python-packages.json` (written by
# the test) lists the Python package names the stub must know.
{
  description = "offline nixpkgs stand-in for ai-skills tests";

  outputs =
    { self }:
    let
      # The real nixpkgs lib (tests/test_nix_flake.py copies the vendored one here).
      lib = import ./nixpkgs-lib/lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];

      fake = system: name: extra: {
        type = "derivation";
        inherit name system;
        outPath = "${builtins.storeDir}/00000000000000000000000000000000-${name}";
        drvPath = "${builtins.storeDir}/00000000000000000000000000000000-${name}.drv";
      } // extra;

      pkgsFor =
        system:
        let
          pkgs = {
            inherit lib;
            callPackage =
              fn: args:
              let
                f = if builtins.isFunction fn then fn else import fn;
                wanted = builtins.functionArgs f;
              in
              f (builtins.intersectAttrs wanted pkgs // args);
            python3Packages =
              builtins.listToAttrs (
                map (name: {
                  inherit name;
                  value = fake system "python3-${name}" { };
                }) (builtins.fromJSON (builtins.readFile ./python-packages.json))
              )
              // {
                buildPythonApplication =
                  args: fake system "${args.pname}-${args.version}" { inherit (args) meta; };
              };
            python3.withPackages = f: fake system "python3-env" { };
            # What pkgs/worker uses; mkDerivation keeps `src` so a test can see it.
            stdenv = {
              hostPlatform = { inherit system; };
              cc.cc.lib = fake system "gcc-lib" { };
              mkDerivation =
                args: fake system "${args.pname}-${args.version}" { inherit (args) meta src; };
            };
            fetchurl = args: fake system "fetchurl" { inherit (args) url hash; };
            python311 = fake system "python3-3.11" {
              pythonVersion = "3.11";
              interpreter = "${builtins.storeDir}/00000000000000000000000000000000-python3-3.11/bin/python3.11";
            };
            runCommand = name: env: script: fake system name { };
            mkShell = args: fake system "nix-shell" { };
          }
          // lib.genAttrs [
            "nix"
            "git"
            "direnv"
            "nixfmt"
            "ruff"
            "makeWrapper"
            "autoPatchelfHook"
            "coreutils"
          ] (name: fake system name { });
        in
        pkgs;
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs systems pkgsFor;
    };
}
