"""Command-line wiring: parse, call one core function, render, choose the exit code."""
