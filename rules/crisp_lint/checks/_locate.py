"""Find the line a finding is about, so editors and SARIF viewers can jump to it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView


def line_of_key(repo: RepoView, path: str, *keys: str) -> int | None:
    """The line of a YAML key path (``"monitor", "minimum"``), matched by indentation order.

    A best effort for messages: each key is looked for after the previous one, at a deeper
    indentation; None when not found.
    """
    lines = repo.lines(path) or []
    start, indent = 0, -1
    found = None
    for key in keys:
        pattern = re.compile(rf"^(?P<indent>\s*)(?:-\s+)?['\"]?{re.escape(key)}['\"]?\s*:")
        for number in range(start, len(lines)):
            match = pattern.match(lines[number])
            if match and len(match["indent"]) > indent:
                found, start, indent = number + 1, number + 1, len(match["indent"])
                break
        else:
            return None
    return found


def line_containing(repo: RepoView, path: str, text: str) -> int | None:
    for number, line in enumerate(repo.lines(path) or [], start=1):
        if text in line:
            return number
    return None
