"""The `worker` task runner: tasks in SQLite, agents in git worktrees, a supervisor per run."""
