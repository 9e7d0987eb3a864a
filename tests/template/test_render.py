"""Rendering the template across the answer matrix gives a complete, well-formed project.

Eight answer sets cover every choice of every multiple-choice question at least once
(asserted below, so a new choice cannot go untested).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from template_rendering import REPO_ROOT, Render, render_project

PRE_COMMIT_TIMEOUT_SECONDS = 60

ANSWER_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "regression-rmse-s3-server-gitlab-bandit": {
        "license": "Apache-2.0",
        "python_version": "3.12",
        "ml_task": "regression",
        "metric": "rmse",
        "dvc_remote": "s3",
        "dvc_remote_url": "s3://ml-data/churn",
        "mlflow_tracking": "server",
        "mlflow_tracking_uri": "https://mlflow.example.com",
        "ci_provider": "gitlab",
        "deployment_strategy": "bandit",
        "include_example": False,
    },
    "accuracy-gcs-no-ci-shadow": {
        "license": "BSD-3-Clause",
        "python_version": "3.13",
        "metric": "accuracy",
        "metric_target": 0.95,
        "metric_minimum": 0.9,
        "dvc_remote": "gcs",
        "ci_provider": "none",
        "deployment_strategy": "shadow",
    },
    "proprietary-mae-azure-canary": {
        "project_name": "Delivery Time",
        "license": "proprietary",
        "ml_task": "regression",
        "metric": "mae",
        "dvc_remote": "azure",
        "mlflow_tracking": "server",
        "deployment_strategy": "canary",
        "include_example": False,
    },
    "r2-ssh-gitlab": {
        "python_version": "3.12",
        "ml_task": "regression",
        "metric": "r2",
        "metric_target": 0.5,
        "metric_minimum": 0.4,
        "dvc_remote": "ssh",
        "ci_provider": "gitlab",
    },
    "roc-auc-no-remote": {
        "license": "Apache-2.0",
        "python_version": "3.13",
        "metric": "roc_auc",
        "dvc_remote": "none",
        "deployment_strategy": "bandit",
    },
    "recall-server-no-ci-canary": {
        "license": "BSD-3-Clause",
        "metric": "recall_macro",
        "mlflow_tracking": "server",
        "ci_provider": "none",
        "deployment_strategy": "canary",
        "include_example": False,
    },
    "precision-s3-gitlab-shadow": {
        "license": "proprietary",
        "python_version": "3.12",
        "metric": "precision_macro",
        "dvc_remote": "s3",
        "ci_provider": "gitlab",
        "deployment_strategy": "shadow",
    },
}

PHASE_FOLDERS = {
    "phases/01-business-understanding": 5,
    "phases/02-literature-review": 5,
    "phases/03-data-understanding": 5,
    "phases/04-data-preparation": 9,
    "phases/05-modelling": 8,
    "phases/06-evaluation": 5,
    "phases/07-deployment": 5,
    "phases/08-monitoring": 5,
}

PHASE_DOCUMENTS = {
    "phases/01-business-understanding": [
        "business-objectives.md",
        "ml-objectives.md",
        "success-criteria.yaml",
        "raw-data-verification.md",
        "feasibility.md",
        "poc-scope.md",
    ],
    "phases/02-literature-review": [
        "review-criteria.md",
        "landscape.md",
        "methods-comparison.md",
        "chosen-methods.md",
    ],
    "phases/03-data-understanding": ["data-sources.md", "data-catalog.yaml", "data-quality.md"],
    "phases/04-data-preparation": ["preparation-log.md"],
    "phases/05-modelling": ["modelling-plan.md", "quality-measure.md", "baseline.md"],
    "phases/06-evaluation": [
        "evaluation-criteria.md",
        "robustness.md",
        "explainability.md",
        "model-card.md",
        "deploy-decision.md",
    ],
    "phases/07-deployment": [
        "deployment-strategy.md",
        "governance.md",
        "user-acceptance.md",
        "production-evaluation.md",
    ],
    "phases/08-monitoring": [
        "monitoring-plan.md",
        "retraining-policy.md",
        "labelling-procedure.md",
    ],
}

# Evidence that only exists once the pipeline has run (docs/architecture.md, "Pipeline outputs").
PIPELINE_OUTPUTS = {
    "dvc.lock",
    "data/split/indices.json",
    "reports/data-quality/report.md",
    "reports/data-quality/report.json",
    "reports/baseline/metrics.json",
    "reports/train/metrics.json",
    "reports/evaluation/metrics.json",
    "reports/evaluation/gate.json",
    "reports/evaluation/decision.md",
    "reports/evaluation/robustness.json",
    "reports/evaluation/explainability.json",
    "reports/monitoring/drift.json",
    "reports/monitoring/dashboard.html",
    "reports/monitoring/retrain.json",
}

CHECKLIST_HEADER = (
    "| ID | Step | Status | Evidence | Signed off by | Date | Notes |\n"
    "|----|------|--------|----------|---------------|------|-------|"
)
ROW = re.compile(r"^\| (\d)\.(\d) \|")
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
# GitHub Actions and GitLab CI expressions are not Jinja: `${{ github.sha }}`.
CI_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
JINJA_MARKERS = ("{{", "}}", "{%", "%}")
# Python legitimately writes `{{` (escaped braces) and `%}` (`f"{share:.0%}"`) in f-strings,
# so in Python files look for Jinja's own shapes instead.
JINJA_IN_PYTHON = re.compile(
    r"\{\{-?\s*[A-Za-z_][\w.]*\s*(\|[^}]*)?-?\}\}"
    r"|\{%-?\s*(if|elif|else|endif|for|endfor|set|raw|endraw|include|import|macro)\b"
)


@pytest.fixture(scope="module")
def projects(render: Render) -> dict[str, Path]:
    """Every answer set rendered once, on first use."""

    class Projects(dict[str, Path]):
        def __missing__(self, name: str) -> Path:
            self[name] = render(ANSWER_SETS[name])
            return self[name]

    return Projects()


@pytest.fixture(params=list(ANSWER_SETS))
def case(request: pytest.FixtureRequest, projects: dict[str, Path]) -> tuple[dict[str, Any], Path]:
    return ANSWER_SETS[request.param], projects[request.param]


def recorded_answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))


def files(project: Path) -> list[Path]:
    return sorted(
        path for path in project.rglob("*") if path.is_file() and ".git" not in path.parts
    )


def read_checklist_rows(checklist: Path) -> list[list[str]]:
    text = checklist.read_text(encoding="utf-8")
    assert text.count(CHECKLIST_HEADER) == 1, f"{checklist}: table header not found verbatim"
    rows = []
    for line in text.splitlines():
        if ROW.match(line):
            cells = [cell.strip() for cell in UNESCAPED_PIPE.split(line.strip()[1:-1])]
            assert len(cells) == 7, f"{checklist}: {line!r} does not have 7 cells"
            rows.append(cells)
    return rows


def test_answer_matrix_covers_every_choice(
    questionnaire: dict[str, Any], projects: dict[str, Path]
) -> None:
    recorded = [recorded_answers(projects[name]) for name in ANSWER_SETS]
    for question, spec in questionnaire.items():
        if question.startswith("_") or not isinstance(spec, dict):
            continue
        if spec.get("type") == "bool":
            choices = [True, False]
        elif "choices" in spec:
            raw = spec["choices"]
            values = raw.values() if isinstance(raw, dict) else raw
            choices = [value["value"] if isinstance(value, dict) else value for value in values]
        else:
            continue
        used = {answers[question] for answers in recorded}
        missing = [choice for choice in choices if choice not in used]
        assert not missing, f"no answer set uses {question}={missing}"


def test_no_jinja_left(case: tuple[dict[str, Any], Path]) -> None:
    _, project = case
    for path in files(project):
        relative = path.relative_to(project).as_posix()
        assert not any(marker in relative for marker in JINJA_MARKERS), relative
        assert not relative.endswith(".jinja"), relative
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            leftover = JINJA_IN_PYTHON.search(text)
            assert leftover is None, f"{relative}: Jinja left: {leftover and leftover[0]!r}"
            continue
        text = CI_EXPRESSION.sub("", text)
        for marker in JINJA_MARKERS:
            assert marker not in text, f"{relative}: Jinja marker {marker!r} left"


def test_phase_folders_hold_their_documents_and_checklists(
    case: tuple[dict[str, Any], Path],
) -> None:
    _, project = case
    assert sorted(p.relative_to(project).as_posix() for p in (project / "phases").iterdir()) == (
        sorted(PHASE_FOLDERS)
    )
    for folder, documents in PHASE_DOCUMENTS.items():
        present = {path.name for path in (project / folder).iterdir()}
        assert present == {"CHECKLIST.md", *documents}, folder
        for name in documents:
            if name.endswith(".md"):
                text = (project / folder / name).read_text(encoding="utf-8")
                assert "TODO(crisp)" in text, f"{folder}/{name} guides the team with TODO(crisp)"


def test_checklists_have_one_open_row_per_workflow_step(
    case: tuple[dict[str, Any], Path],
) -> None:
    _, project = case
    total = 0
    for number, (folder, steps) in enumerate(PHASE_FOLDERS.items(), start=1):
        rows = read_checklist_rows(project / folder / "CHECKLIST.md")
        assert [row[0] for row in rows] == [f"{number}.{step}" for step in range(1, steps + 1)]
        for row_id, step, status, evidence, signed, date, _notes in rows:
            assert step, row_id
            assert status == "open", row_id
            assert (signed, date) == ("", ""), row_id
            for path in evidence.split(", "):
                path = path.strip("`")
                assert path, f"{row_id}: no evidence path"
                assert (project / path).exists() or path in PIPELINE_OUTPUTS, (
                    f"{row_id}: evidence {path} is neither generated nor a pipeline output"
                )
        total += len(rows)
    assert total == 47


def test_structured_files_parse_and_python_compiles(case: tuple[dict[str, Any], Path]) -> None:
    _, project = case
    for path in files(project):
        text = path.read_text(encoding="utf-8")
        if path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(text))
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".py":
            compile(text, str(path), "exec")


def test_files_follow_the_answers(case: tuple[dict[str, Any], Path]) -> None:
    answers, project = case
    recorded = recorded_answers(project)
    for question, value in answers.items():
        assert recorded[question] == value, question

    ci = recorded["ci_provider"]
    assert (project / ".github" / "workflows").is_dir() == (ci == "github")
    assert (project / ".gitlab-ci.yml").is_file() == (ci == "gitlab")

    license_file = project / "LICENSE"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    if recorded["license"] == "proprietary":
        assert not license_file.exists()
        assert pyproject["project"]["license"] == "LicenseRef-Proprietary"
    else:
        heading = {
            "MIT": "MIT License",
            "Apache-2.0": "Apache License",
            "BSD-3-Clause": "BSD 3-Clause License",
        }[recorded["license"]]
        assert heading in license_file.read_text(encoding="utf-8").splitlines()[0]
        assert pyproject["project"]["license"] == recorded["license"]

    assert pyproject["project"]["name"] == recorded["project_slug"]
    assert pyproject["project"]["requires-python"] == f">={recorded['python_version']}"
    assert pyproject["tool"]["crisp-lint"]["phase"] == "business-understanding"
    package = recorded["package_name"]
    assert pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [f"src/{package}"]

    criteria = yaml.safe_load(
        (project / "phases/01-business-understanding/success-criteria.yaml").read_text()
    )
    assert criteria == {
        "metric": recorded["metric"],
        "direction": recorded["metric_direction"],
        "target": recorded["metric_target"],
        "minimum": recorded["metric_minimum"],
        # New projects gate on the pessimistic end of the confidence interval.
        "decide_on": "lower_bound",
    }

    strategy = (project / "phases/07-deployment/deployment-strategy.md").read_text()
    assert f"`deployment_strategy: {recorded['deployment_strategy']}`" in strategy
    assert "crisp_ml.runtime.router" in strategy


@pytest.mark.parametrize(
    ("answer", "folder"),
    [
        ("../team-dvc-storage", lambda root: root.parent / "team-dvc-storage"),
        ("dvc-storage", lambda root: root / "dvc-storage"),
        ("/srv/dvc/churn", lambda root: Path("/srv/dvc/churn")),
        ("~/dvc-storage", lambda root: Path.home() / "dvc-storage"),
    ],
    ids=["relative-outside", "relative-inside", "absolute", "home"],
)
def test_a_local_remote_is_the_folder_the_answer_names(
    render: Render, answer: str, folder: Any
) -> None:
    """As typed for `dvc remote add`: relative to the project root, absolute, or under ~."""
    from dvc.config import Config

    project = render({"dvc_remote": "local", "dvc_remote_url": answer})
    url = Config(dvc_dir=str(project / ".dvc"))["remote"]["storage"]["url"]
    assert Path(url) == folder(project).resolve()


def test_answers_that_do_not_apply_are_not_recorded(case: tuple[dict[str, Any], Path]) -> None:
    _, project = case
    recorded = recorded_answers(project)
    assert ("dvc_remote_url" in recorded) == (recorded["dvc_remote"] != "none")
    assert ("mlflow_tracking_uri" in recorded) == (recorded["mlflow_tracking"] == "server")
    assert recorded["_src_path"]


def test_ownership_is_stated_the_same_way_everywhere(
    case: tuple[dict[str, Any], Path], questionnaire: dict[str, Any]
) -> None:
    _, project = case
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    team_owned = pyproject["tool"]["crisp-ml"]["team-owned"]
    assert team_owned == questionnaire["_skip_if_exists"]
    ownership = (project / "OWNERSHIP.md").read_text(encoding="utf-8")
    for pattern in team_owned:
        assert f"`{pattern}`" in ownership, pattern


def test_the_readme_gives_update_commands_that_work_with_this_template(
    case: tuple[dict[str, Any], Path], questionnaire: dict[str, Any]
) -> None:
    _, project = case
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "crisp-ml update" in readme and "crisp-ml check-update" in readme
    plain = [line for line in readme.splitlines() if "copier update" in line]
    assert plain, "the README shows how to update with Copier alone"
    if questionnaire.get("_migrations"):
        # Without --trust, Copier refuses every update that crosses a migration.
        assert all("--trust" in line for line in plain), plain


def test_pre_commit_configs_are_valid(projects: dict[str, Path]) -> None:
    configs = [projects[name] / ".pre-commit-config.yaml" for name in ANSWER_SETS]
    for config in configs:
        assert config.is_file(), config
    # One pre-commit process validates them all (it accepts several files).
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", *map(str, configs)],
        capture_output=True,
        text=True,
        timeout=PRE_COMMIT_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_team_documents_survive_a_second_copy(template_src: Path, tmp_path: Path) -> None:
    """`_skip_if_exists`: once a phase document exists, the template never rewrites it."""
    project = render_project(template_src, tmp_path / "p")
    objectives = project / "phases/01-business-understanding/business-objectives.md"
    objectives.write_text("# Our objectives\n\nHalve manual review time by Q3.\n")
    import copier

    copier.run_copy(str(template_src), project, defaults=True, overwrite=True, quiet=True)
    assert objectives.read_text() == "# Our objectives\n\nHalve manual review time by Q3.\n"


def test_projects_pin_the_crisp_ml_release_that_generated_them(
    questionnaire: dict[str, Any],
) -> None:
    """copier.yml's hidden crisp_ml_version is this distribution's version, never stale."""
    import crisp_ml

    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    assert questionnaire["crisp_ml_version"]["default"] == version == crisp_ml.__version__
    assert questionnaire["crisp_ml_version"]["when"] is False  # not asked, not recorded
