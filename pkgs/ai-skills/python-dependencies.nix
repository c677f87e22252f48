# The runtime dependencies named in pyproject.toml, picked from a Python package set:
# "pydantic>=2.6" -> ps.pydantic. Shared by the package and the flake's test environment.
lib: ps:
let
  pyproject = lib.importTOML ../../pyproject.toml;
  pick =
    spec:
    let
      name = lib.toLower (builtins.head (builtins.match "([A-Za-z0-9_.-]+).*" spec));
    in
    ps.${name} or (throw "ai-skills: the Python package set has no '${name}' (pyproject.toml)");
in
map pick pyproject.project.dependencies
