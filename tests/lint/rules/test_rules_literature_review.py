"""Phase 2 rules: the review documents, the pros/cons table and the chosen methods."""

from __future__ import annotations

import pytest
from rule_fixture import Project

FOLDER = "phases/02-literature-review"
COMPARISON = f"{FOLDER}/methods-comparison.md"
CHOSEN = f"{FOLDER}/chosen-methods.md"


@pytest.mark.parametrize(
    ("code", "document"), [("LR001", "review-criteria.md"), ("LR002", "landscape.md")]
)
def test_a_review_document_still_a_placeholder_is_reported(
    project: Project, code: str, document: str
) -> None:
    project.write(f"{FOLDER}/{document}", "TODO(crisp): the criteria\n")
    assert project.problems(code)[0].line == 1


def test_a_pros_cons_table_with_one_method_is_reported_at_the_table(project: Project) -> None:
    project.write(
        COMPARISON,
        """\
        # Methods comparison

        | Method | Pros | Cons |
        |--------|------|------|
        | Random forest | strong default | slower inference |
        """,
    )
    (problem,) = project.problems("LR003")
    assert problem.line == 3
    assert problem.message == (
        "the pros/cons table has 1 complete method row(s); compare at least 2"
    )


def test_placeholder_rows_do_not_count_as_methods_and_are_reported(project: Project) -> None:
    project.write(
        COMPARISON,
        """\
        | Method | Pros | Cons | Reported performance |
        |--------|------|------|----------------------|
        | Logistic regression | fast | linear | TODO(crisp) |
        | Random forest | strong | slow | 0.93 |
        | Boosting | strong | tuning | 0.95 |
        """,
    )
    assert [(p.line, p.message) for p in project.problems("LR003")] == [
        (3, "a row of the pros/cons table is still TODO(crisp)")
    ]


def test_pros_and_cons_columns_are_found_by_their_whole_word(project: Project) -> None:
    """A "Provider" or "Context" column before them is not taken for Pros or Cons."""
    project.write(
        COMPARISON,
        """\
        | Method | Provider | Context | Pros | Cons |
        |--------|----------|---------|------|------|
        | Logistic regression | open source | | fast | linear |
        | AutoML service | a SaaS vendor | | quick start | cost |
        """,
    )
    assert project.problems("LR003") == []


def test_a_comparison_without_pros_and_cons_columns_is_reported(project: Project) -> None:
    project.write(COMPARISON, "| Method | Score |\n|---|---|\n| a | 1 |\n| b | 2 |\n")
    assert project.messages("LR003") == ["no table with Pros and Cons columns"]


def test_chosen_methods_without_reasons_are_reported(project: Project) -> None:
    project.write(
        CHOSEN,
        """\
        | Method | Role | Reason for choosing |
        |--------|------|---------------------|
        | Random forest | first candidate | |
        """,
    )
    assert project.messages("LR004") == [
        "no chosen method with its reason",
        "a chosen method without a reason, or still a placeholder",
    ]


def test_a_reasoning_column_holds_the_reasons(project: Project) -> None:
    """Step 2.5 asks for "reasonings": that header names the reason column too."""
    project.write(CHOSEN, "| Method | Reasoning |\n|---|---|\n| Random forest | robust |\n")
    assert project.problems("LR004") == []


def test_a_missing_chosen_methods_document_is_reported(project: Project) -> None:
    project.remove(CHOSEN)
    assert project.messages("LR004") == ["the chosen methods are missing"]
