# The files of this repository the ai-skills package is built from, as a nixpkgs fileset
# (a separate file so that tests can list it with the real `lib.fileset.toList`).
lib:
lib.fileset.unions [
  ../../pyproject.toml
  ../../README.md
  # The licence travels with the source and, through hatchling, into the wheel's metadata.
  ../../LICENSE
  ../../src
  # Both are bundled into the wheel (force-include in pyproject.toml).
  ../../bin/use_skills.sh
  (lib.fileset.maybeMissing ../../skills)
]
