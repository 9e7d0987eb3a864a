"""Fixtures for update tests: one tagged template repo per session, fresh projects per test."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from updatelib import CRISP_ML, PlumbingFiles, build_template_repo, generate_project, run


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PlumbingFiles]:
    return build_template_repo(tmp_path_factory.mktemp("template") / "crisp-ml-template")


@pytest.fixture(scope="session")
def generated(
    template_repo: tuple[Path, PlumbingFiles], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """A pristine project per template version, generated once and committed."""
    cache: dict[str, Path] = {}

    def at(version: str) -> Path:
        if version not in cache:
            folder = tmp_path_factory.mktemp(f"generated-{version}") / "project"
            cache[version] = generate_project(template_repo[0], folder, version)
        return cache[version]

    return at


@pytest.fixture
def new_project(generated: Callable[[str], Path], tmp_path: Path) -> Callable[..., Path]:
    """Copy of a generated project (git history included) in this test's tmp folder."""
    counter = 0

    def make(version: str, name: str | None = None) -> Path:
        nonlocal counter
        counter += 1
        destination = tmp_path / (name or f"project-{counter}")
        shutil.copytree(generated(version), destination, symlinks=True)
        return destination

    return make


class CrispMl:
    """Runs the crisp-ml CLI in a subprocess, as a user would."""

    def __call__(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return run([*CRISP_ML, *args], cwd=cwd)

    def update_json(self, *args: str, cwd: Path | None = None) -> tuple[int, dict]:
        done = self("update", "--output-format", "json", *args, cwd=cwd)
        try:
            return done.returncode, json.loads(done.stdout)
        except ValueError:
            raise AssertionError(f"no JSON on stdout:\n{done.stdout}\n{done.stderr}") from None


@pytest.fixture(scope="session")
def crisp_ml() -> CrispMl:
    return CrispMl()
