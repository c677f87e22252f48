# home-manager for evaluating tests/nix/hm-check offline: the real home-manager modules and
# nixpkgs lib (tests/test_nix_flake.py copies the vendored ones to ./vendor, beside
# ../hm-eval.nix and ../hm-pkgs.nix), evaluated by hm-eval.nix. Only building is missing:
# `pkgs` is an inert stand-in and `activationPackage` a record with a made-up store path.
{
  description = "home-manager's real modules, for evaluating ai-skills checks offline";

  outputs =
    { self }:
    {
      lib.homeManagerConfiguration =
        { pkgs, modules }:
        let
          evaluated = import ./hm-eval.nix {
            homeManager = ./vendor/home-manager;
            nixpkgsLib = ./vendor/nixpkgs-lib/lib;
            aiSkills = builtins.head modules;
            modules = builtins.tail modules;
            inherit (pkgs.stdenv.hostPlatform) system;
          };
        in
        {
          inherit (evaluated) config;
          activationPackage = {
            type = "derivation";
            name = "home-manager-generation";
            outPath = "${builtins.storeDir}/00000000000000000000000000000000-home-manager-generation";
            drvPath = "${builtins.storeDir}/00000000000000000000000000000000-home-manager-generation.drv";
          };
        };
    };
}
