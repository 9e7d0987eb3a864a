"""Drive a generated project through the commands its own README gives, as a new team would.

The first ``console`` block under "## Getting started" in the project's README.md is the
script: one command per line, each run in the project folder with ``bash -c``, in order,
stopping at the first failure. `. .venv/bin/activate` is applied to the environment of the
commands that follow (each line runs in a shell of its own, so it could not be sourced). A
command ending in ``&`` (``make serve &``) is started in the background, in a process group
of its own, and stopped by its PID (SIGTERM, then SIGKILL) when the script ends, whatever
happened: nothing the README starts outlives the run.

`make demo` runs this on the demo project; the end-to-end tests import
:func:`getting_started_commands` and :func:`activate` to run the same commands themselves.

    python scripts/readme_commands.py PROJECT [--timeout SECONDS]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

GETTING_STARTED = re.compile(r"^## Getting started\s*$", re.MULTILINE)
CONSOLE_BLOCK = re.compile(r"^```console\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
ACTIVATE = re.compile(r"^(?:\.|source)\s+(?P<venv>\S+)/bin/activate$")
# A comment is set off by two or more spaces, so a `#` inside a command survives.
TRAILING_COMMENT = re.compile(r"\s{2,}#.*$")
BACKGROUND = re.compile(r"\s*(?<!&)&$")
STOP_GRACE_SECONDS = 15


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


def background_command(command: str) -> str | None:
    """The command without its trailing ``&`` if it is meant to run in the background."""
    return BACKGROUND.sub("", command) if BACKGROUND.search(command) else None


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a background command and everything it started (its process group)."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def background_commands() -> Iterator[list[tuple[str, subprocess.Popen[bytes], Path]]]:
    """Collects background commands as they start; stops every one of them on the way out."""
    started: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    try:
        yield started
    finally:
        for _, process, _ in reversed(started):
            stop(process)


def start_background(
    command: str, cwd: Path, env: Mapping[str, str], started: list
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own process group, its output in a log file."""
    log = Path(tempfile.mkstemp(prefix="readme-background-", suffix=".log")[1])
    with log.open("wb") as sink:
        process = subprocess.Popen(
            ["bash", "-c", f"exec {command}"],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    started.append((command, process, log))
    return process


def background_logs(started: list, tail: int = 4000) -> str:
    """The last lines each background command wrote, to explain a later failure."""
    parts = []
    for command, process, log in started:
        state = "running" if process.poll() is None else f"exited {process.returncode}"
        text = log.read_text(encoding="utf-8", errors="replace")[-tail:]
        parts.append(f"--- `{command}` (PID {process.pid}, {state}) ---\n{text}")
    return "\n".join(parts)


def run_readme(project: Path, env: dict[str, str], timeout: float) -> list[tuple[str, float]]:
    """Run every command; returns (command, seconds) pairs. Exits on the first failure."""
    readme = (project / "README.md").read_text(encoding="utf-8")
    with background_commands() as started:
        return _run_commands(getting_started_commands(readme), project, env, timeout, started)


def _run_commands(
    commands: list[str], project: Path, env: dict[str, str], timeout: float, started: list
) -> list[tuple[str, float]]:
    timings = []
    for command in commands:
        activated = activate(command, project, env)
        if activated is not None:
            env = activated
            continue
        if (in_background := background_command(command)) is not None:
            print(f"\n$ {command}", flush=True)
            process = start_background(in_background, project, env, started)
            print(f"readme: started in the background, PID {process.pid}", flush=True)
            continue
        print(f"\n$ {command}", flush=True)
        began = time.monotonic()
        try:
            result = subprocess.run(
                ["bash", "-c", command], cwd=project, env=env, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            sys.exit(f"readme: `{command}` ran past {timeout:.0f} s in {project}")
        seconds = time.monotonic() - began
        timings.append((command, seconds))
        if result.returncode != 0:
            print(background_logs(started), file=sys.stderr)
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
