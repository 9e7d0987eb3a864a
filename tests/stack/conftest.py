"""The shared stack for the stack tests: the one CI started, else one of our own.

`.ci/run` starts the stack with ``python -m crisp_ml.runtime.stack up`` and exports its
``env`` with the prefix ``CRISP_STACK_`` (so no other test talks to it by accident): then
``CRISP_STACK_DIR`` names its folder and it is reused. Without it, a developer's
``make test`` starts a stack through the same module and stops it by PID at the end. Only
when PostgreSQL's binaries or the stack's packages are missing, and CI is not set, are the
tests skipped; on CI (``CI=true``) a missing stack is a failure.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crisp_ml.runtime import stack


@dataclass(frozen=True)
class Stack:
    """A running stack: its folder and the client variables ``stack env`` prints."""

    layout: stack.Layout
    env: dict[str, str]

    @property
    def password(self) -> str:
        return stack.read_credentials(self.layout)["POSTGRES_PASSWORD"]

    def pid(self, name: str) -> int:
        pid = stack.read_pid(self.layout, name)
        assert pid is not None, f"the stack's {name} is not running"
        return pid

    def refresh(self) -> Stack:
        """After a restart (moto's keys change): the variables as they are now."""
        return Stack(self.layout, stack.environment(self.layout))


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable() -> str | None:
    """Why this machine cannot run a stack, or None."""
    try:
        stack.postgres_bin_dir()
    except stack.StackError as error:
        return str(error)
    for module in ("moto", "boto3", "psycopg2"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is missing: pip install -e '.[stack]'"
    return None


@pytest.fixture(scope="session")
def shared_stack() -> Iterator[Stack]:
    if folder := os.environ.get("CRISP_STACK_DIR"):
        layout = stack.Layout(Path(folder))
        healthy, lines = stack.status(layout)
        assert healthy, f"CRISP_STACK_DIR={folder} is not a running stack:\n" + "\n".join(lines)
        yield Stack(layout, stack.environment(layout))
        return
    if reason := _unavailable():
        if _on_ci():
            pytest.fail(f"CI=true but the stack cannot start: {reason}")
        pytest.skip(f"no shared stack here: {reason}")
    # Not under pytest's 0700 tmp folder: PostgreSQL runs as `postgres` when we are root.
    root = Path(tempfile.mkdtemp(prefix="crisp-stack-", dir="/tmp"))
    root.chmod(0o755)
    layout = stack.Layout(root)
    try:
        stack.up(layout, {})
        yield Stack(layout, stack.environment(layout))
    finally:
        stack.down(layout)
        shutil.rmtree(root, ignore_errors=True)
