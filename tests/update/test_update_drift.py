"""template_drift: the light-weight version check shared by check-update and crisp-lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from updatelib import git

from crisp_lint.drift import Drift, describe_to_version, newest_release, template_drift


@pytest.fixture
def tagged_template(tmp_path: Path) -> Path:
    """A template repo with releases, a pre-release and a tag that is no version."""
    repo = tmp_path / "template"
    repo.mkdir()
    git(repo, "init", "--quiet")
    for tag in ("v1.0.0", "v1.1.0", "v2.0.0rc1", "nightly"):
        git(repo, "commit", "--quiet", "--allow-empty", "-m", tag)
        git(repo, "tag", tag)
    return repo


def project_with(tmp_path: Path, answers: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    (project / ".copier-answers.yml").write_text(answers)
    return project


@pytest.mark.parametrize(
    ("commit", "update_available"),
    [
        ("v1.0.0", True),
        ("v1.0.0-3-gabc1234", True),  # three commits past v1.0.0 is still older than v1.1.0
        ("v1.1.0", False),
        ("v1.1.0-2-gabc1234", False),  # past the newest release: nothing newer to take
    ],
)
def test_a_local_source_is_compared_offline(tmp_path, tagged_template, commit, update_available):
    project = project_with(tmp_path, f"_commit: {commit}\n_src_path: {tagged_template}\n")

    drift = template_drift(project)

    assert drift == Drift(commit, "v1.1.0", update_available, str(tagged_template), None)
    assert drift.known


def test_file_urls_and_paths_relative_to_the_project_are_local(tmp_path, tagged_template):
    as_url = template_drift(
        project_with(tmp_path, f"_commit: v1.0.0\n_src_path: file://{tagged_template}\n")
    )
    relative = template_drift(project_with(tmp_path, "_commit: v1.0.0\n_src_path: ../template\n"))

    assert as_url.latest == relative.latest == "v1.1.0"


def test_a_remote_source_is_unknown_offline(tmp_path):
    project = project_with(tmp_path, "_commit: v1.0.0\n_src_path: gh:crisp-ml/crisp-ml\n")

    drift = template_drift(project)

    assert (drift.current, drift.latest, drift.update_available) == ("v1.0.0", None, False)
    assert drift.reason == "unknown (remote source; offline)"


def test_an_unreachable_remote_is_reported_not_raised(tmp_path):
    project = project_with(
        tmp_path, "_commit: v1.0.0\n_src_path: https://127.0.0.1:9/crisp-ml.git\n"
    )

    drift = template_drift(project, remote=True, timeout=20)

    assert not drift.known and not drift.update_available
    assert "cannot list tags" in drift.reason or "took over" in drift.reason


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (None, ".copier-answers.yml not found"),
        ("_commit: [v1\n", "not valid YAML (line 2)"),
        ("- a list\n", "not a mapping"),
        ("_commit: v1.0.0\n", "names no template"),
        ("_src_path: /somewhere\n", "records no template commit"),
        ("_commit: v1.0.0\n_src_path: /no/such/template\n", "does not exist"),
    ],
)
def test_unreadable_answers_give_a_reason(tmp_path, answers, reason):
    project = tmp_path / "project"
    project.mkdir()
    if answers is not None:
        (project / ".copier-answers.yml").write_text(answers)

    drift = template_drift(project)

    assert not drift.known and not drift.update_available
    assert reason in drift.reason


def test_a_commit_that_is_no_version_is_reported(tmp_path, tagged_template):
    project = project_with(tmp_path, f"_commit: 4f2a9c1\n_src_path: {tagged_template}\n")

    drift = template_drift(project)

    assert drift.latest == "v1.1.0" and not drift.update_available
    assert "not a version tag" in drift.reason


def test_newest_release_ignores_prereleases_and_non_versions():
    assert newest_release(["v1.0.0", "v1.10.0", "v1.9.0", "v2.0.0a1", "latest"]) == "v1.10.0"
    assert newest_release(["latest", "v3.0.0rc1"]) is None


def test_describe_strings_order_like_copier():
    assert describe_to_version("v1.0.0") < describe_to_version("v1.0.0-1-gabc1234")
    assert describe_to_version("v1.0.0-9-gabc1234") < describe_to_version("v1.0.1")
    assert describe_to_version("main-3-gabc1234") is None


def test_drift_imports_neither_copier_nor_heavy_libraries():
    code = (
        "import sys, crisp_lint.drift\n"
        "heavy = {'copier', 'plumbum', 'pydantic', 'jinja2', 'dvc', 'pandas'} & set(sys.modules)\n"
        "print(sorted(heavy))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "text",
    ["v1.0.0", "V1.0.0.post3+gabc1234", "1!2.0rc1.dev3", " 1.0 ", "1.0-1", "1.0arev1dev2",
     "1.0preview2", "1.0_rev1", "1234567", "6a14561", "1.0+ABC.x-y", "1.0c"],
)  # fmt: skip
def test_every_version_passes_the_pre_check(text: str) -> None:
    """The cheap pre-check that spares importing packaging rejects no PEP 440 version."""
    from packaging.version import Version

    from crisp_lint.drift import _may_be_version

    Version(text)  # a version indeed
    assert _may_be_version(text)


@pytest.mark.parametrize("text", ["6e14561", "abc1234", "deadbee", "nightly", "v", "", "x1.0"])
def test_short_hashes_and_names_are_no_version(text: str) -> None:
    from crisp_lint.drift import _may_be_version

    assert not _may_be_version(text)
    assert describe_to_version(text) is None
