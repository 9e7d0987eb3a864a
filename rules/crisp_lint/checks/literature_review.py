"""Literature & Best Practices Review (phase 2): criteria, landscape, pros/cons, the choice."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._documents import PLACEHOLDER, document_rule
from crisp_lint.checks._markdown import Table, tables
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.LITERATURE_REVIEW
FOLDER = PHASE.folder
METHODS_COMPARISON = f"{FOLDER}/methods-comparison.md"
CHOSEN_METHODS = f"{FOLDER}/chosen-methods.md"
MIN_METHODS = 2

register_checklist_rules(PHASE)

document_rule("LR001", PHASE, f"{FOLDER}/review-criteria.md", "review criteria", "2.1")
document_rule(
    "LR002", PHASE, f"{FOLDER}/landscape.md", "landscape of products and literature", "2.2", "2.3"
)


def _column(table: Table, start: str, excluding: str | None = None) -> int | None:
    """The first column whose header starts with the regex ``start`` (``pros?\\b`` finds
    "Pros" but not "Provider"), skipping headers that contain ``excluding``."""
    pattern = re.compile(start)
    for index, cell in enumerate(table.header):
        lowered = cell.lower()
        if pattern.match(lowered) and not (excluding and excluding in lowered):
            return index
    return None


def _filled(row: list[str], *columns: int) -> bool:
    """The row has text in every given column and no placeholder anywhere."""
    cells = [row[c].strip() if c < len(row) else "" for c in columns]
    return all(cells) and not any(PLACEHOLDER in cell for cell in row)


@rule(
    "LR003",
    PHASE,
    "No pros/cons table comparing at least two methods",
    rationale=f"{cite('2.4')}. A choice is only a choice when the alternatives were compared.",
    fix=f"fill the table in {METHODS_COMPARISON}: a Method, a Pros and a Cons column, one"
    f" complete row per method (at least {MIN_METHODS}), no {PLACEHOLDER} left",
)
def pros_cons_table(repo: RepoView) -> Iterator[Problem]:
    lines = repo.lines(METHODS_COMPARISON)
    if lines is None:
        if not repo.exists(METHODS_COMPARISON):  # else unreadable: GEN001 says why
            yield Problem(METHODS_COMPARISON, "the methods comparison is missing")
        return
    for table in tables(lines):
        pros, cons = _column(table, r"pros?\b"), _column(table, r"cons?\b")
        if pros is None or cons is None:
            continue
        complete = [row for row in table.rows if _filled(row, 0, pros, cons)]
        if len(complete) < MIN_METHODS:
            yield Problem(
                METHODS_COMPARISON,
                f"the pros/cons table has {len(complete)} complete method row(s); compare at"
                f" least {MIN_METHODS}",
                table.line,
            )
        for offset, row in enumerate(table.rows, start=2):
            if any(PLACEHOLDER in cell for cell in row):
                yield Problem(
                    METHODS_COMPARISON,
                    f"a row of the pros/cons table is still {PLACEHOLDER}",
                    table.line + offset,
                )
        return
    yield Problem(METHODS_COMPARISON, "no table with Pros and Cons columns")


@rule(
    "LR004",
    PHASE,
    "No chosen subset of methods with reasons",
    rationale=f"{cite('2.5')}. Phase 5 builds on the chosen methods; the reasons keep the"
    " choice reviewable.",
    fix=f"list each chosen method with its reason in the table of {CHOSEN_METHODS}",
)
def chosen_methods(repo: RepoView) -> Iterator[Problem]:
    lines = repo.lines(CHOSEN_METHODS)
    if lines is None:
        if not repo.exists(CHOSEN_METHODS):  # else unreadable: GEN001 says why
            yield Problem(CHOSEN_METHODS, "the chosen methods are missing")
        return
    for table in tables(lines):
        method, reason = _column(table, "method"), _column(table, "reason", excluding="not")
        if method is None or reason is None:
            continue
        complete = [row for row in table.rows if _filled(row, method, reason)]
        if not complete:
            yield Problem(CHOSEN_METHODS, "no chosen method with its reason", table.line)
        for offset, row in enumerate(table.rows, start=2):
            if row not in complete and any(cell.strip() for cell in row):
                yield Problem(
                    CHOSEN_METHODS,
                    "a chosen method without a reason, or still a placeholder",
                    table.line + offset,
                )
        return
    yield Problem(CHOSEN_METHODS, "no table with a Method and a Reason column")
