"""Plain-text views of gates, reviews, merges, conflicts and stats (`--json` skips them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ai_skills.worker.ops.stats import PHASES, Stats
from ai_skills.worker.review.conflicts import ConflictPair
from ai_skills.worker.review.merge import MergeResult
from ai_skills.worker.review.verdict import ReviewView


def gate_lines(task_id: str, verdict: Mapping[str, Any]) -> list[str]:
    """One line per gate, then the summary."""
    sha = str(verdict["sha"])[:12]
    results = list(verdict["results"])
    lines = [
        f"  {r['gate']:<12} {_outcome(r):<10} {r['duration']:>7.2f}s  {r['log_file']}"
        for r in results
    ]
    if verdict["passed"]:
        summary = (
            f"{task_id}: gates passed on {sha}" if results else f"{task_id}: no gates configured"
        )
    else:
        summary = f"{task_id}: {verdict['problem']}"
    return [*lines, summary]


def _outcome(result: Mapping[str, Any]) -> str:
    if result["timed_out"]:
        return "timeout"
    return "passed" if result["exit_code"] == 0 else f"exit {result['exit_code']}"


def review_lines(view: ReviewView) -> list[str]:
    """What a reviewer reads before deciding."""
    head = (view.head_sha or "-")[:12]
    lines = [f"{view.task_id}: {view.state}  {view.title}"]
    if view.reason:
        lines.append(f"  {view.reason}")
    lines.append(
        f"  {view.branch} at {head} -> {view.integration} (base {(view.base_sha or '-')[:12]})"
    )
    lines += ["", "commits:"] + [f"  {c}" for c in view.commits or ["(none)"]]
    lines += ["", "diff:"] + [f"  {d}" for d in (view.diff_stat or "(no changes)").splitlines()]
    lines += ["", "gates:"] + [f"  {g}" for g in gate_lines(view.task_id, view.gates)]
    findings = [*view.findings, *(f"needs a human: {p}" for p in view.policy)]
    if view.conflicts:
        findings.append(f"conflicts with {view.integration}: {', '.join(view.conflicts)}")
    if view.review.approved_sha:
        findings.append(f"approved {view.review.approved_sha[:12]} by {view.review.approved_by}")
    if view.review.change_requests:
        findings.append(f"{view.review.change_requests} change request(s) so far")
    findings += view.notes
    lines += ["", "findings:"] + [f"  {f}" for f in findings or ["none"]]
    return lines


def merge_lines(result: MergeResult) -> list[str]:
    """The outcome of a merge and what to do next."""
    merged = (result.merged_sha or "-")[:12]
    if result.outcome == "merged":
        lines = [
            f"{result.task_id}: merged into {result.integration} as {merged} ({result.strategy})"
        ]
    elif result.outcome == "already_merged":
        lines = [
            f"{result.task_id}: {result.state}: nothing to merge, {result.integration} already "
            f"contains {result.source_sha[:12]}; {result.integration} did not move"
        ]
    elif result.outcome == "conflict":
        lines = [
            f"{result.task_id}: {result.state}: conflicts with {result.integration} in "
            f"{', '.join(result.conflicts)}; nothing was merged"
        ]
    elif result.outcome == "gates_failed":
        lines = [
            f"{result.task_id}: {result.state}: gates failed on the merged result {merged}; "
            f"{result.integration} was not moved"
        ]
    elif result.outcome == "unpushed":
        lines = [
            f"{result.task_id}: {result.state}: merged into {result.integration} here as "
            f"{merged}, not pushed yet; not marked merged until the push lands"
        ]
    else:
        lines = [f"{result.task_id}: {result.state}: merge stopped; nothing was merged"]
    lines += [f"  {n}" for n in result.notes]
    lines += [
        f"  {s.task_id}: approved task now conflicts ({', '.join(s.files)}); sent back"
        for s in result.sent_back
    ]
    return lines


def conflict_lines(pairs: Sequence[ConflictPair]) -> list[str]:
    """One paragraph per overlapping pair."""
    if not pairs:
        return ["no overlapping tasks"]
    lines = []
    for p in pairs:
        verdict = "WOULD CONFLICT" if p.would_conflict else "overlap"
        lines.append(f"{p.first} <-> {p.second}: {verdict}")
        if p.scopes:
            lines.append("  scopes: " + ", ".join(f"{a} ~ {b}" for a, b in p.scopes))
        if p.shared_files:
            lines.append("  both change: " + ", ".join(p.shared_files))
        if p.conflict_files:
            lines.append("  conflicting files: " + ", ".join(p.conflict_files))
    return lines


def _dur(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 60:.1f}m" if seconds >= 60 else f"{seconds:.0f}s"


def stats_lines(stats: Stats) -> list[str]:
    """A table per task, then the aggregate."""
    if not stats.tasks:
        return ["no tasks yet"]
    header = (
        f"{'task':<16} {'state':<18} {'queue':>7} {'run':>7} {'review':>7} {'merge':>7} CR gates"
    )
    lines = [header]
    for t in stats.tasks:
        lines.append(
            f"{t.task_id:<16} {t.state:<18} {_dur(t.queue_wait):>7} {_dur(t.run_time):>7} "
            f"{_dur(t.review_time):>7} {_dur(t.merge_wait):>7} {t.change_requests:>2} "
            f"{t.gate_failures}/{t.gate_runs} failed"
        )
    agg = stats.aggregate
    lines.append("")
    for phase in PHASES:
        values = agg[phase]
        assert isinstance(values, dict)
        lines.append(
            f"{phase:<12} mean {_dur(values['mean'])}, median {_dur(values['median'])}, "
            f"max {_dur(values['max'])}"
        )
    lines.append(
        f"change requests {agg['change_requests']}; gate failure rate "
        f"{float(agg['gate_failure_rate']):.0%} ({agg['gate_failures']}/{agg['gate_runs']})"  # type: ignore[arg-type]
    )
    return lines
