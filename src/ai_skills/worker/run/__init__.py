"""An attempt from `worker add` to its agent's end: `intake`, `admission`
(+ `scopes`), `launch` + `launch_steps`, the workspace (`workspace`, `workspace_git`,
`clones`, `worktrees`), isolation (`sandbox`: the bwrap argv; `isolation`: applied to one
attempt; `attribution`, `containment`), the `supervisor` (its `heartbeat`, `store_outage`,
`agent_exit`) and its agent's processes (`agent_processes`), `profiles` (+ `profile_views`)
and `prompt`, rate limits (`rate_limit`, `rate_limit_watch`, `rate_limit_fallback`), the
agent's `report` over the `report_socket` (its client: `report_client`), the shared remote
of several hosts (`remote_branch`, `remote_resume`), `retry` and `cancel`.
"""
