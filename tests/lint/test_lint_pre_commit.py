"""The hook this repository provides (.pre-commit-hooks.yaml) installs and runs through
pre-commit itself, on a generated project: it passes fresh and fails once the declared phase
moves past an unfinished one. pre-commit installs crisp-ml from PyPI's dependencies, so this
is slow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lint_helpers import GIT_IDENTITY, REPO_ROOT, git

PRE_COMMIT = (sys.executable, "-m", "pre_commit")
PRE_COMMIT_TIMEOUT_SECONDS = 900


def test_the_manifest_declares_the_hook_as_documented() -> None:
    [hook] = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "crisp-lint"
    assert hook["entry"] == "crisp-lint"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
    assert hook["always_run"] is True


def snapshot_of_this_checkout(dest: Path) -> Path:
    """This work tree as a one-commit repository. try-repo would otherwise take HEAD plus
    tracked changes only, missing files not yet added."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        source = REPO_ROOT / rel
        if source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "snapshot")
    return dest


def try_repo(hook_repo: Path, project: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PRE_COMMIT, "try-repo", str(hook_repo), "crisp-lint", "--all-files", "--color=never"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=PRE_COMMIT_TIMEOUT_SECONDS,
        env={**os.environ, **GIT_IDENTITY, "PRE_COMMIT_HOME": str(home)},
    )


@pytest.mark.slow
def test_try_repo_passes_a_fresh_project_and_refuses_an_early_phase_move(
    generated_project: Path, tmp_path: Path
) -> None:
    hook_repo = snapshot_of_this_checkout(tmp_path / "crisp-ml")
    project = tmp_path / "project"
    shutil.copytree(generated_project, project, symlinks=True)
    home = tmp_path / "pre-commit-home"

    fresh = try_repo(hook_repo, project, home)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert "crisp-lint (CRISP-ML phase checks)" in fresh.stdout

    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'phase = "business-understanding"', 'phase = "literature-review"'
        )
    )
    moved = try_repo(hook_repo, project, home)
    assert moved.returncode == 1
    assert "phase business-understanding is not clean:" in moved.stdout
