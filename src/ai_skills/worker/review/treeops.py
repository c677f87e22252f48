"""Git plumbing that never touches a checkout: merge-tree, commit-tree, diffs between commits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ai_skills.util.git import git_out, run_git


@dataclass(frozen=True)
class TrialMerge:
    """The result of merging two commits in memory."""

    tree: str | None  # None when it conflicts
    conflicts: list[str]

    @property
    def clean(self) -> bool:
        """True when git could merge without a conflict."""
        return not self.conflicts


def rev(repo: Path, name: str) -> str | None:
    """The commit `name` resolves to, or None."""
    proc = run_git(
        ["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], cwd=repo, check=False
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def trial_merge(repo: Path, ours: str, theirs: str) -> TrialMerge:
    """Merge `theirs` into `ours` with `git merge-tree --write-tree`; no checkout changes."""
    proc = run_git(
        ["merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs],
        cwd=repo,
        check=False,
    )
    if proc.returncode not in (0, 1):
        run_git(["merge-tree", "--write-tree", ours, theirs], cwd=repo)  # raises with stderr
    lines = proc.stdout.splitlines()
    if proc.returncode == 0:
        return TrialMerge(lines[0].strip(), [])
    conflicts = sorted({line for line in lines[1:] if line.strip()})
    return TrialMerge(None, conflicts)


def commit_tree(repo: Path, tree: str, parents: list[str], message: str, *, date: float) -> str:
    """A commit of `tree` with `parents`; a fixed date makes a resumed merge build the same sha."""
    args = ["commit-tree", tree]
    for parent in parents:
        args += ["-p", parent]
    stamp = f"@{int(date)} +0000"
    proc = run_git(
        [*_identity(repo), *args],
        cwd=repo,
        input_text=message,
        env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
    )
    return proc.stdout.strip()


def _identity(repo: Path) -> list[str]:
    if run_git(["var", "GIT_COMMITTER_IDENT"], cwd=repo, check=False).returncode == 0:
        return []
    return ["-c", "user.name=worker", "-c", "user.email=worker@localhost"]


def is_ancestor(repo: Path, older: str, newer: str) -> bool:
    """True when commit `older` is reachable from `newer`."""
    return (
        run_git(["merge-base", "--is-ancestor", older, newer], cwd=repo, check=False).returncode
        == 0
    )


def merge_base(repo: Path, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, or None (unrelated histories)."""
    proc = run_git(["merge-base", a, b], cwd=repo, check=False)
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def changed_files(repo: Path, base: str, head: str) -> list[str]:
    """Paths changed between two commits."""
    out = git_out(["diff", "--name-only", "--no-renames", base, head], cwd=repo)
    return [line for line in out.splitlines() if line]


def changed_lines(repo: Path, base: str, head: str) -> int:
    """Lines added plus lines removed between two commits (binary files count as one)."""
    total = 0
    for line in git_out(["diff", "--numstat", "--no-renames", base, head], cwd=repo).splitlines():
        added, removed, _ = line.split("\t", 2)
        total += 1 if added == "-" else int(added) + int(removed)
    return total


def diff_stat(repo: Path, base: str, head: str) -> str:
    """`git diff --stat` between two commits."""
    return git_out(["diff", "--stat", base, head], cwd=repo)


def commit_lines(repo: Path, base: str, head: str) -> list[str]:
    """`<short sha> <subject>` of each commit in base..head, oldest first."""
    out = git_out(["log", "--reverse", "--format=%h %s", f"{base}..{head}"], cwd=repo)
    return [line for line in out.splitlines() if line]


def commits_between(repo: Path, base: str, head: str) -> list[str]:
    """Full shas of base..head, oldest first."""
    out = git_out(["rev-list", "--reverse", f"{base}..{head}"], cwd=repo)
    return [line for line in out.splitlines() if line]
