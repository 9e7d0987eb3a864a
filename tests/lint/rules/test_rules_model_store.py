"""MO010: a committed model reference names the tracking store params.yaml configures.

run.json and the promotion audit trail record the store their version numbers belong to
(``tracking_uri``, as crisp_ml.runtime.tracking.public_uri writes it). A commit made after
falling back to another store points at a model the configured one does not have.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rule_fixture import PROMOTION, Project

RUN_RECORD = "reports/train/run.json"
PROMOTIONS = "reports/deployment/promotions.jsonl"
SERVER = "https://mlflow.example.com"
RERUN = "`dvc repro --force train`"


def commit_run_record(project: Project, **fields: Any) -> None:
    record = {"experiment": "iris-3fa9c1", "git_state": "clean", "model_sha256": "ab" * 32}
    project.write_json(RUN_RECORD, {**record, **fields})
    project.track(RUN_RECORD)
    project.git("commit", "-q", "-m", "train")


def configure_server(project: Project, uri: str | None = SERVER) -> None:
    project.edit_yaml("params.yaml", lambda params: params["mlflow"].update(tracking_uri=uri))


def commit_promotions(project: Project, *stores: str | None) -> None:
    lines = [
        {**PROMOTION, **({"tracking_uri": store} if store is not None else {})} for store in stores
    ]
    project.write(PROMOTIONS, "".join(json.dumps(line) + "\n" for line in lines))
    project.track(PROMOTIONS)
    project.git("commit", "-q", "--allow-empty", "-m", "promote")  # may equal the fixture's


def test_a_run_record_in_the_embedded_store_the_project_uses_passes(project: Project) -> None:
    commit_run_record(project, tracking_uri="sqlite:///mlflow.db")  # params.yaml: null
    assert project.problems("MO010") == []


@pytest.mark.parametrize(
    "recorded",
    [
        SERVER,
        f"{SERVER}/",  # a trailing slash is the same server
        "HTTPS://MLflow.Example.com",  # so are the scheme's and the host's case
    ],
)
def test_a_run_record_on_the_configured_server_passes(project: Project, recorded: str) -> None:
    configure_server(project)
    commit_run_record(project, tracking_uri=recorded)
    assert project.problems("MO010") == []


def test_an_absolute_path_to_the_projects_own_database_is_the_embedded_store(
    project: Project,
) -> None:
    configure_server(project, f"sqlite:///{project.root.resolve()}/mlflow.db")
    commit_run_record(project, tracking_uri="sqlite:///mlflow.db")
    assert project.problems("MO010") == []


def test_a_model_trained_against_the_local_fallback_is_reported_with_both_stores(
    project: Project,
) -> None:
    configure_server(project)
    commit_run_record(project, tracking_uri="sqlite:///mlflow.db")
    (problem,) = project.problems("MO010")
    assert problem.path == RUN_RECORD
    assert problem.message == (
        f"the model is in the tracking store `sqlite:///mlflow.db`, but params.yaml configures"
        f" `{SERVER}`, which may not have it: {RERUN} with MLFLOW_TRACKING_URI unset and commit"
        " the new results, or set `mlflow.tracking_uri` in params.yaml to `sqlite:///mlflow.db`"
    )
    assert problem.line == 5  # sorted keys: experiment, git_state, model_sha256, tracking_uri


def test_a_model_on_another_server_than_the_embedded_store_configured_is_reported(
    project: Project,
) -> None:
    commit_run_record(project, tracking_uri=SERVER)
    (message,) = project.messages("MO010")
    assert f"`{SERVER}`" in message and "configures `sqlite:///mlflow.db`" in message


def test_a_run_record_without_its_store_is_reported_with_how_to_write_it(
    project: Project,
) -> None:
    commit_run_record(project)
    (message,) = project.messages("MO010")
    assert message.startswith("records no `tracking_uri`")
    assert "public_uri(tracking_uri(root, params), root)" in message and RERUN in message


def test_a_run_record_not_committed_yet_is_not_judged(project: Project) -> None:
    configure_server(project)
    project.write_json(RUN_RECORD, {"tracking_uri": "sqlite:///mlflow.db"})
    assert project.problems("MO010") == []


def test_the_latest_promotion_in_another_registry_is_reported(project: Project) -> None:
    configure_server(project)
    commit_promotions(project, SERVER, "sqlite:///mlflow.db")
    (problem,) = project.problems("MO010")
    assert (problem.path, problem.line) == (PROMOTIONS, 2)
    assert "registry `sqlite:///mlflow.db`, but params.yaml configures" in problem.message
    assert "`make promote` with MLFLOW_TRACKING_URI unset" in problem.message


def test_only_the_latest_promotion_decides(project: Project) -> None:
    configure_server(project)
    # An old promotion in the local store, then promotions on the server: serving is right.
    commit_promotions(project, "sqlite:///mlflow.db", SERVER)
    assert project.problems("MO010") == []


def test_a_promotion_written_before_stores_were_recorded_is_not_judged(
    project: Project,
) -> None:
    configure_server(project)
    commit_promotions(project, None)
    assert project.problems("MO010") == []
