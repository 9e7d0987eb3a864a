"""select / extend-select / ignore work like ruff's: the most specific selector wins."""

from __future__ import annotations

import pytest

from crisp_lint.selection import is_selected


@pytest.mark.parametrize(
    ("code", "select", "extend", "ignore", "runs"),
    [
        ("BU101", None, (), (), True),  # default: every rule
        ("BU101", ("DU",), (), (), False),  # select narrows
        ("BU101", ("DU",), ("BU101",), (), True),  # extend-select adds
        ("BU101", None, (), ("BU",), False),  # ignore by prefix
        ("BU201", None, (), ("BU1",), True),  # ... only that prefix
        ("BU101", ("BU101",), (), ("BU",), True),  # a selected code beats an ignored prefix
        ("BU101", ("BU",), (), ("BU101",), False),  # an ignored code beats a selected prefix
        ("BU101", ("BU101",), (), ("BU101",), False),  # a tie goes to ignore
        ("GEN001", ("ALL",), (), (), True),
        ("GEN001", ("ALL",), (), ("GEN",), False),
        ("GEN001", (), (), (), False),  # an empty select runs nothing
    ],
)
def test_selection(
    code: str,
    select: tuple[str, ...] | None,
    extend: tuple[str, ...],
    ignore: tuple[str, ...],
    runs: bool,
) -> None:
    assert is_selected(code, select, extend, ignore) is runs
