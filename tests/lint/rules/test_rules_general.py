"""Repository-wide rules: no data, large files, secrets or notebook outputs in git, and a
project that keeps up with its template."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from rule_fixture import GIT_IDENTITY, Project

from crisp_lint.model import REGISTRY, Severity


def test_a_large_tracked_file_is_reported(project: Project) -> None:
    project.write_bytes("docs/slides.pdf", b"x" * 600 * 1024)
    project.track("docs/slides.pdf")
    assert project.messages("GEN010") == ["600 KB tracked by git (limit 500 KB): track it with DVC"]


def test_a_large_file_git_ignores_is_not_reported(project: Project) -> None:
    project.write_bytes("data/raw/big.bin", b"x" * 600 * 1024)
    assert project.problems("GEN010") == []


@pytest.mark.parametrize("name", ["features.csv", "model.joblib", "table.parquet", "net.h5"])
def test_a_data_or_model_file_tracked_by_git_is_reported(project: Project, name: str) -> None:
    project.write(f"notebooks/{name}", "x")
    project.track(f"notebooks/{name}")
    (problem,) = project.problems("GEN011")
    assert problem.path == f"notebooks/{name}"


def test_small_fixtures_under_tests_and_cache_false_outputs_may_stay_in_git(
    project: Project,
) -> None:
    project.write("tests/fixtures/rows.csv", "a\n1\n")
    project.track("tests/fixtures/rows.csv", "reports/evaluation/plots/predictions.csv")
    assert project.problems("GEN011") == []


def test_declared_outputs_are_not_called_stray_data_while_dvc_yaml_does_not_parse(
    project: Project,
) -> None:
    """GEN002 fails the run; GEN011 cannot tell a `cache: false` output from stray data."""
    project.write("dvc.yaml", "stages:\n  evaluate: [unclosed\n")
    assert project.problems("GEN011") == []


def test_a_data_file_that_is_only_untracked_is_not_reported(project: Project) -> None:
    project.write("scratch.csv", "a\n1\n")
    assert project.problems("GEN011") == []


def test_secrets_in_the_committed_dvc_config_are_reported(project: Project) -> None:
    project.write(
        ".dvc/config",
        """\
        [core]
            remote = storage
        ['remote "storage"']
            url = s3://bucket/path
            access_key_id = AKIAEXAMPLE
            secret_access_key = abc123
            ask_password = false
        """,
    )
    problems = project.problems("GEN012")
    assert [(p.line, p.message) for p in problems] == [
        (5, '[remote "storage"] access_key_id holds a secret in the committed config'),
        (6, '[remote "storage"] secret_access_key holds a secret in the committed config'),
    ]


def test_a_remote_url_with_a_password_in_dvc_config_is_reported(project: Project) -> None:
    project.write(
        ".dvc/config",
        # crisp-lint: ignore[GEN013] a made-up secret the rule must find
        "[core]\n    remote = s\n['remote \"s\"']\n    url = ssh://ana:hunter2@host/dvc\n",
    )
    assert project.messages("GEN012") == ["a URL with a password (ana:***@) is committed"]


def test_a_tracking_uri_with_a_password_in_params_is_reported(project: Project) -> None:
    project.edit_yaml(
        "params.yaml",
        # crisp-lint: ignore[GEN013] a made-up secret the rule must find
        lambda data: data["mlflow"].update(tracking_uri="https://ana:s3cret@mlflow.example.com"),
    )
    (problem,) = project.problems("GEN013")
    assert problem.path == "params.yaml"
    assert problem.message == "a URL with a password (ana:***@) is committed"
    assert "s3cret" not in problem.message


def test_a_password_from_an_environment_variable_is_not_a_secret(project: Project) -> None:
    project.write("deploy.env", "MLFLOW_TRACKING_URI=https://ana:${MLFLOW_PASSWORD}@host\n")
    project.track("deploy.env")
    assert project.problems("GEN013") == []


def test_a_password_in_a_committed_env_file_is_reported(project: Project) -> None:
    # crisp-lint: ignore[GEN013] a made-up secret the rule must find
    project.write(".env.ci", "DATABASE_URL=postgresql://app:pa55@db/app\n")
    project.track(".env.ci")
    assert project.messages("GEN013") == ["a URL with a password (app:***@) is committed"]


def test_a_token_in_params_is_reported_at_its_line(project: Project) -> None:
    # crisp-lint: ignore[GEN022] a made-up secret the rule must find
    project.edit_yaml("params.yaml", lambda data: data["deploy"].update(api_token="ghp_123"))
    (problem,) = project.problems("GEN014")
    assert problem.message == "`deploy.api_token` holds a literal secret"
    assert problem.line is not None


def test_empty_or_referenced_secrets_in_params_pass(project: Project) -> None:
    project.edit_yaml(
        "params.yaml", lambda data: data["deploy"].update(token="", password="${DEPLOY_PASSWORD}")
    )
    assert project.problems("GEN014") == []


def notebook(outputs: list, execution_count: int | None) -> str:
    cell = {"cell_type": "code", "source": ["1 + 1"], "metadata": {}}
    cell.update(outputs=outputs, execution_count=execution_count)
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_a_notebook_committed_with_outputs_is_reported(project: Project) -> None:
    project.write("notebooks/eda.ipynb", notebook([{"output_type": "stream"}], 3))
    project.track("notebooks/eda.ipynb")
    assert project.messages("GEN015") == ["1 cell(s) carry outputs or execution counts"]


def test_a_notebook_without_outputs_passes(project: Project) -> None:
    project.write("notebooks/eda.ipynb", notebook([], None))
    project.track("notebooks/eda.ipynb")
    assert project.problems("GEN015") == []


def make_template(root: Path, *tags: str) -> Path:
    """A local template repository with one commit per tag."""

    def git(*args: str) -> None:
        environment = {**os.environ, **GIT_IDENTITY}
        subprocess.run(
            ["git", *args], cwd=root, check=True, capture_output=True, timeout=60, env=environment
        )

    root.mkdir()
    git("init", "-q", "-b", "main", "--template=")
    for tag in tags:
        git("commit", "-q", "--allow-empty", "-m", tag)
        git("tag", tag)
    return root


def test_a_project_behind_its_local_template_is_reported(project: Project, tmp_path: Path) -> None:
    template = make_template(tmp_path / "template", "v1.0.0", "v1.1.0")
    project.write(".copier-answers.yml", f"_commit: v1.0.0\n_src_path: {template}\n")
    (problem,) = project.problems("GEN016")
    assert problem.path == ".copier-answers.yml"
    assert problem.line == 1
    assert problem.message == f"generated from template v1.0.0; v1.1.0 is available from {template}"


def test_a_project_on_the_latest_template_passes(project: Project, tmp_path: Path) -> None:
    template = make_template(tmp_path / "template", "v1.0.0", "v1.1.0")
    project.write(".copier-answers.yml", f"_commit: v1.1.0-2-gabc1234\n_src_path: {template}\n")
    assert project.problems("GEN016") == []


def test_a_remote_template_is_not_checked_offline(project: Project) -> None:
    project.write(
        ".copier-answers.yml", "_commit: v0.0.1\n_src_path: https://github.com/org/template.git\n"
    )
    assert project.problems("GEN016") == []


def test_an_answers_file_naming_an_impossible_path_is_skipped(project: Project) -> None:
    project.write(".copier-answers.yml", '_commit: v1.0.0\n_src_path: "bad\\0path"\n')
    assert project.problems("GEN016") == []


def test_template_drift_is_a_warning_not_an_error() -> None:
    assert REGISTRY["GEN016"].severity is Severity.WARNING


def test_a_project_with_its_crisp_ml_layer_is_judged_phase_by_phase(project: Project) -> None:
    from crisp_lint.config import load_config
    from crisp_lint.engine import lint
    from crisp_lint.repo import RepoView

    report = lint(RepoView(project.root, load_config(project.root)))
    assert report.adopted and "GEN006" not in {f.code for f in report.findings}


def test_a_project_stripped_of_its_crisp_ml_layer_gets_only_gen006(project: Project) -> None:
    import shutil

    from crisp_lint.config import load_config
    from crisp_lint.engine import lint
    from crisp_lint.repo import RepoView

    shutil.rmtree(project.root / "phases")
    project.replace("pyproject.toml", 'phase = "monitoring"\n', "")
    report = lint(RepoView(project.root, load_config(project.root)))
    assert not report.adopted
    assert [(f.code, f.path, f.severity) for f in report.findings] == [
        ("GEN006", ".", Severity.ERROR)
    ]
    assert REGISTRY["GEN006"].phase.value == "general"
