# An offline stand-in for the home-manager flake, so that tests/nix/hm-check can be
# evaluated (not built) where GitHub is out of reach. tests/test_nix_flake.py copies it
# next to ../hm-harness.nix and ../lib-shim.nix. `homeManagerConfiguration` evaluates the
# first module (the ai-skills module) with the harness, taking the settings from the
# plain attribute-set modules after it; its activationPackage is an inert record.
{
  description = "offline home-manager stand-in for ai-skills tests";

  outputs =
    { self }:
    {
      lib.homeManagerConfiguration =
        { pkgs, modules }:
        let
          settings = builtins.foldl' (acc: m: acc // m) { } (builtins.tail modules);
          evaluated = import ./hm-harness.nix {
            module = builtins.head modules;
            config = removeAttrs settings [ "home" ];
            homeDirectory = settings.home.homeDirectory;
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
