"""Phase 5 rules: modelling documents, the baseline stage, MLflow tracking, dvc.lock."""

from __future__ import annotations

import pytest
from rule_fixture import PIPELINE, Project

from crisp_lint.model import REGISTRY
from crisp_lint.repo import RepoView

FOLDER = "phases/05-modelling"


@pytest.mark.parametrize(
    ("code", "document"),
    [("MO001", "modelling-plan.md"), ("MO002", "quality-measure.md"), ("MO003", "baseline.md")],
)
def test_a_modelling_document_still_a_placeholder_is_reported(
    project: Project, code: str, document: str
) -> None:
    project.write(f"{FOLDER}/{document}", "# Plan\n\nTODO(crisp): the plan\n")
    (problem,) = project.problems(code)
    assert problem.line == 3


def test_a_quality_measure_that_ignores_the_success_criteria_is_reported(
    project: Project,
) -> None:
    project.write(f"{FOLDER}/quality-measure.md", "# Quality\n\nWe use accuracy >= 0.9.\n")
    assert project.messages("MO004") == [
        "does not refer to phases/01-business-understanding/success-criteria.yaml"
    ]


def test_a_pipeline_without_a_baseline_stage_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"].pop("baseline"))
    assert project.messages("MO005") == ["no `baseline` stage"]


def test_a_baseline_stage_that_writes_nothing_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"]["baseline"].pop("metrics"))
    assert project.messages("MO005") == ["the baseline stage declares no metrics or outputs"]


def test_training_code_that_never_uses_mlflow_is_reported(project: Project) -> None:
    project.write("src/iris/tracking.py", "import json\n")
    assert project.messages("MO006") == [
        "stage `train` runs this file, which never uses mlflow or dvclive"
    ]
    assert project.problems("MO006")[0].path == "src/iris/train.py"


def test_training_that_logs_to_dvclive_passes(project: Project) -> None:
    project.write("src/iris/tracking.py", "import json\n")
    project.write("src/iris/train.py", "from dvclive import Live\n")
    assert project.problems("MO006") == []


def test_training_that_imports_mlflow_directly_passes(project: Project) -> None:
    project.write("src/iris/train.py", "import mlflow\n")
    assert project.problems("MO006") == []


def test_a_training_script_run_by_path_is_followed(project: Project) -> None:
    project.write("scripts/train.py", "from mlflow import log_metric\n")
    project.edit_yaml(
        "dvc.yaml", lambda data: data["stages"]["train"].update(cmd="python scripts/train.py")
    )
    assert project.problems("MO006") == []


def test_a_train_stage_whose_code_cannot_be_found_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"]["train"].update(cmd="bash train.sh"))
    (message,) = project.messages("MO006")
    assert message.startswith("cannot find the Python file stage `train` runs")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///mlflow.db", "`sqlite:///mlflow.db` is relative to the working directory"),
        ("./mlruns", "`./mlruns` is a file store, which MLflow refuses"),
        ("file:///tmp/mlruns", "`file:///tmp/mlruns` is a file store, which MLflow refuses"),
    ],
)
def test_a_tracking_uri_that_loses_runs_is_reported(
    project: Project, uri: str, expected: str
) -> None:
    project.edit_yaml("params.yaml", lambda data: data["mlflow"].update(tracking_uri=uri))
    (problem,) = project.problems("MO007")
    assert problem.message == expected
    assert problem.line is not None


@pytest.mark.parametrize("uri", ["sqlite:////srv/mlflow.db", "https://mlflow.example.com"])
def test_absolute_sqlite_and_server_uris_pass(project: Project, uri: str) -> None:
    project.edit_yaml("params.yaml", lambda data: data["mlflow"].update(tracking_uri=uri))
    assert project.problems("MO007") == []


def test_a_missing_dvc_lock_is_reported(project: Project) -> None:
    project.git("rm", "-q", "--cached", "dvc.lock")
    project.remove("dvc.lock")
    assert project.messages("MO008") == ["missing: run `dvc repro` and commit dvc.lock"]


def test_an_uncommitted_dvc_lock_is_reported(project: Project) -> None:
    project.git("rm", "-q", "--cached", "dvc.lock")
    assert project.messages("MO008") == ["not committed: `git add dvc.lock`"]


def test_dvc_lock_is_not_called_uncommitted_when_git_cannot_list_the_files(
    project: Project,
) -> None:
    (project.root / ".git" / "index").write_bytes(b"garbage")  # GEN001 names the cause
    assert project.problems("MO008") == []


def test_a_stage_missing_from_dvc_lock_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.lock", lambda data: data["stages"].pop("monitor"))
    assert project.messages("MO008") == ["stage `monitor` has never been run: `dvc repro monitor`"]


def test_an_empty_dvc_lock_covers_no_stage(project: Project) -> None:
    project.write("dvc.lock", "")
    assert project.messages("MO008") == [
        f"stage `{name}` has never been run: `dvc repro {name}`" for name in PIPELINE["stages"]
    ]


def test_foreach_stages_are_covered_by_their_expanded_lock_entries(project: Project) -> None:
    project.edit_yaml(
        "dvc.yaml",
        lambda data: data["stages"].update(
            sweep={"foreach": [1, 2], "do": {"cmd": "echo ${item}"}}
        ),
    )
    project.edit_yaml(
        "dvc.lock", lambda data: data["stages"].update({"sweep@0": {}, "sweep@1": {}})
    )
    assert project.problems("MO008") == []


def test_a_training_script_is_found_relative_to_the_stage_wdir(project: Project) -> None:
    project.write("pipeline/train.py", "import json\n")
    project.edit_yaml(
        "dvc.yaml",
        lambda data: data["stages"]["train"].update(wdir="pipeline", cmd="python train.py"),
    )
    (problem,) = project.problems("MO006")
    assert problem.path == "pipeline/train.py"


RUN_RECORD = "reports/train/run.json"


def commit_run_record(project: Project, git_state: str) -> None:
    project.write_json(
        RUN_RECORD,
        {
            "experiment": "iris",
            "git_state": git_state,
            "model_sha256": "ab" * 32,
            "tracking_uri": "sqlite:///mlflow.db",
        },
    )
    project.track(RUN_RECORD)
    project.git("commit", "-q", "-m", "train")


def test_a_committed_model_trained_from_committed_code_passes(project: Project) -> None:
    commit_run_record(project, "clean")
    assert project.problems("MO009") == []


@pytest.mark.parametrize(
    ("git_state", "why"),
    [
        ("dirty", "the model was trained from uncommitted code"),
        ("uncommitted", "the model was trained before the first commit"),
        ("no-git", "the model was trained outside a git repository"),
    ],
)
def test_a_committed_model_trained_from_uncommitted_code_is_reported(
    project: Project, git_state: str, why: str
) -> None:
    commit_run_record(project, git_state)
    (problem,) = project.problems("MO009")
    assert problem.path == RUN_RECORD
    assert problem.message == (
        f"{why} (git_state `{git_state}`); commit, then `dvc repro --force train` and commit"
        " the new results"
    )
    assert problem.line == 3  # sorted keys: experiment, git_state


def test_a_run_record_not_committed_yet_is_not_judged(project: Project) -> None:
    project.write_json(RUN_RECORD, {"git_state": "dirty"})
    assert project.problems("MO009") == []


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"run_id": "abc"}', '{"git_state": 3}'])
def test_a_malformed_or_older_run_record_is_left_to_other_rules(
    project: Project, text: str
) -> None:
    project.write(RUN_RECORD, text)
    project.track(RUN_RECORD)
    view = RepoView(project.root)
    assert list(REGISTRY["MO009"].check(view)) == []
    assert bool(view.problems("GEN002")) == (text == "{not json")
