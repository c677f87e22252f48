"""Skills installed from git or a path, pinned in a lock. What the user named
(`source_spec`), the fetch cache (`sources`, `object_reader`; `source_git`: every git run
against a source; `git_values`), finding and writing skills of a fetched tree (`discover`,
`materialize`, `local_changes`), the pin (`contenthash`, `lock`, `lock_schema`,
`npx_interop`), where a scope keeps them (`scope`), staging and activation (`staging`),
the commands' cores (`add`, `installed`: install/update/remove, `check`) and linking what
was installed (`links`).
"""
