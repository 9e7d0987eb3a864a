"""Render the crisp-ml template with Copier's Python API, in-process and fast.

The template is the work tree of this checkout, uncommitted edits included: the files git
would see (tracked, or untracked but not ignored) under ``template/`` plus ``copier.yml``
are copied to a scratch folder once per session, and rendered from there. Copier treats a
folder without git as a plain local template, so no clone, no commit, no git identity.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from template_rendering import REPO_ROOT, Render, render_project, snapshot_template

__all__ = ["REPO_ROOT", "Render", "render_project"]  # also imported by test modules


@pytest.fixture(scope="session")
def template_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A snapshot of this checkout's template (working tree) in a folder without git."""
    return snapshot_template(REPO_ROOT, tmp_path_factory.mktemp("template-src"))


@pytest.fixture(scope="session")
def questionnaire(template_src: Path) -> dict[str, Any]:
    """copier.yml as data."""
    return yaml.safe_load((template_src / "copier.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def render(template_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Render:
    """``render(answers)`` -> the folder of a freshly generated project."""

    def _render(answers: Mapping[str, Any] | None = None) -> Path:
        return render_project(template_src, tmp_path_factory.mktemp("project") / "p", answers)

    return _render


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding crisp-ml's wheel, built from this checkout (uncommitted edits too).

    Generated projects depend on ``crisp-ml==<version>`` by name; with this folder in
    ``PIP_FIND_LINKS`` their own ``make setup`` installs it as it would from an index.
    """
    folder = tmp_path_factory.mktemp("wheelhouse")
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "--wheel-dir", str(folder), str(REPO_ROOT)], check=True, timeout=300)
    return folder
