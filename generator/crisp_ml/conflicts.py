"""Find every trace of an unfinished merge that ``copier update`` can leave behind.

Copier exits 0 even when it could not merge (renovate#31600), so its exit code proves
nothing. Depending on the version and the file, a conflict shows up as inline markers, as a
``.rej`` file next to the target despite ``--conflict inline`` (copier#2386), or as an
unmerged path in the index. We look for all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crisp_ml.git import git_output, status_paths

# Git and Copier write these at the start of a line; "=======" alone is too common in
# Markdown (setext headings) to count without an opening marker.
_OPENING = b"<<<<<<< "
_CLOSING = b">>>>>>> "
_LARGEST_TEXT_FILE = 5_000_000


@dataclass(frozen=True, order=True)
class Conflict:
    path: str  # repository-relative, forward slashes
    kind: str  # "markers" | "rej-file" | "unmerged"


def find_conflicts(repo: Path, changed: list[str]) -> list[Conflict]:
    """Conflicts in ``repo`` after an update that touched the ``changed`` paths."""
    found: set[Conflict] = set()
    unmerged = git_output(repo, "diff", "--name-only", "-z", "--diff-filter=U")
    found.update(Conflict(path, "unmerged") for path in unmerged.split("\0") if path)
    # `--ignored`: a project may ignore *.rej, and Copier still writes them.
    for path in status_paths(repo, "--ignored"):
        if path.endswith(".rej"):
            found.add(Conflict(path.removesuffix(".rej"), "rej-file"))
    for path in changed:
        if has_conflict_markers(repo / path):
            found.add(Conflict(path, "markers"))
    return sorted(found)


def has_conflict_markers(path: Path) -> bool:
    """True when a text file holds an opening and a closing conflict marker line."""
    try:
        if not path.is_file() or path.stat().st_size > _LARGEST_TEXT_FILE:
            return False
        data = path.read_bytes()
    except OSError:
        return False
    if b"\0" in data[:8192]:
        return False
    lines = data.splitlines()
    return any(line.startswith(_OPENING) for line in lines) and any(
        line.startswith(_CLOSING) for line in lines
    )
