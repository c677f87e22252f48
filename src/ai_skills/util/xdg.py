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
    """`$VARIABLE` if set to an absolute path, else its XDG default under `$HOME`.

    The XDG Base Directory spec says a relative value is invalid and must be ignored; taken
    against the current folder it would scatter state and links across every folder a
    command happens to run in.
    """
    value = os.path.expanduser(env.get(variable) or "")
    if os.path.isabs(value):
        return value
    return os.path.join(os.path.expanduser(env.get("HOME") or "~"), _DEFAULTS[variable])
