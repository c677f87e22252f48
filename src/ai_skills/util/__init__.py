"""Helpers every product shares: atomic writes and the lock (`fs`), bounded reads of
files strangers write (`textfiles`), running git (`git`) and reading its ref files without it
(`git_refs`), XDG folders (`xdg`), the one wording for JSON that fails its schema
(`schema_errors`), `--json` text without the json module (`json_text`), result records
(`results`) and plain value classes for the hot paths (`values`).
"""
