"""Phase 8 rules: monitoring documents, thresholds equal to the success criteria, the stage."""

from __future__ import annotations

import pytest
from rule_fixture import SUCCESS_CRITERIA, Project

FOLDER = "phases/08-monitoring"


@pytest.mark.parametrize(
    ("code", "document"),
    [
        ("MN001", "monitoring-plan.md"),
        ("MN002", "retraining-policy.md"),
        ("MN003", "labelling-procedure.md"),
    ],
)
def test_a_monitoring_document_still_a_placeholder_is_reported(
    project: Project, code: str, document: str
) -> None:
    project.write(f"{FOLDER}/{document}", "TODO(crisp)\n")
    assert project.problems(code)[0].line == 1


def test_monitoring_not_pointing_at_the_success_criteria_is_reported(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data["monitor"].pop("success_criteria"))
    assert project.messages("MN004") == [
        f"`monitor.success_criteria` must be {SUCCESS_CRITERIA}, got None"
    ]


def test_a_threshold_typed_again_with_another_value_is_reported(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data["monitor"].update(minimum=0.8))
    (problem,) = project.problems("MN004")
    assert problem.message == "`monitor.minimum` is 0.8 but the success criteria say 0.9"
    assert problem.line is not None


def test_a_threshold_typed_again_with_the_same_value_passes(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data["monitor"].update(threshold=0.9))
    assert project.problems("MN004") == []


def test_params_without_a_monitor_section_are_reported(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data.pop("monitor"))
    assert project.messages("MN004") == [
        f"no `monitor:` section with `success_criteria: {SUCCESS_CRITERIA}`"
    ]


def test_a_pipeline_without_a_monitor_stage_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"].pop("monitor"))
    assert project.messages("MN005") == ["no `monitor` stage"]


def test_a_monitor_stage_without_dashboard_retraining_or_criteria_is_reported(
    project: Project,
) -> None:
    project.edit_yaml(
        "dvc.yaml",
        lambda data: data["stages"]["monitor"].update(
            deps=["models/model.joblib"], outs=["reports/monitoring/drift.json"]
        ),
    )
    assert project.messages("MN005") == [
        "the monitor stage writes no HTML dashboard (step 8.2)",
        "the monitor stage writes no retraining decision (step 8.3)",
        f"the monitor stage does not depend on {SUCCESS_CRITERIA}",
    ]
