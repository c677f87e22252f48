#!/bin/sh
# worker @version@ for @file_tag@, CPython @python@. Runs from wherever it was unpacked.
set -eu
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in
    /*) self=$link ;;
    *) self=$(dirname "$self")/$link ;;
  esac
done
root=$(cd "$(dirname "$self")/.." && pwd -P)
if [ -n "${WORKER_PYTHON:-}" ]; then
  python=$WORKER_PYTHON
elif command -v python@python@ >/dev/null 2>&1; then
  python=python@python@
else
  python=python3
fi
exec "$python" -I "$root/lib/worker_boot.py" "$@"
