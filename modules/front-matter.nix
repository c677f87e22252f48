# SKILL.md front matter, read the way the Python validator (PyYAML) reads it, in builtins
# only: a small YAML subset, enough to judge front matter. Part of ./lib.nix.
let
  inherit (builtins)
    concatStringsSep
    elem
    filter
    foldl'
    genList
    head
    isString
    length
    listToAttrs
    match
    split
    stringLength
    substring
    tail
    ;

  lines = text: map stripCR (filter isString (split "\n" text));

  stripCR =
    line:
    let
      n = stringLength line;
    in
    if n > 0 && substring (n - 1) 1 line == "\r" then substring 0 (n - 1) line else line;

  trim =
    s:
    let
      m = match "[[:space:]]*(.*[^[:space:]])?[[:space:]]*" s;
    in
    if m == null || head m == null then "" else head m;

  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;

  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];

  # A small YAML subset, enough to judge SKILL.md front matter the way the Python validator
  # (PyYAML) does: top-level `key: value` lines; plain, quoted and block (`|`, `>`) scalars;
  # indented continuation lines; nested lists and maps are recognised but kept as text.

  unquote =
    value:
    let
      double = match ''"(.*)"'' value;
      single = match "'(.*)'" value;
    in
    if double != null then
      head double
    else if single != null then
      concatStringsSep "'" (filter isString (split "''" (head single)))
    else
      value;

  isQuoted = value: hasPrefix "\"" value || hasPrefix "'" value;

  # A plain scalar without its trailing ` # comment`.
  stripComment =
    value:
    let
      m = match "(.*[^[:space:]])[[:space:]]+#.*" value;
    in
    if hasPrefix "#" value then
      ""
    else if m == null then
      value
    else
      head m;

  # Why YAML would refuse this unquoted text, or null.
  plainProblem =
    text:
    if match ".*:([[:space:]].*)?" text != null then
      "`${text}` holds `: `; put the value in quotes"
    else if match "[@`%].*" text != null then
      "`${text}` starts with a character YAML reserves; put the value in quotes"
    else
      null;

  isListItem = line: line == "-" || hasPrefix "- " line;
  isMapItem = line: match "[^[:space:]#-][^:]*:([[:space:]].*)?" line != null;

  hasComment = line: hasPrefix "#" line || match ".*[[:space:]]#.*" line != null;

  # Anchors (`&a`) and tags (`!t`) in front of a value say nothing about its text.
  dropProperties =
    value:
    let
      m = match "[&!][^[:space:]]*([[:space:]]+(.*))?" value;
    in
    if m == null then
      value
    else if builtins.elemAt m 1 == null then
      ""
    else
      dropProperties (builtins.elemAt m 1);

  # A quoted scalar, possibly spread over lines, with an optional trailing comment.
  quotedValue =
    key: parts:
    let
      closedOnFirstLine = quotedMatch (head parts) != null;
      content = filter (l: !(hasPrefix "#" l)) (tail parts);
      m = quotedMatch (concatStringsSep " " parts);
    in
    if closedOnFirstLine && content != [ ] then
      { error = "`${key}`: text follows a quoted value"; }
    else if m == null then
      { error = "`${key}`: a quoted value must end with its closing quote"; }
    else
      {
        kind = "string";
        text = unquote (head m);
      };

  quotedMatch =
    text:
    match ''(("([^"\\]|\\.)*")|('([^']|''')*'))([[:space:]]+#.*)?'' text;

  # A plain scalar over one or more lines; a comment ends it.
  plainValue =
    key: parts:
    let
      count = length parts;
      part = builtins.elemAt parts;
      textUpTo = i: builtins.any (j: stripComment (part j) != "") (genList (j: j) (i + 1));
      # The first comment that follows some text ends the value.
      ending = filter (i: hasComment (part i) && textUpTo i) (genList (i: i) count);
      afterComment =
        if ending == [ ] then
          [ ]
        else
          filter (l: !(hasPrefix "#" l)) (
            genList (i: part (i + head ending + 1)) (count - head ending - 1)
          );
      texts = filter (p: p != "") (map stripComment parts);
      first = stripComment (head parts);
      problems = filter (p: p != null) (map plainProblem texts);
    in
    if first == "-" || hasPrefix "- " first then
      { error = "`${key}`: `${first}` starts a list where a text value belongs"; }
    else if afterComment != [ ] then
      { error = "`${key}`: text continues after a comment"; }
    else if problems != [ ] then
      { error = "`${key}`: ${head problems}"; }
    else
      {
        kind = "string";
        text = concatStringsSep " " texts;
      };

  # One top-level entry as { kind = "string" | "list" | "map"; text; } or { error; }.
  entryValue =
    entry:
    let
      value = dropProperties (trim entry.first);
      # `key: # note` followed by indented lines: the value starts on the next line.
      first = if hasPrefix "#" value then "" else value;
      rest = map trim (filter (l: trim l != "") entry.rest);
      block = match "([|>])[-+0-9]*([[:space:]]+#.*)?" first;
      content = filter (l: !(hasPrefix "#" l)) rest;
      nestedList = first == "" && content != [ ] && isListItem (head content);
      nestedMap = first == "" && content != [ ] && isMapItem (head content);
      indentOf = line: stringLength (head (match "( *).*" line));
      # A block scalar's lines; a less indented comment ends the block, other text may not.
      blockAll = filter (l: trim l != "") entry.rest;
      blockBase = indentOf (head blockAll);
      blockLines = filter (l: indentOf l >= blockBase) blockAll;
      blockIndented =
        blockAll == [ ]
        || builtins.all (l: indentOf l >= blockBase || hasPrefix "#" (trim l)) blockAll;
      closedFlow = match "(\\[.*]|\\{.*})([[:space:]]+#.*)?" first != null;
      # A nested list or map: every line as deep as its first line is another item, and no
      # line is less deep.
      nestedLines = filter (l: trim l != "" && !(hasPrefix "#" (trim l))) entry.rest;
      nestedWellFormed =
        isItem:
        let
          base = indentOf (head nestedLines);
        in
        builtins.all (
          l: indentOf l > base || (indentOf l == base && isItem (trim l))
        ) nestedLines;
    in
    if hasPrefix "*" first then
      { error = "`${entry.key}`: aliases (`*name`) are not supported"; }
    else if block != null && !blockIndented then
      { error = "`${entry.key}`: a line of the block is indented less than its first line"; }
    else if block != null then
      {
        kind = "string";
        text = concatStringsSep (if head block == "|" then "\n" else " ") (map trim blockLines);
      }
    else if nestedList && !(nestedWellFormed isListItem) then
      { error = "`${entry.key}`: a line in the list is not a `- ` item"; }
    else if nestedMap && !(nestedWellFormed isMapItem) then
      { error = "`${entry.key}`: a line in the map is not a `key: value` entry"; }
    else if nestedList then
      {
        kind = "list";
        text = concatStringsSep " " content;
      }
    else if nestedMap then
      {
        kind = "map";
        text = concatStringsSep " " content;
      }
    else if closedFlow && content != [ ] then
      { error = "`${entry.key}`: text follows a closed `[...]` or `{...}` value"; }
    else if hasPrefix "[" first || hasPrefix "{" first then
      {
        kind = if hasPrefix "[" first then "list" else "map";
        text = concatStringsSep " " ([ first ] ++ rest);
      }
    else if isQuoted first then
      quotedValue entry.key ([ first ] ++ rest)
    else
      plainValue entry.key ([ first ] ++ rest);

  isFence = line: match "---[[:space:]]*" line != null;

  # The `---` block at the top of a SKILL.md as
  #   { fields = { <key> = "<text>"; }; kinds = { <key> = "string" | "list" | "map"; };
  #     duplicates = [ <key> ]; }      (a repeated key keeps its first value)
  # or { error = "<reason>"; }.
  parseFrontMatter =
    text:
    let
      all = lines text;
      count = length all;
      closing = filter (i: isFence (builtins.elemAt all i)) (genList (i: i + 1) (count - 1));
      body = genList (i: builtins.elemAt all (i + 1)) (head closing - 1);
      step =
        acc: line:
        if acc ? error then
          acc
        else if hasPrefix "\t" line then
          acc // { error = "a tab indents a line; YAML only allows spaces"; }
        else if trim line == "" || hasPrefix "#" line then
          acc
        else if hasPrefix " " line then
          if acc.current == null then
            acc // { error = "an indented line comes before any key"; }
          else
            acc // { current = acc.current // { rest = acc.current.rest ++ [ line ]; }; }
        else
          let
            kv = match "([A-Za-z0-9_.-]+):([[:space:]].*)?" line;
          in
          if kv == null then
            acc // { error = "front matter line `${line}` is not `key: value`"; }
          else
            {
              done = acc.done ++ (if acc.current == null then [ ] else [ acc.current ]);
              current = {
                key = head kv;
                first = if builtins.elemAt kv 1 == null then "" else builtins.elemAt kv 1;
                rest = [ ];
              };
            };
      parsed = foldl' step {
        done = [ ];
        current = null;
      } body;
      entries = parsed.done ++ (if parsed.current == null then [ ] else [ parsed.current ]);
      keys = map (e: e.key) entries;
      duplicates = unique (filter (k: length (filter (x: x == k) keys) > 1) keys);
      values = map (e: entryValue e // { inherit (e) key; }) entries;
      broken = filter (v: v ? error) values;
      byKey =
        attr:
        listToAttrs (
          map (v: {
            name = v.key;
            value = v.${attr};
          }) values
        );
    in
    if count == 0 || !(isFence (head all)) then
      { error = "does not start with a `---` front matter block"; }
    else if closing == [ ] then
      { error = "its front matter is not closed by a `---` line"; }
    else if parsed ? error then
      { inherit (parsed) error; }
    else if broken != [ ] then
      { inherit (head broken) error; }
    else
      {
        fields = byKey "text";
        kinds = byKey "kind";
        inherit duplicates;
      };
in
{
  inherit parseFrontMatter trim hasPrefix;
}
