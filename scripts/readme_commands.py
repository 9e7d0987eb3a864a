"""Drive a generated project through the commands its own README gives, as a new team would.

The first ``console`` block under "## Getting started" in the project's README.md is the
script: one command per line, each run in the project folder with ``bash -c``, in order,
stopping at the first failure. `. .venv/bin/activate` is applied to the environment of the
commands that follow (each line runs in a shell of its own, so it could not be sourced).

`make demo` runs this on the demo project; the end-to-end tests import
:func:`getting_started_commands` and :func:`activate` to run the same commands themselves.

    python scripts/readme_commands.py PROJECT [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

GETTING_STARTED = re.compile(r"^## Getting started\s*$", re.MULTILINE)
CONSOLE_BLOCK = re.compile(r"^```console\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
ACTIVATE = re.compile(r"^(?:\.|source)\s+(?P<venv>\S+)/bin/activate$")
# A comment is set off by two or more spaces, so a `#` inside a command survives.
TRAILING_COMMENT = re.compile(r"\s{2,}#.*$")


class ReadmeError(Exception):
    """The README has no runnable getting-started block."""


def getting_started_commands(readme: str) -> list[str]:
    """The commands of the first console block under "## Getting started", comments cut."""
    heading = GETTING_STARTED.search(readme)
    block = CONSOLE_BLOCK.search(readme, heading.end()) if heading else None
    if block is None:
        raise ReadmeError("README.md: no ```console block under '## Getting started'")
    commands = [TRAILING_COMMENT.sub("", line).strip() for line in block["body"].splitlines()]
    return [command for command in commands if command]


def activate(command: str, cwd: Path, env: Mapping[str, str]) -> dict[str, str] | None:
    """The environment after ``command`` if it activates a virtual environment, else None."""
    match = ACTIVATE.match(command)
    if match is None:
        return None
    venv = (cwd / match["venv"]).absolute()
    return {
        **env,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
    }


def run_readme(project: Path, env: dict[str, str], timeout: float) -> list[tuple[str, float]]:
    """Run every command; returns (command, seconds) pairs. Exits on the first failure."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    timings = []
    for command in getting_started_commands(readme):
        activated = activate(command, project, env)
        if activated is not None:
            env = activated
            continue
        print(f"\n$ {command}", flush=True)
        started = time.monotonic()
        try:
            result = subprocess.run(
                ["bash", "-c", command], cwd=project, env=env, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            sys.exit(f"readme: `{command}` ran past {timeout:.0f} s in {project}")
        seconds = time.monotonic() - started
        timings.append((command, seconds))
        if result.returncode != 0:
            sys.exit(f"readme: `{command}` exited {result.returncode} in {project}")
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per command")
    args = parser.parse_args()
    try:
        timings = run_readme(args.project, dict(os.environ), args.timeout)
    except (OSError, ReadmeError) as error:
        sys.exit(f"readme: {error}")
    print("\nreadme: every command passed")
    for command, seconds in timings:
        print(f"  {seconds:6.1f} s  {command}")


if __name__ == "__main__":
    main()
