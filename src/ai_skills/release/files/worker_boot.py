"""Start the bundled worker @version@; run by bin/worker (and libexec/python) with -I."""

import os
import sys

VERSION = "@version@"
SUPPORTED = ('@python@',)
EXIT_ENVIRONMENT = 6


# Runs first on whatever Python WORKER_PYTHON or PATH gives, so it must parse and refuse on
# older ones too: %-formatting (pyproject.toml exempts it from UP031/UP032), a string
# annotation.
def main() -> "int | None":
    here = os.path.dirname(os.path.abspath(__file__))
    running = "%d.%d" % sys.version_info[:2]
    if sys.implementation.name != "cpython" or running not in SUPPORTED:
        sys.stderr.write(
            "worker: error: worker %s bundles compiled modules for CPython %s, but %s is "
            "%s %s; set WORKER_PYTHON to a CPython %s interpreter\n"
            % (VERSION, " or ".join(SUPPORTED), sys.executable,
               sys.implementation.name, running, SUPPORTED[-1])
        )
        return EXIT_ENVIRONMENT
    sys.path.insert(0, here)
    os.environ["AI_SKILLS_WORKER_PYTHON"] = sys.executable
    sys.executable = os.path.join(os.path.dirname(here), "libexec", "python")
    args = sys.argv[1:]
    if args[:1] == ["-m"] and len(args) > 1 and args[1].startswith("ai_skills."):
        import runpy

        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    if args == ["--version"]:
        sys.stdout.write("worker %s\n" % VERSION)
        return 0
    sys.argv = ["worker", *args]
    from ai_skills.cli.worker_entry import run

    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
