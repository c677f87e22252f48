"""Linking skills where agents read them. The agent table (`agents`, data in
`ai_skills/agents.json`) and its report (`agent_status`); the plan/apply engine (`engine`);
per repo: the `.skills` manifest (`manifest`, `manifest_edit`), `use_skills` and its no-op
check (`fastpath`); per user: `global_selection` + `global_deploy`; the direnv library
(`direnv`).
"""
