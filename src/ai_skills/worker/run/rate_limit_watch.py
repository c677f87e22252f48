"""Seeing a rate limit while the agent still runs, so its task can move to the next profile.

Agents retry a refused request by themselves, for a long time (recorded in docs/worker.md):
Claude Code 2.1 ten times over about five minutes, printing a `system`/`api_retry` event for
each; OpenCode 1.18 a quota error for as long as it runs, printing nothing but a log line.
Waiting for their exit would keep a task standing still on a profile that is out of quota.
The supervisor calls `LimitWatch.check` on each heartbeat: it reads what the log gained,
counts retry evidence (the same rules as `rate_limit.classify`), and after
`switch_after_retries` of them (at once for a quota or usage limit) stops the agent's
process group. The attempt then ends as rate-limited with that evidence.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

from ai_skills.worker.process_identity import signal_group
from ai_skills.worker.run.rate_limit import (
    CONTENT_EVENTS,
    TEXT_LINE,
    RateLimitRules,
    event_evidence,
    json_event,
    shorten,
)

# Evidence that no retry will cure soon: the account, not the minute, is used up.
_QUOTA = re.compile(r"quota|usage.?limit|billing", re.IGNORECASE)
# Plain lines (an agent's log on stderr) only count when they report an error.
_ERROR_LINE = re.compile(r"\berror\b", re.IGNORECASE)
_KILL_AFTER = 10.0  # seconds between TERM and KILL
_MAX_READ = 1 << 20  # never read more than this per check
# An unfinished line is kept only this long: an agent may print megabytes without a newline,
# and no event the watch looks for is longer (its start is dropped, so it reads as noise).
_MAX_LINE = 64 * 1024


class LimitWatch:
    """Follows one attempt's log; `verdict` says why the agent was stopped ("" if it was not)."""

    def __init__(self, log_path: Path, rules: RateLimitRules) -> None:
        self.log_path = log_path
        self.limit = rules.switch_after_retries
        self.offset = 0
        self.partial = b""
        self.retries = 0
        self.verdict = ""
        self.stopped_at: float | None = None

    def check(self, pid: int, *, now: float) -> str:
        """Read what is new; stop the agent's group on a limit. The new verdict, or ""."""
        if self.stopped_at is not None:
            if now - self.stopped_at > _KILL_AFTER:
                signal_group(pid, signal.SIGKILL)
            return ""
        if self.limit <= 0:
            return ""
        found = self._scan()
        if not found:
            return ""
        self.verdict = found
        self.stopped_at = now
        signal_group(pid, signal.SIGTERM)
        return found

    def _scan(self) -> str:
        for line in self._new_lines():
            kind, evidence = live_evidence(line)
            if kind == "progress":
                self.retries = 0
            elif kind == "quota":
                return f"live output: {evidence}"
            elif kind == "retry":
                self.retries += 1
                if self.retries >= self.limit:
                    return f"live output: {evidence} ({self.retries} retries seen)"
        return ""

    def _new_lines(self) -> list[str]:
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read(_MAX_READ)
        except OSError:
            return []
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()[-_MAX_LINE:]
        return [line.decode("utf-8", errors="replace") for line in lines]


def live_evidence(line: str) -> tuple[str, str]:
    """("quota"|"retry", evidence) for a limit, ("progress", "") for model output, else blank."""
    event = json_event(line)
    if event is not None:
        if str(event.get("type", "")) in CONTENT_EVENTS:
            return "progress", ""
        found = event_evidence(event)
    else:
        match = TEXT_LINE.search(line) if _ERROR_LINE.search(line) else None
        if match is None:
            return "", ""
        # A log line is long; the words just before the match and after it are the evidence.
        start = max(0, match.start() - 60)
        if start:
            start = line.find(" ", start) + 1 or start
        found = shorten(line[start:].strip())
    if not found:
        return "", ""
    return ("quota" if _QUOTA.search(line) else "retry"), found
