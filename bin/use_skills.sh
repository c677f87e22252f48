# shellcheck shell=bash
# ai-skills direnv library: defines `use skills` for .envrc files.
#
# Install (non-Nix):  ai-skills direnv install   (writes ~/.config/direnv/lib/ai-skills.sh)
# Home-manager:       services.ai-skills.direnv.enable = true;
#
# In a project's .envrc:
#   export CODEX_HOME=$PWD/.codex   # optional: gives Codex per-repo skills
#   use skills
#
# `use-skills` links the skills named in .skills into .claude/skills, .opencode/skills and
# $CODEX_HOME/skills, lists those links in .git/info/exclude (never in a tracked file), and
# prints nothing when nothing changed. direnv only re-runs .envrc when a watched file
# changes, so we watch the manifest, the catalog folders and this library itself (a
# home-manager switch replaces it, and with it the catalog it points at).

_ai_skills_library_file=${BASH_SOURCE[0]:-}

use_skills() {
  local cmd=${AI_SKILLS_USE_SKILLS:-use-skills}
  local dir catalog_dirs=()

  watch_file .skills
  [[ -n $_ai_skills_library_file ]] && watch_file "$_ai_skills_library_file"
  IFS=: read -r -a catalog_dirs <<<"${AI_SKILLS_PATH:-}"
  for dir in "${catalog_dirs[@]}"; do
    [[ -n $dir ]] && watch_file "$dir"
  done
  watch_file .ai-skills/skills "${XDG_DATA_HOME:-$HOME/.local/share}/ai-skills/skills"

  if ! has "$cmd"; then
    log_error "use skills: '$cmd' not found; install ai-skills (pip install ai-skills, or the Nix flake) and reload"
    return 0
  fi
  # A failed sync already explained itself on stderr; keep loading the rest of .envrc.
  "$cmd" "$@" || log_error "use skills: some skills were not linked (see above); fix and run 'direnv reload'"
  return 0
}
