"""Phase 6 rules: the gate on the success metric, its reports, and the decision documents."""

from __future__ import annotations

import pytest
from rule_fixture import SUCCESS_CRITERIA, Project

from crisp_lint.model import REGISTRY
from crisp_lint.repo import MALFORMED, RepoView

FOLDER = "phases/06-evaluation"
GATE = "reports/evaluation/gate.json"
DECISION = f"{FOLDER}/deploy-decision.md"


@pytest.mark.parametrize(
    ("code", "document"),
    [
        ("EV001", "evaluation-criteria.md"),
        ("EV002", "model-card.md"),
        ("EV003", "deploy-decision.md"),
        ("EV004", "robustness.md"),
        ("EV005", "explainability.md"),
    ],
)
def test_an_evaluation_document_still_a_placeholder_is_reported(
    project: Project, code: str, document: str
) -> None:
    project.write(f"{FOLDER}/{document}", "# Card\n\n| Field | TODO(crisp) |\n")
    (problem,) = project.problems(code)
    assert (problem.path, problem.line) == (f"{FOLDER}/{document}", 3)


def test_a_pipeline_without_an_evaluate_stage_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"].pop("evaluate"))
    assert project.messages("EV006") == ["no `evaluate` stage"]


def test_an_evaluation_not_reading_the_success_criteria_is_reported(project: Project) -> None:
    project.edit_yaml(
        "params.yaml", lambda data: data["evaluate"].update(success_criteria="x.yaml")
    )
    project.edit_yaml(
        "dvc.yaml", lambda data: data["stages"]["evaluate"]["deps"].remove(SUCCESS_CRITERIA)
    )
    assert project.messages("EV006") == [
        f"`evaluate.success_criteria` must be {SUCCESS_CRITERIA}, got 'x.yaml'",
        f"the evaluate stage does not depend on {SUCCESS_CRITERIA}",
    ]


def test_an_evaluate_stage_without_metrics_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"]["evaluate"].pop("metrics"))
    assert project.messages("EV006") == ["the evaluate stage declares no `metrics:`"]


def test_evaluation_metrics_without_the_success_metric_are_reported(project: Project) -> None:
    project.write_json("reports/evaluation/metrics.json", {"accuracy": 0.97})
    project.write_json(GATE, {"decision": "go", "metric": "f1_macro"})
    assert project.messages("EV006") == [
        "the evaluation metrics do not include the success metric f1_macro"
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("f1_macro: 0.96\n", []),
        ("accuracy: 0.97\n", ["the evaluation metrics do not include the success metric f1_macro"]),
    ],
)
def test_yaml_metrics_files_are_read_as_yaml(
    project: Project, written: str, expected: list[str]
) -> None:
    metrics = "reports/evaluation/metrics.yaml"
    project.edit_yaml("dvc.yaml", lambda data: data["stages"]["evaluate"].update(metrics=[metrics]))
    project.write(metrics, written)
    repo = RepoView(project.root)
    assert [p.message for p in REGISTRY["EV006"].check(repo)] == expected
    assert repo.problems(MALFORMED) == []  # not misread as JSON


def test_declared_metric_names_in_params_must_include_the_success_metric(
    project: Project,
) -> None:
    project.edit_yaml("params.yaml", lambda data: data["evaluate"].update(metrics=["accuracy"]))
    assert project.messages("EV006") == [
        "`evaluate.metrics` does not include the success metric f1_macro"
    ]


def test_an_evaluate_stage_without_robustness_and_explainability_reports_is_reported(
    project: Project,
) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"]["evaluate"].pop("outs"))
    assert project.messages("EV007") == [
        "the evaluate stage writes no robustness report (step 6.2)",
        "the evaluate stage writes no explainability report (step 6.3)",
    ]


def test_a_missing_gate_result_is_reported(project: Project) -> None:
    project.remove(GATE)
    assert project.messages("EV008") == ["not found: run `dvc repro evaluate` or `dvc pull`"]


def test_a_gate_of_json_null_is_reported(project: Project) -> None:
    project.write(GATE, "null\n")
    assert project.messages("EV008") == ['must be an object with "decision": "go" or "no-go"']


def test_a_gate_without_a_decision_is_reported(project: Project) -> None:
    project.write_json(GATE, {"decision": "maybe"})
    assert project.messages("EV008") == ['must be an object with "decision": "go" or "no-go"']


def test_a_gate_on_stale_criteria_is_reported(project: Project) -> None:
    project.write_json(GATE, {"decision": "go", "metric": "accuracy", "minimum": 0.8})
    assert project.messages("EV008") == [
        "gated on 'accuracy', not the success metric f1_macro: re-run `dvc repro evaluate`",
        f"gated on minimum 0.8, not 0.9 from {SUCCESS_CRITERIA}: re-run `dvc repro evaluate`",
    ]


def test_a_deploy_decision_contradicting_the_gate_is_reported(project: Project) -> None:
    project.write_json(GATE, {"decision": "no-go", "metric": "f1_macro", "minimum": 0.9})
    (problem,) = project.problems("EV009")
    assert problem.line == 5
    assert problem.message == f"records gate decision 'go'; {GATE} says no-go"


def test_a_gate_row_still_a_placeholder_is_left_to_the_document_rule(project: Project) -> None:
    project.write(
        DECISION,
        "| Field | Value |\n|---|---|\n| Gate decision | TODO(crisp): go or no-go |\n",
    )
    assert project.problems("EV009") == []
    assert project.messages("EV003")


def test_a_deploy_decision_without_a_gate_row_is_reported(project: Project) -> None:
    project.write(DECISION, "# Decision\n\nWe deploy.\n")
    assert project.messages("EV009") == ["no `Gate decision` row recording the gate's verdict"]
