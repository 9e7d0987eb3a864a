"""Rules that a phase document exists and is written: no TODO(crisp) placeholder left."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._locate import line_containing
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.repo import PLACEHOLDER
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView


def document_problems(repo: RepoView, path: str, what: str) -> Iterator[Problem]:
    """``path`` is missing, or still carries the template's placeholder (with its line)."""
    if not repo.is_file(path):
        yield Problem(path, f"{what}: missing; write it at {path}")
    elif repo.has_placeholder(path):
        yield Problem(
            path,
            f"{what}: still a template placeholder; replace every {PLACEHOLDER} marker",
            first_placeholder_line(repo, path),
        )


def first_placeholder_line(repo: RepoView, path: str) -> int | None:
    return line_containing(repo, path, PLACEHOLDER)


def document_rule(code: str, phase: Phase, path: str, what: str, *steps: str) -> None:
    """Register rule ``code``: the document ``what`` at ``path`` exists and is filled in."""
    rule(
        code,
        phase,
        f"{what[0].upper()}{what[1:]} missing or still a placeholder",
        rationale=f"{cite(*steps)}. The document is the evidence that the step was done.",
        fix=f"write {path} and remove every {PLACEHOLDER} marker",
    )(lambda repo: document_problems(repo, path, what))
