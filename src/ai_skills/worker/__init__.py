"""The `worker` task runner: tasks in SQLite, agents in git worktrees or clones,
a supervisor per attempt.

Here: what every side shares: `errors`, `context` (where a repo's worker data lives),
`config` + `config_profiles` (`.worker.toml`), `runtimes` (agent presets), `states` (the
transition table), `tasks`, `roles` (who may run which command), `process_identity` (a pid
plus its start token, and signals).

- `store/`: every SQL statement, behind named operations; the SQLite backend, migrations,
  and which store a repository uses (`setting`).
- `run/`: an attempt from `worker add` to its agent's end: intake, admission, launch,
  workspace, sandbox, supervisor, processes, profiles, rate limits, retry, cancel.
- `review/`: from a finished attempt to a merged branch: gates, policy, findings, the
  review verdict and record, conflicts, merge.
- `ops/`: keeping a repository healthy and visible: tick, daemon, liveness, reconcile,
  status, watch, hooks, stats, doctor.

Data: `templates/` (the agent prompt).
"""
