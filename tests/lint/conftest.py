"""Fixtures for crisp-lint's engine tests (helpers live in lint_helpers.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from lint_helpers import RepoMaker, git, render_project, write_tree


@pytest.fixture
def make_repo(tmp_path: Path) -> RepoMaker:
    """``make_repo({path: content}, git=True, commit=True)`` -> the repository's root."""

    def make(
        files: Mapping[str, str | bytes], *, git_init: bool = False, commit: bool = False
    ) -> Path:
        root = tmp_path / "repo"
        root.mkdir(exist_ok=True)
        write_tree(root, files)
        if git_init or commit:
            git(root, "init", "-q", "-b", "main")
        if commit:
            git(root, "add", "-A")
            git(root, "commit", "-q", "-m", "fixture")
        return root

    return make


@pytest.fixture(scope="session")
def generated_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh project from the template, shared by the tests that only read it."""
    return render_project(tmp_path_factory.mktemp("generated") / "project")
