"""Keeping a repository's tasks healthy and visible: one background pass
(`tick`, `liveness`) and its `daemon`, `reconcile`, `status` (+ `status_text`), the event
stream (`watch`) and `hooks`, `stats`, `doctor`.
"""
