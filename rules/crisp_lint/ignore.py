""".gitignore semantics for walking a folder that is not a git work tree.

Only imported outside git (pathspec costs ~30 ms to import); inside a work tree git itself
applies the ignore files.
"""

from __future__ import annotations

import re

import pathspec

# A .gitignore line no person wrote is passed over. pathspec turns each pattern into a regular
# expression that backtracks, in time that grows with the path's length to the power of the
# pattern's wildcards: ten `*?` pairs took 3 s per path (git's own matcher does not backtrack
# so). A person's pattern has a few wildcards and fits in a line; a longer line (random
# bytes, 100,000 `[`) would only cost its translation, and is passed over too.
MAX_PATTERN_CHARACTERS = 1024
MAX_PATTERN_WILDCARDS = 8
_WILDCARD = re.compile(r"\*+|\?|\[")  # a run of stars is one wildcard, `**` included


class IgnoreRules:
    """The .gitignore files met so far on a top-down walk, deepest last."""

    def __init__(self) -> None:
        self._specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []

    def add(self, folder_prefix: str, gitignore_text: str) -> None:
        """Add the rules of ``<folder_prefix>.gitignore`` (prefix "" for the root)."""
        lines = filter(_written_by_a_person, gitignore_text.splitlines())
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        self._specs.append((folder_prefix, spec))

    def ignored(self, rel: str, *, is_dir: bool) -> bool:
        """Whether ``rel`` is ignored; a deeper .gitignore overrides a shallower one."""
        verdict = False
        for prefix, spec in self._specs:
            if not rel.startswith(prefix):
                continue
            local = rel[len(prefix) :] + ("/" if is_dir else "")
            include = spec.check_file(local).include
            if include is not None:
                verdict = include
        return verdict


def _written_by_a_person(line: str) -> bool:
    if len(line) > MAX_PATTERN_CHARACTERS:
        return False
    return len(_WILDCARD.findall(line)) <= MAX_PATTERN_WILDCARDS
