"""Recognising a quota or rate-limit outcome at the end of an attempt, and the backoff after it.

Three kinds of evidence, checked in this order: an exit code named in the config, an error
event in the agent's structured output (stream-json / JSON lines), a configured regex. Only
the end of the log is read: the agent's own messages earlier on may well talk about rate
limits (it may be implementing one) and must not count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ai_skills.util.results import JsonResult

# Values of type-like keys that name a rate-limit or quota error in the JSON the agents print
# (Anthropic `rate_limit_error`, OpenAI `rate_limit_exceeded` / `insufficient_quota`,
# HTTP `too_many_requests`, Claude Code `usage limit` results).
_LIMIT_WORDS = re.compile(
    r"rate[_ -]?limit|ratelimit|usage[_ -]?limit|insufficient[_ -]?quota|quota[_ -]?exceeded"
    r"|too[_ -]?many[_ -]?requests|resource[_ -]?exhausted",
    re.IGNORECASE,
)
_TYPE_KEYS = frozenset({"type", "subtype", "code", "name", "error_type", "kind", "reason"})
_STATUS_KEYS = frozenset({"status", "statusCode", "status_code", "http_status", "code"})
_TEXT_KEYS = frozenset({"message", "result", "error", "detail", "text"})
# Top-level event types that carry the model's own words or tool output, never an API error.
CONTENT_EVENTS = frozenset(
    {"assistant", "user", "text", "tool_use", "tool_result", "reasoning", "agent_message"}
)
# Plain-text lines (an agent's stderr is in the same log) that read as an API rate limit.
TEXT_LINE = re.compile(
    r"\b429\b.*(too many requests|rate.?limit)|rate.?limit(ed| exceeded| reached)"
    r"|usage limit (reached|exceeded)|quota exceeded|insufficient_quota"
    r"|exceeded your (current )?quota",
    re.IGNORECASE,
)
# Inside an error event, a bare status or the words are enough.
_ERROR_TEXT = re.compile(r"\b429\b|rate.?limit|usage.?limit|quota|too many requests", re.IGNORECASE)
_PLAIN_LINES = 20
_ALLOWED = frozenset({"allowed", "allowed_warning", "ok", "success"})


@dataclass(frozen=True)
class RateLimitRules(JsonResult):
    """What counts as rate-limited for one attempt (stored with the attempt at admission)."""

    exit_codes: list[int] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    backoff_seconds: float = 30.0
    backoff_max_seconds: float = 1800.0
    tail_bytes: int = 65536
    # live: the agent's own retries after a limit (rate_limit_watch.py)
    switch_after_retries: int = 3


def classify(exit_code: int, tail: str, rules: RateLimitRules) -> str:
    """Why this end of an attempt is a rate-limit outcome, or "" when it is not."""
    if exit_code in rules.exit_codes:
        return f"exit code {exit_code} is configured as rate-limited"
    lines = tail.splitlines()
    for line in reversed(lines):
        event = json_event(line)
        if event is None:
            continue
        if event.get("type") == "result" and event.get("is_error") is False:
            break  # the run's final result was a success: earlier retries do not count
        found = event_evidence(event)
        if found:
            return f"structured output: {found}"
    for pattern in rules.patterns:
        match = re.search(pattern, tail, re.MULTILINE)
        if match:
            return f"output matches {pattern!r}: {shorten(match.group(0))}"
    if exit_code != 0:
        for line in lines[-_PLAIN_LINES:]:
            if not line.lstrip().startswith("{") and TEXT_LINE.search(line):
                return f"output says: {shorten(line.strip())}"
    return ""


def backoff_delay(consecutive: int, rules: RateLimitRules, *, chain_length: int) -> float:
    """Seconds to wait before the next attempt: doubles with each full round of profiles."""
    rounds = (max(consecutive, 1) - 1) // max(chain_length, 1)
    return float(min(rules.backoff_seconds * (2**rounds), rules.backoff_max_seconds))


def read_tail(path: Path, *, limit: int) -> str:
    """The last `limit` bytes of a log, decoded leniently ("" when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            # read(limit): the agent may still be writing, so the end may have moved on.
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def json_event(line: str) -> dict[str, Any] | None:
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        event = json.loads(text)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def event_evidence(event: dict[str, Any]) -> str:
    if str(event.get("type", "")) in CONTENT_EVENTS or not _looks_like_error(event):
        return ""
    pairs = list(_walk(event))
    # An informational rate-limit notice (e.g. a status of "allowed") is not a refusal.
    if any(k == "status" and str(v).lower() in _ALLOWED for k, v in pairs):
        return ""
    for key, value in pairs:
        if key in _TYPE_KEYS and isinstance(value, str) and _LIMIT_WORDS.search(value):
            return f"{key} {value!r}"
        if key in _STATUS_KEYS and value in (429, "429"):
            return f"{key} 429"
        if key in _TEXT_KEYS and isinstance(value, str) and _ERROR_TEXT.search(value):
            return f"{key}: {shorten(value)}"
    return ""


def _looks_like_error(event: dict[str, Any]) -> bool:
    kind = f"{event.get('type', '')} {event.get('subtype', '')}".lower()
    return (
        event.get("is_error") is True
        or "error" in event
        or any(word in kind for word in ("error", "fail", "rate", "limit", "retry"))
    )


def _walk(value: Any, depth: int = 0) -> Iterator[tuple[str, Any]]:
    if depth > 6:
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key), inner
            yield from _walk(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value[:50]:
            yield from _walk(inner, depth + 1)


def shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
