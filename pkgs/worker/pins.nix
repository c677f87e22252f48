# The worker release pins, read from releases/worker.json with builtins only (tested with
# nix-instantiate, no nixpkgs). `ai-skills release worker` writes that file; nothing else
# should. For one system and version (default: the sidecar's `latest`) it gives the file
# name, SRI hash, download URL and supported CPython versions, and `localSrc`: the
# tarball from a releases folder, which Nix only accepts if it still has the pinned hash.
{
  sidecar ? ../../releases/worker.json,
}:
let
  pins = builtins.fromJSON (builtins.readFile sidecar);
  latest = pins.latest;
in
rec {
  inherit latest;
  versions = builtins.attrNames pins.releases;

  # The systems with a tarball for `version`.
  systemsOf = version: builtins.attrNames (release version).systems;
  supports = system: builtins.elem system (systemsOf latest);

  release =
    version:
    pins.releases.${version}
      or (throw "worker: version ${version} is not in releases/worker.json (known: ${builtins.concatStringsSep ", " versions})");

  pin =
    {
      system,
      version ? latest,
      releaseDir ? null,
    }:
    let
      entry = release version;
      forSystem =
        entry.systems.${system}
          or (throw "worker ${version}: no release tarball for ${system} (only ${builtins.concatStringsSep ", " (systemsOf version)}); run `ai-skills release worker --system ${system}` or use the ai-skills package's worker");
    in
    {
      inherit version system;
      inherit (forSystem) file sha256 url;
      inherit (entry) python commit;
      localSrc =
        if releaseDir == null then
          null
        else
          builtins.path {
            path = releaseDir + "/${forSystem.file}";
            name = forSystem.file;
            recursive = false;
            inherit (forSystem) sha256;
          };
    };
}
