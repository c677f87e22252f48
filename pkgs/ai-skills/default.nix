# The ai-skills Python application (`ai-skills`, `use-skills`, `worker`) built from this
# repository's src/ with hatchling. Name, version, description and runtime dependencies
# come from pyproject.toml, so there is one place to change them.
{
  lib,
  python3Packages,
}:
let
  pyproject = lib.importTOML ../../pyproject.toml;

  # "pydantic>=2.6" -> python3Packages.pydantic
  requirementName = spec: lib.toLower (builtins.head (builtins.match "([A-Za-z0-9_.-]+).*" spec));
  pythonPackage =
    spec:
    let
      name = requirementName spec;
    in
    python3Packages.${name}
      or (throw "pkgs/ai-skills: python3Packages has no '${name}' (needed by pyproject.toml)");
in
python3Packages.buildPythonApplication {
  pname = pyproject.project.name;
  inherit (pyproject.project) version;
  pyproject = true;

  src = lib.fileset.toSource {
    root = ../..;
    fileset = lib.fileset.unions [
      ../../pyproject.toml
      ../../README.md
      ../../src
      # Bundled into the wheel as ai_skills/bundled_skills (see pyproject.toml).
      (lib.fileset.maybeMissing ../../skills)
    ];
  };

  build-system = [ python3Packages.hatchling ];
  dependencies = map pythonPackage pyproject.project.dependencies;

  pythonImportsCheck = [ "ai_skills" ];

  meta = {
    inherit (pyproject.project) description;
    license = lib.licenses.mit;
    mainProgram = "ai-skills";
    platforms = lib.platforms.unix;
  };
}
