"""Copier migration: move a team-owned file to its new path, keeping the team's text.

Usage (from copier.yml ``_migrations``, "before" stage, run in the project root):

    python rename_team_file.py OLD_PATH NEW_PATH

The team's file moves as it is, and references to OLD_PATH in the team's other documents
(phase folders, README.md) are rewritten to NEW_PATH, whether written from the project root
(checklist evidence), relative to the document (Markdown links) or, in the file's own
folder, by its bare name, so they keep pointing at it. Running before Copier's merge
matters: the new template version only knows NEW_PATH, which is a phase document
(``_skip_if_exists``), so Copier leaves the moved file alone instead of writing a blank one.

Safe to run on any project: nothing happens when OLD_PATH is gone (already migrated, or
deleted by the team), and an existing NEW_PATH is never overwritten. Standard library
only, so it runs under whichever Python runs Copier.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

TEAM_DOCUMENT_FOLDERS = ("phases",)
TEAM_DOCUMENT_FILES = ("README.md",)
TEXT_SUFFIXES = {".md", ".yaml", ".yml", ".txt", ".csv"}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: rename_team_file.py OLD_PATH NEW_PATH", file=sys.stderr)
        return 2
    old, new = Path(argv[0]), Path(argv[1])
    if not old.exists():
        print(f"migration: {old} is not here; nothing to move")
        return 0
    if new.exists():
        print(f"migration: both {old} and {new} exist; keeping both, merge them by hand")
        return 0
    new.parent.mkdir(parents=True, exist_ok=True)
    old.rename(new)
    print(f"migration: moved {old} to {new}")
    for document in team_documents():
        rewrite_references(document, old, new)
    return 0


def team_documents() -> list[Path]:
    documents = [Path(name) for name in TEAM_DOCUMENT_FILES if Path(name).is_file()]
    for folder in TEAM_DOCUMENT_FOLDERS:
        documents += sorted(
            path
            for path in Path(folder).rglob("*")
            if path.is_file() and path.suffix in TEXT_SUFFIXES
        )
    return documents


def rewrite_references(document: Path, old: Path, new: Path) -> None:
    """Replace the old path by the new one, from the root and relative to ``document``."""
    # Bytes in, bytes out: the team's line endings and encoding stay exactly as they were.
    try:
        text = document.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return  # not a text document we can safely edit
    updated = text.replace(old.as_posix(), new.as_posix())
    from_here = Path(os.path.relpath(old, document.parent)).as_posix()
    if from_here != old.as_posix():
        to_here = Path(os.path.relpath(new, document.parent)).as_posix()
        updated = updated.replace(f"]({from_here}", f"]({to_here}")
    if document.parent == old.parent:  # a sibling document may name the file alone
        bare_name = rf"(?<![\w./-]){re.escape(old.name)}(?![\w-])"
        updated = re.sub(bare_name, new.name, updated)
    if updated != text:
        document.write_bytes(updated.encode("utf-8"))
        print(f"migration: {document}: references to {old} now point to {new}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
