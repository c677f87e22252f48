"""`bin/demo-worker`, the README's tour of the worker loop, runs as documented."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_demo_worker_runs_the_loop_to_a_merge(tmp_path: Path) -> None:
    proc = subprocess.run([str(ROOT / "bin" / "demo-worker")], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/local/bin:/usr/bin:/bin",
                                            "TMPDIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for step in ("$ worker add hello", "$ worker start hello", "hello is in_review",
                 "hello: gates passed", "hello: approved", "hello: merged into main",
                 "Add hello.txt", "hello, world"):
        assert step in proc.stdout, step
    assert list(tmp_path.iterdir()) == [], "the demo folder is removed"
