"""The CHECKLIST.md format of docs/architecture.md, parsed exactly."""

from __future__ import annotations

from crisp_lint.checklist import HEADER_LINE, parse_checklist, parse_evidence, split_cells

HEAD = """\
# Phase 1 · Business Understanding: QA checklist

Explanation for people.

| ID | Step | Status | Evidence | Signed off by | Date | Notes |
|----|------|--------|----------|---------------|------|-------|
"""


def parse(rows: str, head: str = HEAD):
    return parse_checklist(head + rows, "phases/01-business-understanding/CHECKLIST.md")


def test_a_row_is_read_into_its_seven_fields_with_its_line() -> None:
    checklist = parse(
        "| 1.1 | Define business objectives | done | a.md | ana | 2026-11-02 | ok |\n"
    )
    assert checklist.errors == []
    (row,) = checklist.rows
    assert (row.id, row.step, row.status, row.evidence) == (
        "1.1",
        "Define business objectives",
        "done",
        ["a.md"],
    )
    assert (row.signed_off_by, row.date, row.notes, row.line) == ("ana", "2026-11-02", "ok", 7)


def test_lines_are_counted_as_editors_count_them() -> None:
    """A form feed or U+2028 pasted into a cell neither splits the row nor shifts the
    line numbers after it; only \\n, \\r\\n and \\r end a line."""
    checklist = parse(
        "| 1.1 | Define\u2028business objectives | open | a.md | | | |\r\n"
        "| 1.2 | Translate\x0cobjectives | open | b.md | | | |\n"
    )
    assert checklist.errors == []
    assert [(row.id, row.line) for row in checklist.rows] == [("1.1", 7), ("1.2", 8)]


def test_the_template_row_with_empty_cells_parses() -> None:
    checklist = parse("| 1.1 | Define business objectives | open | a.md | | | |\n")
    assert checklist.errors == []
    assert checklist.rows[0].signed_off_by == checklist.rows[0].notes == ""


def test_evidence_is_split_on_commas_and_loses_backticks_and_link_syntax() -> None:
    assert parse_evidence("`a.md`, b/c.yaml, [report](reports/x.md)") == [
        "a.md",
        "b/c.yaml",
        "reports/x.md",
    ]
    assert parse_evidence("  ") == []


def test_an_escaped_pipe_stays_inside_its_cell() -> None:
    checklist = parse(r"| 1.1 | Step | n/a | | ana | 2026-11-02 | no A\|B test possible |" + "\n")
    assert checklist.errors == []
    assert checklist.rows[0].notes == "no A|B test possible"


def test_status_is_case_insensitive_and_padding_is_ignored() -> None:
    checklist = parse("|   1.1   |  Step  |  DONE  | a.md | ana | 2026-11-02 |  |\n")
    assert checklist.errors == []
    assert checklist.rows[0].status == "done"


def test_an_unknown_status_is_reported_with_its_line() -> None:
    checklist = parse("| 1.1 | Step | finished | a.md | ana | 2026-11-02 | |\n")
    assert checklist.errors == [(7, "unknown status 'finished': use one of open, done, n/a")]


def test_a_row_with_the_wrong_number_of_cells_is_reported_and_skipped() -> None:
    checklist = parse("| 1.1 | Step | done | a.md | ana | 2026-11-02 |\n")
    assert checklist.rows == []
    assert checklist.errors == [(7, f"row has 6 cells, expected 7 ({HEADER_LINE})")]


def test_an_unescaped_pipe_in_a_cell_shows_as_an_extra_cell() -> None:
    checklist = parse("| 1.1 | Step | n/a | | ana | 2026-11-02 | A|B |\n")
    assert [line for line, _ in checklist.errors] == [7]


def test_a_row_not_closed_by_a_pipe_is_reported() -> None:
    checklist = parse("| 1.1 | Step | done | a.md | ana | 2026-11-02 | note\n")
    assert checklist.errors[0][0] == 7
    assert "must start and end with |" in checklist.errors[0][1]


def test_a_file_without_a_table_is_one_error_without_a_line() -> None:
    checklist = parse_checklist("# Checklist\n\nNothing yet.\n", "CHECKLIST.md")
    assert checklist.rows == []
    assert checklist.errors == [(None, f"no checklist table found; start it with {HEADER_LINE}")]


def test_a_changed_header_is_reported_and_no_row_is_trusted() -> None:
    head = (
        "| ID | Step | State | Evidence | Signed off by | Date | Notes |\n|--|--|--|--|--|--|--|\n"
    )
    checklist = parse("| 1.1 | Step | done | a.md | ana | 2026-11-02 | |\n", head=head)
    assert checklist.rows == []
    assert checklist.errors == [(1, f"the table header must be {HEADER_LINE}")]


def test_a_missing_separator_line_is_reported() -> None:
    head = "| ID | Step | Status | Evidence | Signed off by | Date | Notes |\n"
    checklist = parse("| 1.1 | Step | done | a.md | ana | 2026-11-02 | |\n", head=head)
    assert checklist.errors == [(2, "the header must be followed by a |----|...| separator line")]


def test_a_second_table_is_reported_at_its_first_line() -> None:
    checklist = parse("| 1.1 | Step | open | a.md | | | |\n\n| a | b |\n|---|---|\n")
    assert len(checklist.rows) == 1
    assert checklist.errors == [
        (9, "a second table: a checklist holds exactly one table (merge them)")
    ]


def test_tables_inside_fenced_code_blocks_are_examples_not_the_checklist() -> None:
    text = "```\n| a | b |\n|---|---|\n```\n" + HEAD + "| 1.1 | Step | open | a.md | | | |\n"
    checklist = parse_checklist(text, "CHECKLIST.md")
    assert checklist.errors == []
    assert [row.id for row in checklist.rows] == ["1.1"]


def test_split_cells_rejects_lines_that_are_not_table_rows() -> None:
    assert split_cells("no table here") is None
    assert split_cells(r"| a | b \|") is None
    assert split_cells("| a | b |") == ["a", "b"]
