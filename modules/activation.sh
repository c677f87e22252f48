# shellcheck shell=bash
# The skills home-manager's `home.file` cannot place: links in a folder outside $HOME (a
# CODEX_HOME elsewhere) and copies for agents that do not follow symlinks. modules/ai-skills.nix
# puts this file into two activation steps and calls
#
#   aiSkillsSync remove|deploy RECORD [KIND PATH SOURCE]...
#
# with KIND `link` or `copy`, PATH absolute and SOURCE a folder in the Nix store. RECORD lists,
# one `KIND<TAB>PATH<TAB>SOURCE` per line, what an earlier run made. Only a path whose record
# line still matches what is on disk (the link points at SOURCE; the copy has SOURCE's
# content) is ever replaced or removed; anything else is the user's, and is reported and left
# alone. `remove` (before home-manager checks its own links) takes away what is no longer
# wanted; `deploy` (after home-manager's links) makes the rest. home-manager's `run`,
# `warnEcho`, `verboseEcho` and DRY_RUN apply.

aiSkillsSync() {
  local phase=$1 record=$2
  shift 2
  local -A wantKind=() wantSource=() oldKind=() oldSource=()
  local -a order=()
  while (($# >= 3)); do
    wantKind[$2]=$1
    wantSource[$2]=$3
    order+=("$2")
    shift 3
  done
  local kind path source
  if [[ -f $record ]]; then
    while IFS=$'\t' read -r kind path source; do
      if [[ -n $path ]]; then
        oldKind[$path]=$kind
        oldSource[$path]=$source
      fi
    done <"$record"
  fi

  local -a keep=()
  if [[ $phase == remove ]]; then
    for path in "${!oldKind[@]}"; do
      kind=${oldKind[$path]} source=${oldSource[$path]}
      if [[ -n ${wantKind[$path]+set} ]]; then
        keep+=("$kind" "$path" "$source")
      elif _aiSkillsIsOurs "$kind" "$path" "$source"; then
        _aiSkillsRemove "$kind" "$path"
      elif [[ -e $path || -L $path ]]; then
        warnEcho "ai-skills: leaving $path alone: it changed since ai-skills made it"
      fi
    done
  else
    for path in "${order[@]}"; do
      kind=${wantKind[$path]} source=${wantSource[$path]}
      if _aiSkillsIsOurs "$kind" "$path" "$source"; then
        keep+=("$kind" "$path" "$source")
      elif [[ ! -e $path && ! -L $path ]] \
        || { [[ -n ${oldKind[$path]+set} ]] && _aiSkillsIsOurs "${oldKind[$path]}" "$path" "${oldSource[$path]}"; }; then
        _aiSkillsPlace "$kind" "$path" "$source"
        keep+=("$kind" "$path" "$source")
      else
        warnEcho "ai-skills: leaving $path alone: it is not something ai-skills made; move it away to deploy this skill"
      fi
    done
    # Kept from the record: what `remove` left (it had not run, or a path is still wanted).
    for path in "${!oldKind[@]}"; do
      if [[ -z ${wantKind[$path]+set} ]]; then
        keep+=("${oldKind[$path]}" "$path" "${oldSource[$path]}")
      fi
    done
  fi
  _aiSkillsWriteRecord "$record" "${keep[@]}"
}

# Whether PATH is exactly what ai-skills makes for KIND and SOURCE.
_aiSkillsIsOurs() {
  local kind=$1 path=$2 source=$3
  if [[ $kind == link ]]; then
    [[ -L $path && $(readlink "$path") == "$source" ]]
  else
    [[ -d $path && ! -L $path && -d $source ]] && diff -r "$source" "$path" >/dev/null 2>&1
  fi
}

_aiSkillsRemove() {
  local kind=$1 path=$2
  verboseEcho "ai-skills: removing $path"
  if [[ $kind == link ]]; then
    run rm -f "$path"
  else
    run rm -rf "$path"
  fi
}

# Put KIND of SOURCE at PATH, replacing what is there (the caller checked it is ours or
# absent). A link is swapped in atomically; a copy is made beside PATH and moved into place.
_aiSkillsPlace() {
  local kind=$1 path=$2 source=$3
  local parent=${path%/*} name=${path##*/}
  local fresh="$parent/.ai-skills-new.$name" old="$parent/.ai-skills-old.$name"
  verboseEcho "ai-skills: placing $path"
  run mkdir -p "$parent"
  run rm -rf "$fresh" "$old"
  if [[ $kind == link ]]; then
    run ln -s "$source" "$fresh"
  else
    run cp -R "$source" "$fresh"
    run chmod -R u+w "$fresh"
  fi
  if [[ -d $path && ! -L $path ]]; then
    run mv -T "$path" "$old"
  fi
  run mv -T "$fresh" "$path"
  run rm -rf "$old"
}

_aiSkillsWriteRecord() {
  local record=$1
  shift
  if [[ -v DRY_RUN ]]; then
    return 0
  fi
  local lines=""
  while (($# >= 3)); do
    lines+="$1"$'\t'"$2"$'\t'"$3"$'\n'
    shift 3
  done
  if [[ -z $lines && ! -e $record ]]; then
    return 0
  fi
  mkdir -p "${record%/*}"
  printf '%s' "$lines" >"$record.tmp"
  mv -f "$record.tmp" "$record"
}
