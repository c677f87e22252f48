"""Helpers every product shares: atomic writes and the lock (`fs`), bounded reads of
files strangers write (`textfiles`), running git (`git`), XDG folders (`xdg`) and the one wording
for JSON that fails its schema (`schema_errors`).
"""
