# `worker` from a release tarball in releases/, pinned by the SRI hash in
# releases/worker.json (see docs/releasing-worker.md). The tarball bundles the Python
# packages `worker` needs, compiled ones for one CPython version, so this package runs it
# with exactly that Python and checks `worker --version` after installing.
{
  lib,
  stdenv,
  fetchurl,
  makeWrapper,
  autoPatchelfHook,
  coreutils,
  python311,
  # A released version from the sidecar; null means its `latest`.
  version ? null,
  # A folder holding the tarball (the flake passes this repository's releases/); the file
  # is still checked against the pinned hash. null means download it.
  releaseDir ? null,
  # Download URL instead of the pinned one (a mirror, or file:///...); hash still pinned.
  url ? null,
}:
let
  pins = import ./pins.nix { };
  pin = pins.pin {
    inherit (stdenv.hostPlatform) system;
    version = if version == null then pins.latest else version;
    inherit releaseDir;
  };
  python = python311;
in
# The bundled compiled modules load only in the CPython version they were built for.
assert
  builtins.elem python.pythonVersion pin.python
  || throw "worker ${pin.version}: the tarball supports CPython ${builtins.concatStringsSep ", " pin.python}, not ${python.pythonVersion}";
stdenv.mkDerivation {
  pname = "worker";
  inherit (pin) version;

  src =
    if pin.localSrc != null then
      pin.localSrc
    else
      fetchurl {
        url = if url == null then pin.url else url;
        hash = pin.sha256;
      };

  nativeBuildInputs = [
    makeWrapper
    autoPatchelfHook
  ];
  # pydantic_core's extension module links libgcc_s.
  buildInputs = [ stdenv.cc.cc.lib ];

  dontConfigure = true;
  dontBuild = true;
  # The bundled wheels' files stay byte for byte as released.
  dontStrip = true;

  installPhase = ''
    runHook preInstall
    mkdir -p "$out/share/worker" "$out/bin"
    cp -r . "$out/share/worker/"
    ${python.interpreter} -m compileall -q "$out/share/worker/lib"
    # The launcher needs dirname/readlink; suffix, so the agents' PATH order is unchanged.
    makeWrapper "$out/share/worker/bin/worker" "$out/bin/worker" \
      --set WORKER_PYTHON ${python.interpreter} \
      --suffix PATH : ${lib.makeBinPath [ coreutils ]}
    runHook postInstall
  '';

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    actual=$("$out/bin/worker" --version)
    if [ "$actual" != "worker ${pin.version}" ]; then
      echo "worker --version printed '$actual', expected 'worker ${pin.version}'" >&2
      exit 1
    fi
    runHook postInstallCheck
  '';

  passthru = { inherit (pin) file sha256 commit; };

  meta = {
    description = "Run coding agents on tasks in their own git worktrees (ai-skills release)";
    license = lib.licenses.mit;
    mainProgram = "worker";
    platforms = pins.systemsOf pin.version;
    sourceProvenance = [
      lib.sourceTypes.fromSource
      lib.sourceTypes.binaryNativeCode
    ];
  };
}
