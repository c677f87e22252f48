# The ai-skills Python application (`ai-skills`, `use-skills`, `worker`) built from this
# repository's src/ with hatchling. Name, version, description and runtime dependencies
# come from pyproject.toml, so there is one place to change them.
{
  lib,
  python3Packages,
}:
let
  pyproject = lib.importTOML ../../pyproject.toml;
in
python3Packages.buildPythonApplication {
  pname = pyproject.project.name;
  inherit (pyproject.project) version;
  pyproject = true;

  src = lib.fileset.toSource {
    root = ../..;
    fileset = import ./source.nix lib;
  };

  build-system = [ python3Packages.hatchling ];
  dependencies = import ./python-dependencies.nix lib python3Packages;
  # pyproject.toml keeps typer below 0.29 for start-up speed only; any typer the package set
  # has works, so its version check must not fail the build.
  pythonRelaxDeps = [ "typer" ];

  pythonImportsCheck = [ "ai_skills" ];

  meta = {
    inherit (pyproject.project) description;
    license = lib.licenses.mit;
    mainProgram = "ai-skills";
    platforms = lib.platforms.unix;
  };
}
