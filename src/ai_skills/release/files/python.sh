#!/bin/sh
# Used as sys.executable by the bundled worker: runs `-m MODULE` with the bundled packages.
exec "$AI_SKILLS_WORKER_PYTHON" -I "$(dirname "$0")/../lib/worker_boot.py" "$@"
