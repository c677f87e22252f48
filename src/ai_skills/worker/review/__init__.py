"""From a finished attempt to a merged branch: `gates` and `policy`, what a
reviewer must weigh (`findings`), the review (`verdict`: show, approve, request changes;
`records`: what is stored), `conflicts`, git plumbing without a checkout (`treeops`), and
`merge` (+ `merge_run`, `merge_steps`, `merge_cleanup`, `merge_checkout`, `merge_remote`).
Plain-text views: `text`.
"""
