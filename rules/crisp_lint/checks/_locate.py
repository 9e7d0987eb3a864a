"""Find the line a finding is about, so editors and SARIF viewers can jump to it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView


def line_of_key(repo: RepoView, path: str, *keys: str) -> int | None:
    """The line of a YAML key path (``"monitor", "minimum"``), matched by indentation.

    A best effort for messages: each key is looked for inside the block of the previous one
    (the lines indented deeper than it); None when it is not there.
    """
    lines = repo.lines(path) or []
    start, indent = 0, -1
    found = None
    for key in keys:
        pattern = re.compile(rf"^(?P<indent>\s*)(?:-\s+)?['\"]?{re.escape(key)}['\"]?\s*:")
        for number in range(start, len(lines)):
            if _ends_block(lines[number], indent):
                return None
            match = pattern.match(lines[number])
            if match and len(match["indent"]) > indent:
                found, start, indent = number + 1, number + 1, len(match["indent"])
                break
        else:
            return None
    return found


def _ends_block(line: str, indent: int) -> bool:
    """Whether ``line`` closes the block of a key at ``indent`` (-1: the document's top).
    A sequence may sit at its key's own indentation (``outs:`` then ``- data/raw``)."""
    stripped = line.lstrip()
    if indent < 0 or not stripped or stripped.startswith("#"):
        return False
    own = len(line) - len(stripped)
    return own < indent or (own == indent and not stripped.startswith("- "))


def line_containing(repo: RepoView, path: str, text: str) -> int | None:
    for number, line in enumerate(repo.lines(path) or [], start=1):
        if text in line:
            return number
    return None
