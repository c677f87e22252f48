{
  description = "Agent skills for Claude Code, Codex and OpenCode, and the tools to deploy them";

  # nixpkgs is the only input consumers inherit. The check that builds a real
  # homeManagerConfiguration lives in its own flake (tests/nix/hm-check) so that
  # home-manager never lands in a consumer's lock file.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = lib.genAttrs systems;
      pkgsFor = system: nixpkgs.legacyPackages.${system};

      aiLib = import ./modules/lib.nix;
      workerPins = import ./pkgs/worker/pins.nix { };
      # `worker` from the pinned tarball in this checkout's releases/ (no download).
      workerFrom = pkgs: pkgs.callPackage ./pkgs/worker { releaseDir = ./releases; };

      app = package: program: {
        type = "app";
        program = "${package}/bin/${program}";
        meta.description = "${program} from ai-skills";
      };

      # Test tools shared by the dev shell and the checks.
      testPython =
        pkgs:
        pkgs.python3.withPackages (
          ps: import ./pkgs/ai-skills/python-dependencies.nix lib ps ++ [ ps.pytest ]
        );
    in
    {
      packages = forAllSystems (
        system:
        let
          ai-skills = (pkgsFor system).callPackage ./pkgs/ai-skills { };
        in
        {
          inherit ai-skills;
          default = ai-skills;
        }
        # Only where releases/worker.json has a tarball for the system.
        // lib.optionalAttrs (workerPins.supports system) { worker = workerFrom (pkgsFor system); }
      );

      apps = forAllSystems (
        system:
        let
          package = self.packages.${system}.ai-skills;
        in
        {
          default = app package "ai-skills";
          ai-skills = app package "ai-skills";
          use-skills = app package "use-skills";
        }
        # The pinned release, like packages.worker (the `worker` inside ai-skills is built from
        # source and is not what releases/ pins).
        // lib.optionalAttrs (workerPins.supports system) {
          worker = app self.packages.${system}.worker "worker";
        }
      );

      # `worker` only where releases/worker.json has a tarball (elsewhere it would throw when
      # used). Keyed on `prev`, so the overlay's attribute names do not depend on `final`.
      overlays.default =
        final: prev:
        {
          ai-skills = final.callPackage ./pkgs/ai-skills { };
        }
        // lib.optionalAttrs (workerPins.supports prev.stdenv.hostPlatform.system) {
          worker = workerFrom final;
        };

      homeManagerModules = {
        ai-skills = ./modules/ai-skills.nix;
        default = self.homeManagerModules.ai-skills;
      };
      # The name newer home-manager documentation uses for the same thing.
      homeModules = self.homeManagerModules;

      # The builtins-only selection library, plus the bundled catalog as data:
      # ai-skills.lib.skills.<name> = { path; description; }.
      lib = aiLib // {
        skills = aiLib.catalogData [ ./skills ];
      };

      checks = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
        in
        {
          package = self.packages.${system}.ai-skills;

          # The Nix tests that need no home-manager (lib vectors, parsing, Nix and Python
          # agreeing) as they run in CI, here against this nixpkgs' Nix. The module tests need
          # home-manager, so they run in tests/nix/hm-check (its `module-tests`); the
          # flake-evaluation test needs a writable store and is left to CI (`pytest -m nix`).
          nix-tests =
            pkgs.runCommand "ai-skills-nix-tests"
              {
                src = self;
                nativeBuildInputs = [
                  (testPython pkgs)
                  pkgs.nix
                ];
              }
              ''
                cp -r "$src" source && chmod -R u+w source && cd source
                export HOME="$TMPDIR/home" NIX_STATE_DIR="$TMPDIR/nix-state" NIX_CONF_DIR="$TMPDIR"
                export NIX_LOG_DIR="$TMPDIR/nix-log" CI=true PYTHONPATH="$PWD/src"
                python -m pytest -q -p no:cacheprovider tests/test_nix_lib.py \
                  tests/test_nix_parse.py tests/test_nix_python_agree.py
                touch "$out"
              '';

          # The Python twin of the lib vectors.
          python-vectors =
            pkgs.runCommand "ai-skills-python-vectors"
              {
                src = self;
                nativeBuildInputs = [ (testPython pkgs) ];
              }
              ''
                cp -r "$src" source && chmod -R u+w source && cd source
                export HOME="$TMPDIR/home" PYTHONPATH="$PWD/src"
                python -m pytest -q -p no:cacheprovider tests/test_vectors_global_selection.py
                touch "$out"
              '';
        }
        # Building it runs its install check (`worker --version`) on the pinned tarball.
        // lib.optionalAttrs (workerPins.supports system) { worker = self.packages.${system}.worker; }
      );

      devShells = forAllSystems (
        system:
        let
          pkgs = pkgsFor system;
        in
        {
          default = pkgs.mkShell {
            packages = [
              (testPython pkgs)
              pkgs.nix
              pkgs.git
              pkgs.direnv
              pkgs.nixfmt
              pkgs.ruff
            ];
          };
        }
      );

      formatter = forAllSystems (system: (pkgsFor system).nixfmt);
    };
}
