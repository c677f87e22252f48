"""XDG base folders, resolved from an environment mapping (plain strings: no pathlib, so the
use-skills no-op path can call it too)."""

from __future__ import annotations

import os
from collections.abc import Mapping

_DEFAULTS = {
    "XDG_CONFIG_HOME": ".config",
    "XDG_STATE_HOME": ".local/state",
    "XDG_DATA_HOME": ".local/share",
    "XDG_CACHE_HOME": ".cache",
}


def xdg_home(env: Mapping[str, str], variable: str) -> str:
    """`$VARIABLE` if set, else its XDG default under `$HOME` (e.g. `~/.local/state`)."""
    value = env.get(variable)
    if value:
        return os.path.expanduser(value)
    return os.path.join(os.path.expanduser(env.get("HOME") or "~"), _DEFAULTS[variable])
