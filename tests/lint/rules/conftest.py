"""Fixtures for the rule tests: ``project`` is a private copy of a valid project.

The project and its helpers live in rule_fixture.py, which tests import by that unique
name (every test folder has a conftest.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rule_fixture import Project, build_valid_project


@pytest.fixture(scope="session")
def _valid_project_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_valid_project(tmp_path_factory.mktemp("valid") / "project").root


@pytest.fixture
def project(_valid_project_source: Path, tmp_path: Path) -> Project:
    """A private copy of the valid project (git index included) for one test to break."""
    root = tmp_path / "project"
    shutil.copytree(_valid_project_source, root, symlinks=True)
    return Project(root)
