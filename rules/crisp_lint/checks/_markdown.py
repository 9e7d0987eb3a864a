"""Just enough Markdown for the rules: headings with their sections, and pipe tables."""

from __future__ import annotations

from typing import NamedTuple

from crisp_lint.checklist import FENCE, SEPARATOR_CELL, split_cells
from crisp_lint.checks._regex import lazy

_HEADING = lazy(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")


# NamedTuples rather than dataclasses: see crisp_lint.model (start-up time).
class Section(NamedTuple):
    title: str
    level: int
    line: int
    body: list[str]  # the lines up to the next heading of the same or a higher level


class Table(NamedTuple):
    header: list[str]
    rows: list[list[str]]
    line: int


def sections(lines: list[str]) -> list[Section]:
    headings = []
    in_fence = False
    for index, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (match := _HEADING.match(line)):
            headings.append((index, len(match["hashes"]), match["title"]))
    found = []
    for position, (index, level, title) in enumerate(headings):
        end = len(lines)
        for later_index, later_level, _ in headings[position + 1 :]:
            if later_level <= level:
                end = later_index
                break
        found.append(Section(title, level, index + 1, lines[index + 1 : end]))
    return found


def tables(lines: list[str]) -> list[Table]:
    """Pipe tables with a header and a separator line; rows with any number of cells."""
    found = []
    index = 0
    while index < len(lines) - 1:
        header = split_cells(lines[index])
        separator = split_cells(lines[index + 1])
        if header and separator and all(SEPARATOR_CELL.match(c) for c in separator):
            rows = []
            cursor = index + 2
            while cursor < len(lines) and (cells := split_cells(lines[cursor])) is not None:
                rows.append(cells)
                cursor += 1
            found.append(Table(header, rows, index + 1))
            index = cursor
        else:
            index += 1
    return found
