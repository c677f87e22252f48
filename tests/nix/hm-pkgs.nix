# An inert `pkgs` for evaluating home-manager modules without nixpkgs (tests/nix/hm-eval.nix).
# Every builder returns an attribute set shaped like a derivation, with a made-up store path
# that carries its name, and keeps its inputs (text, script, entries) so a test can look at
# what the module asked for. Nothing here builds anything.
{ lib, system }:
let
  fake =
    name: extra:
    {
      type = "derivation";
      inherit name system;
      outPath = "${builtins.storeDir}/00000000000000000000000000000000-${name}";
      drvPath = "${builtins.storeDir}/00000000000000000000000000000000-${name}.drv";
      meta = { };
    }
    // extra;
  format = _name: _settings: {
    type = lib.types.anything;
    generate = fileName: value: fake fileName { inherit value; };
  };
in
{
  inherit lib;
  stdenv.hostPlatform = {
    inherit system;
    isLinux = lib.hasSuffix "-linux" system;
    isDarwin = lib.hasSuffix "-darwin" system;
  };
  writeText = name: text: fake name { inherit text; };
  writeTextFile =
    args:
    fake args.name {
      inherit (args) text;
      destination = args.destination or "";
    };
  writeTextDir = path: text: fake (baseNameOf path) { inherit path text; };
  writeShellScript = name: text: fake name { inherit text; };
  replaceVars = file: vars: fake (baseNameOf (toString file)) { inherit vars; };
  runCommand = name: env: script: fake name { inherit env script; };
  runCommandLocal = name: env: script: fake name { inherit env script; };
  # The entry names go into the store path, so a test can see what a link farm holds.
  linkFarm =
    name: entries:
    fake "${name}-${lib.concatMapStringsSep "+" (e: e.name) entries}" { inherit entries; };
  callPackage =
    fn: _args: fake "${baseNameOf (toString fn)}-from-callPackage" { source = toString fn; };
  formats = lib.genAttrs [ "json" "toml" "yaml" "ini" ] format;
}
# Packages home-manager's own modules install by default (their `package` options).
// lib.genAttrs [
  "shared-mime-info"
  "claude-code"
  "codex"
  "opencode"
] (name: fake name { version = "99.0"; })
