"""Phase 1 rules: the success criteria and the business documents."""

from __future__ import annotations

import pytest
from rule_fixture import SUCCESS_CRITERIA, Project


def criteria(project: Project, text: str) -> None:
    project.write(SUCCESS_CRITERIA, text)


def test_missing_success_criteria_are_reported(project: Project) -> None:
    project.remove(SUCCESS_CRITERIA)
    assert project.messages("BU001") == ["the success criteria file is missing"]


def test_incomplete_success_criteria_name_each_missing_field_with_its_line(
    project: Project,
) -> None:
    criteria(project, "metric: f1_macro\ndirection: up\ntarget: high\n")
    problems = project.problems("BU001")
    assert [(p.line, p.message) for p in problems] == [
        (2, "`direction` must be maximize or minimize, got 'up'"),
        (3, "`target` must be a number, got 'high'"),
        (None, "`minimum` must be a number, got None"),
    ]


def test_a_boolean_threshold_is_not_a_number(project: Project) -> None:
    criteria(project, "metric: f1_macro\ndirection: maximize\ntarget: 0.9\nminimum: true\n")
    assert project.messages("BU001") == ["`minimum` must be a number, got True"]


def test_success_criteria_that_are_not_a_mapping_are_reported(project: Project) -> None:
    criteria(project, "- f1_macro\n- 0.9\n")
    assert project.messages("BU001") == [
        "must be a mapping with metric, direction, target, minimum"
    ]


@pytest.mark.parametrize("content", ["", "# to be agreed with the business\n"])
def test_empty_success_criteria_are_reported(project: Project, content: str) -> None:
    criteria(project, content)
    assert project.messages("BU001") == [
        "must be a mapping with metric, direction, target, minimum"
    ]


def test_malformed_success_criteria_are_left_to_the_repository_view(project: Project) -> None:
    criteria(project, "metric: [unclosed\n")
    assert project.problems("BU001") == []


@pytest.mark.parametrize(
    ("direction", "target", "minimum"),
    [("maximize", 0.90, 0.95), ("minimize", 0.20, 0.10)],
)
def test_success_criteria_minimum_better_than_target_is_reported(
    project: Project, direction: str, target: float, minimum: float
) -> None:
    metric = "f1_macro" if direction == "maximize" else "rmse"
    criteria(
        project, f"metric: {metric}\ndirection: {direction}\ntarget: {target}\nminimum: {minimum}\n"
    )
    (problem,) = project.problems("BU002")
    assert problem.line == 4
    assert problem.message == (
        f"minimum {minimum} is better than target {target} for a metric to {direction}"
    )


def test_a_minimum_equal_to_the_target_is_accepted(project: Project) -> None:
    criteria(project, "metric: rmse\ndirection: minimize\ntarget: 3.5\nminimum: 3.5\n")
    assert project.problems("BU002") == []


def test_a_metric_the_evaluation_does_not_compute_is_reported(project: Project) -> None:
    criteria(project, "metric: happiness\ndirection: maximize\ntarget: 0.9\nminimum: 0.8\n")
    (message,) = project.messages("BU003")
    assert message.startswith("metric 'happiness' is not computed by the evaluation stage")


def test_a_metric_pointing_the_wrong_way_is_reported(project: Project) -> None:
    criteria(project, "metric: mae\ndirection: maximize\ntarget: 5\nminimum: 3\n")
    assert project.messages("BU003") == [
        "mae is a metric to minimize, not to maximize: set `direction: minimize`"
    ]


@pytest.mark.parametrize(
    ("metric", "direction", "target", "minimum", "expected"),
    [
        ("accuracy", "maximize", 95, 0.9, "target 95 is outside [0, 1], the range of accuracy"),
        ("rmse", "minimize", -1, 2, "target -1 is negative; rmse is never below 0"),
        ("r2", "maximize", 1.2, 0.8, "target 1.2 is above 1, the best possible r2"),
    ],
)
def test_a_threshold_out_of_the_metric_range_is_reported(
    project: Project, metric: str, direction: str, target: float, minimum: float, expected: str
) -> None:
    criteria(
        project, f"metric: {metric}\ndirection: {direction}\ntarget: {target}\nminimum: {minimum}\n"
    )
    assert project.messages("BU003") == [expected]


@pytest.mark.parametrize(
    ("code", "document"),
    [
        ("BU004", "business-objectives.md"),
        ("BU005", "ml-objectives.md"),
        ("BU006", "feasibility.md"),
        ("BU007", "poc-scope.md"),
        ("BU008", "raw-data-verification.md"),
    ],
)
def test_a_business_document_still_a_placeholder_is_reported_at_the_marker(
    project: Project, code: str, document: str
) -> None:
    rel = f"phases/01-business-understanding/{document}"
    project.write(rel, "# Title\n\nTODO(crisp): say what the business wants.\n")
    (problem,) = project.problems(code)
    assert (problem.path, problem.line) == (rel, 3)
    assert "still a template placeholder" in problem.message
    project.remove(rel)
    assert project.messages(code)[0].endswith(f"missing; write it at {rel}")
