"""Parse a phase's ``CHECKLIST.md``: one Markdown table in the format of docs/architecture.md.

The parser is exact on structure (one table, the verbatim header, seven cells per row, a
known status) and reports each deviation with its line instead of guessing. What a row
*means* (evidence exists, sign-off present...) is for the rules to judge.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from crisp_lint.model import split_lines

HEADER: tuple[str, ...] = ("ID", "Step", "Status", "Evidence", "Signed off by", "Date", "Notes")
HEADER_LINE = "| " + " | ".join(HEADER) + " |"
STATUSES: tuple[str, ...] = ("open", "done", "n/a")

# Markdown syntax shared with the document rules (checks/_markdown.py).
SEPARATOR_CELL = re.compile(r"^:?-+:?$")
FENCE = re.compile(r"^\s*(```|~~~)")
_MARKDOWN_LINK = re.compile(r"^\[[^\]]*\]\((?P<target>[^)\s]+)\)$")


# A NamedTuple and a slotted class rather than dataclasses: see crisp_lint.model.
class ChecklistRow(NamedTuple):
    id: str
    step: str
    status: str
    evidence: list[str]
    signed_off_by: str
    date: str
    notes: str
    line: int


class Checklist:
    """A parsed checklist, filled in as it is read; compared and shown by all its fields."""

    __slots__ = ("errors", "malformed_ids", "path", "rows")
    _FIELDS = ("path", "rows", "errors", "malformed_ids")
    __hash__ = None  # type: ignore[assignment]  # mutable, so unhashable

    def __init__(
        self,
        path: str,
        rows: list[ChecklistRow] | None = None,
        errors: list[tuple[int | None, str]] | None = None,
        malformed_ids: set[str] | None = None,
    ) -> None:
        self.path = path
        self.rows = [] if rows is None else rows
        self.errors = [] if errors is None else errors
        # Ids of rows rejected for their shape: they have a row (reported in ``errors``),
        # just not one that parses, so coverage must not also call them missing.
        self.malformed_ids = set() if malformed_ids is None else malformed_ids

    def _values(self) -> tuple[object, ...]:
        return (self.path, self.rows, self.errors, self.malformed_ids)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={v!r}" for n, v in zip(self._FIELDS, self._values(), strict=True))
        return f"Checklist({fields})"


def parse_checklist(text: str, path: str) -> Checklist:
    """Read the single checklist table of ``text`` (the content of ``path``)."""
    checklist = Checklist(path)
    tables = _tables(text)
    if not tables:
        checklist.errors.append((None, f"no checklist table found; start it with {HEADER_LINE}"))
        return checklist
    for extra in tables[1:]:
        checklist.errors.append(
            (extra[0][0], "a second table: a checklist holds exactly one table (merge them)")
        )
    _parse_table(tables[0], checklist)
    return checklist


def split_cells(line: str) -> list[str] | None:
    """The cells of a table line, ``\\|`` unescaped; None when the line is not ``| ... |``."""
    stripped = line.strip()
    if len(stripped) < 2 or not stripped.startswith("|") or not _ends_with_pipe(stripped):
        return None
    cells: list[str] = []
    current: list[str] = []
    index = 1
    while index < len(stripped):
        char = stripped[index]
        if char == "\\" and index + 1 < len(stripped) and stripped[index + 1] == "|":
            current.append("|")
            index += 2
            continue
        if char == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    return cells


def parse_evidence(cell: str) -> list[str]:
    """Paths of an Evidence cell: ``a, `b`, [c](c)`` gives ``["a", "b", "c"]``."""
    paths = []
    for item in cell.split(","):
        item = item.strip()
        if link := _MARKDOWN_LINK.match(item):
            item = link["target"]
        item = item.strip("`").strip()
        if item:
            paths.append(item)
    return paths


def _ends_with_pipe(stripped: str) -> bool:
    """True when the last ``|`` closes the row rather than being an escaped ``\\|``."""
    trailing_backslashes = len(stripped[:-1]) - len(stripped[:-1].rstrip("\\"))
    return stripped.endswith("|") and trailing_backslashes % 2 == 0


def _tables(text: str) -> list[list[tuple[int, str]]]:
    """Blocks of consecutive lines starting with ``|``, outside fenced code blocks."""
    tables: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    in_fence = False
    for number, line in enumerate(split_lines(text), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
        is_table_line = not in_fence and line.lstrip().startswith("|")
        if is_table_line:
            current.append((number, line))
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def _parse_table(lines: list[tuple[int, str]], checklist: Checklist) -> None:
    header_number, header_line = lines[0]
    if tuple(split_cells(header_line) or ()) != HEADER:
        checklist.errors.append((header_number, f"the table header must be {HEADER_LINE}"))
        return
    if len(lines) < 2 or not _is_separator(lines[1][1]):
        checklist.errors.append(
            (header_number + 1, "the header must be followed by a |----|...| separator line")
        )
        return
    for number, line in lines[2:]:
        cells = split_cells(line)
        if cells is None:
            checklist.errors.append(
                (number, "a table row must start and end with | (escape a | in a cell as \\|)")
            )
            checklist.malformed_ids.add(_first_cell(line))
            continue
        if len(cells) != len(HEADER):
            checklist.errors.append(
                (number, f"row has {len(cells)} cells, expected {len(HEADER)} ({HEADER_LINE})")
            )
            checklist.malformed_ids.add(_first_cell(line))
            continue
        row_id, step, status, evidence, signed_off_by, date, notes = cells
        if status.lower() not in STATUSES:
            checklist.errors.append(
                (number, f"unknown status {status!r}: use one of {', '.join(STATUSES)}")
            )
        checklist.rows.append(
            ChecklistRow(
                id=row_id,
                step=step,
                status=status.lower(),
                evidence=parse_evidence(evidence),
                signed_off_by=signed_off_by,
                date=date,
                notes=notes,
                line=number,
            )
        )


def _first_cell(line: str) -> str:
    """The step id a malformed row starts with, as far as it can be read."""
    return line.strip().removeprefix("|").split("|", 1)[0].strip()


def _is_separator(line: str) -> bool:
    cells = split_cells(line)
    return (
        bool(cells)
        and len(cells) == len(HEADER)
        and all(SEPARATOR_CELL.match(cell) for cell in cells)
    )
