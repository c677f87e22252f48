# A stand-in for the few nixpkgs `lib` functions that modules/ai-skills.nix and flake.nix
# use, written with builtins only, because this machine and CI have no nixpkgs. Same names
# and meaning as nixpkgs' lib, but: option types are inert tags (no type checking), mkIf
# and mkMerge are markers that ./hm-harness.nix resolves, and `hm.dag.entryAfter` builds the
# record home-manager's DAG would. Real type checking is left to tests/nix/hm-check.
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    foldl'
    head
    isAttrs
    length
    listToAttrs
    map
    stringLength
    substring
    tail
    ;
  type = name: { inherit name; };
in
rec {
  inherit attrNames filter isAttrs head length concatStringsSep;

  any = builtins.any;
  all = builtins.all;
  hasInfix = infix: s: builtins.length (builtins.split (escapeRegex infix) s) > 1;
  escapeRegex = builtins.replaceStrings (stringToCharacters "\\[{()^$?*+|.") (
    map (c: "\\${c}") (stringToCharacters "\\[{()^$?*+|.")
  );

  unique = foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];

  mkOption = args: args // { _type = "option"; };
  mkEnableOption =
    name:
    mkOption {
      type = types.bool;
      default = false;
      example = true;
      description = "Whether to enable ${name}.";
    };
  mkIf = condition: content: {
    _type = "if";
    inherit condition content;
  };
  mkMerge = contents: {
    _type = "merge";
    inherit contents;
  };
  literalExpression = text: {
    _type = "literalExpression";
    inherit text;
  };

  types = {
    bool = type "bool";
    str = type "str";
    path = type "path";
    package = type "package";
    listOf = elem: type "listOf" // { inherit elem; };
    nullOr = elem: type "nullOr" // { inherit elem; };
  };

  nameValuePair = name: value: { inherit name value; };
  mapAttrs' = f: set: listToAttrs (map (name: f name set.${name}) (attrNames set));
  mapAttrsToList = f: set: map (name: f name set.${name}) (attrNames set);
  genAttrs =
    names: f:
    listToAttrs (
      map (name: {
        inherit name;
        value = f name;
      }) names
    );

  stringToCharacters = s: builtins.genList (i: substring i 1 s) (stringLength s);
  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
  removePrefix =
    prefix: s:
    if hasPrefix prefix s then substring (stringLength prefix) (stringLength s) s else s;
  concatStrings = concatStringsSep "";
  optionalString = cond: s: if cond then s else "";
  optionals = cond: list: if cond then list else [ ];
  optional = cond: x: if cond then [ x ] else [ ];
  hiPrio = drv: drv // { meta = (drv.meta or { }) // { priority = -10; }; };
  escapeShellArg =
    arg: "'" + concatStringsSep "'\\''" (filter builtins.isString (builtins.split "'" arg)) + "'";

  attrByPath =
    path: default: set:
    if path == [ ] then
      set
    else if isAttrs set && set ? ${head path} then
      attrByPath (tail path) default set.${head path}
    else
      default;
  hasAttrByPath =
    path: set:
    path == [ ]
    || (isAttrs set && set ? ${head path} && hasAttrByPath (tail path) set.${head path});

  hm.dag.entryAfter = after: data: {
    inherit after data;
    before = [ ];
  };
}
