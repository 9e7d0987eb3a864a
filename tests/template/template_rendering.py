"""Rendering the crisp-ml template in tests: the template as the work tree sees it, and a
one-call render with Copier's Python API. The fixtures in conftest.py build on these."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
GIT_TIMEOUT_SECONDS = 30

Render = Callable[..., Path]


def template_files(root: Path) -> list[str]:
    """The questionnaire and template files as git sees them, without ignored files."""
    command = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--"]
    listing = subprocess.run(
        [*command, "copier.yml", "template"],
        cwd=root,
        capture_output=True,
        check=True,
        timeout=GIT_TIMEOUT_SECONDS,
    )
    return [name for name in listing.stdout.decode().split("\0") if name]


def render_project(src: Path, dst: Path, answers: Mapping[str, Any] | None = None) -> Path:
    """Generate a project into ``dst`` with default answers overridden by ``answers``."""
    import copier

    copier.run_copy(
        str(src),
        dst,
        data=dict(answers or {}),
        defaults=True,
        unsafe=False,
        quiet=True,
    )
    return dst


def snapshot_template(root: Path, snapshot: Path) -> Path:
    """Copy the questionnaire and template files of ``root`` into ``snapshot`` (no git)."""
    for name in template_files(root):
        source = root / name
        if not source.is_file():  # deleted in the working tree but still in the index
            continue
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return snapshot
