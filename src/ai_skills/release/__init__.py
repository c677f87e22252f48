"""Releases of `worker`: reproducible tarballs under `releases/` and their pinned SRI hashes.

`build` makes a tarball from a commit and records it in the sidecar (`pins`); `verify`
checks every recorded file against its pin with Python and, where present, Nix.
"""
