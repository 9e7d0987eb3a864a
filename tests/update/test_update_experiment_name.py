"""The MLflow experiment name is drawn once and never renamed by an update.

Projects sharing one tracking server must not share an experiment, so a new project's
``mlflow_experiment`` answer defaults to its slug plus a random suffix, stored in
``.copier-answers.yml``. A project generated before the question existed has its runs and
registered model under the bare slug: updating it must keep that name, not draw a new one.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from updatelib import build_split_template_repo, generate_project, git, run

SLUG = "crisp-ml-demo"  # the default answers' slug
SUFFIXED = rf"^{SLUG}-[0-9a-f]{{6}}$"


def experiment_in(project: Path) -> str:
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    return params["mlflow"]["experiment"]


def answers_of(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def copier_update(project: Path, vcs_ref: str) -> None:
    done = run(
        [
            *(sys.executable, "-m", "copier", "update", "--trust", "--defaults"),
            *("--skip-answered", "--conflict", "inline", "--vcs-ref", vcs_ref, "."),
        ],
        cwd=project,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tagged v1.1.0 (before the question existed) and v2.0.0 (this checkout)."""
    return build_split_template_repo(tmp_path_factory.mktemp("naming") / "template")


@pytest.mark.slow
def test_two_projects_generated_with_defaults_get_different_experiments(
    template: Path, tmp_path: Path
) -> None:
    first = generate_project(template, tmp_path / "first", "v2.0.0")
    second = generate_project(template, tmp_path / "second", "v2.0.0")
    names = {experiment_in(first), experiment_in(second)}
    assert len(names) == 2
    for project in (first, second):
        name = experiment_in(project)
        assert re.match(SUFFIXED, name), name
        # Stored in the answers: that is what keeps it stable across updates.
        assert answers_of(project)["mlflow_experiment"] == name


@pytest.mark.slow
def test_an_update_keeps_a_new_projects_experiment(template: Path, tmp_path: Path) -> None:
    project = generate_project(template, tmp_path / "project", "v2.0.0")
    before = experiment_in(project)
    copier_update(project, "v2.0.0")
    assert experiment_in(project) == before
    assert answers_of(project)["mlflow_experiment"] == before


@pytest.mark.slow
def test_updating_a_project_from_before_the_question_keeps_the_slug(
    template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    old = generate_project(template, tmp_path_factory.mktemp("v1") / "project", "v1.1.0")
    assert "mlflow_experiment" not in answers_of(old)
    assert experiment_in(old) == SLUG
    project = old.parent / "updated"
    shutil.copytree(old, project, symlinks=True)
    copier_update(project, "v2.0.0")
    assert experiment_in(project) == SLUG  # its runs and registered model live there
    assert answers_of(project)["mlflow_experiment"] == SLUG
    # And stays so from then on: the answer is stored now.
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Update to v2.0.0")
    copier_update(project, "v2.0.0")
    assert experiment_in(project) == SLUG


@pytest.mark.slow
def test_a_team_that_renamed_its_experiment_keeps_its_name(template: Path, tmp_path: Path) -> None:
    project = generate_project(template, tmp_path / "project", "v1.1.0")
    params = project / "params.yaml"
    text = params.read_text(encoding="utf-8")
    params.write_text(text.replace(f"experiment: {SLUG}\n", "experiment: churn-team-a\n"))
    git(project, "commit", "--quiet", "-am", "Team: our own experiment on the shared server")
    copier_update(project, "v2.0.0")
    assert experiment_in(project) == "churn-team-a"
