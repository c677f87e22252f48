# Runs modules/lib.nix over one vector of tests/vectors/global_selection, whose catalog
# folders the caller has already written under `root` (see tests/global_selection_vectors.py).
# Result: { links = { "<target>" = "<label>/<skill>"; }; errors = [ { kind, skill, agent } ]; }
{ vectorFile, root }:
let
  aiLib = import ../../modules/lib.nix;
  vector = builtins.fromJSON (builtins.readFile vectorFile);
  prefix = "${root}/";
  label =
    source:
    let
      s = toString source;
      n = builtins.stringLength prefix;
    in
    if builtins.substring 0 n s == prefix then
      builtins.substring n (-1) s
    else
      throw "link source ${s} is outside ${root}";
  result = aiLib.selectGlobal {
    catalogDirs = map (entry: "${root}/${entry.label}") vector.catalog;
    inherit (vector) selection env cwd;
  };
in
{
  links = builtins.mapAttrs (_target: label) result.links;
  errors = map (e: {
    inherit (e) kind skill agent;
    hasMessage = builtins.isString e.message && e.message != "";
  }) result.errors;
}
