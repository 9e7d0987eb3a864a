"""Read DVC's ``.dvc/config`` (configobj-style INI) without importing DVC."""

from __future__ import annotations

import re
from typing import NamedTuple

from crisp_lint.checks._regex import lazy
from crisp_lint.model import split_lines

_SECTION = lazy(r"^\[\s*(?P<name>.+?)\s*\]$")
_OPTION = lazy(r"^(?P<key>[A-Za-z0-9_.-]+)\s*=\s*(?P<value>.*)$")


# A NamedTuple rather than a dataclass: see crisp_lint.model (start-up time).
class Option(NamedTuple):
    section: str  # e.g. ``core`` or ``remote "storage"``
    key: str
    value: str
    line: int


def parse_dvc_config(text: str) -> list[Option]:
    """Every ``key = value`` with its section and line; comments and blanks skipped."""
    options = []
    section = ""
    for number, raw in enumerate(split_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if match := _SECTION.match(line):
            # configobj quotes names with spaces: ['remote "storage"'] is remote "storage".
            section = " ".join(match["name"].strip("'").split())
        elif match := _OPTION.match(line):
            value = match["value"].strip().strip("'\"")
            options.append(Option(section, match["key"].lower(), value, number))
    return options


def remote_name(section: str) -> str | None:
    """``storage`` for the section ``remote "storage"``; None for other sections."""
    match = re.fullmatch(r'remote\s+"?(?P<name>[^"]+)"?', section)
    return match["name"] if match else None
