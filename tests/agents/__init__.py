"""Conformance suite against the real agent CLIs (a package, so its conftest keeps its name)."""
