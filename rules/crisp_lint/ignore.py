""".gitignore semantics for walking a folder that is not a git work tree.

Only imported outside git (pathspec costs ~30 ms to import); inside a work tree git itself
applies the ignore files.
"""

from __future__ import annotations

import pathspec


class IgnoreRules:
    """The .gitignore files met so far on a top-down walk, deepest last."""

    def __init__(self) -> None:
        self._specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []

    def add(self, folder_prefix: str, gitignore_text: str) -> None:
        """Add the rules of ``<folder_prefix>.gitignore`` (prefix "" for the root)."""
        spec = pathspec.GitIgnoreSpec.from_lines(gitignore_text.splitlines())
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
