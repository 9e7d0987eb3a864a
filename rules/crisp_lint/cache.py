"""What crisp-lint learnt from the files that have not changed since its last run.

crisp-lint runs on every commit, and most files are the same as at the last commit. Parsing
them is quick; what costs is importing the parsers (PyYAML, tomllib: a third of a run) and
reading and scanning every tracked file for secrets. So each run keeps, per file, what the
parsers and the secret scan made of it, and the next run reuses it when the file's
signature (size, modification and change times in nanoseconds, inode: what git's index
compares) is the same. A run whose inputs all hit the cache imports neither parser.

Where: ``crisp-lint/`` in the repository's git folder (beside git's own state, so nothing
appears in the work tree, `git status` or a DVC pipeline); outside a git work tree there is
no cache. ``--no-cache`` or ``CRISP_LINT_NO_CACHE=1`` turns it off, as ruff's ``--no-cache``.

It is only a cache: a file that cannot be read, written or parsed (another Python, another
crisp-lint version, a truncated write) counts as empty and the run does the work. A file
changed within ``RACY_NS`` of being read is not cached: its next change could keep the same
timestamp (git calls such entries "racily clean").
"""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
import time
from pathlib import Path
from typing import Any

from crisp_lint import __version__

ENV_OFF = "CRISP_LINT_NO_CACHE"
FOLDER = "crisp-lint"
# Generous for file systems with coarse timestamps (FAT keeps 2 s).
RACY_NS = 3_000_000_000
_FORMAT = (2, __version__, sys.version_info[:2])
MISS = object()

Signature = tuple[int, int, int, int]


def signature(path: str | os.PathLike[str], *, follow: bool = True) -> Signature | None:
    """What git's index compares to tell a changed file; None when there is no file."""
    try:
        info = os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return None
    return signature_of(info)


def signature_of(info: os.stat_result) -> Signature:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


class FileCache:
    """Per-file results by section (``"yaml"``, ``"scan"``...), loaded on first use and
    written back by ``save`` only when a run learnt something new."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: the cache is off
        # section -> key -> (signature, the value marshalled): stored as bytes, so a value a
        # rule changes in memory is not what the next run reads, and unused ones stay unread.
        self._entries: dict[str, dict[str, tuple[Signature, bytes]]] | None = None
        self._used: dict[str, set[str]] = {}
        self._complete: set[str] = set()
        self._changed = False

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def get(self, section: str, key: str, sig: Signature | None) -> Any:
        """The value stored for ``key`` with this signature, or MISS."""
        if self.path is None or sig is None:
            return MISS
        entry = self._section(section).get(key)
        if not (isinstance(entry, tuple) and len(entry) == 2 and entry[0] == sig):
            return MISS
        try:
            value = marshal.loads(entry[1])
        except (EOFError, ValueError, TypeError):
            return MISS
        self._used.setdefault(section, set()).add(key)
        return value

    def put(self, section: str, key: str, sig: Signature | None, value: Any) -> None:
        """Keep ``value`` for ``key`` unless the file changed too recently to be sure."""
        # Changed (content: mtime; metadata or a copy keeping the mtime: ctime) too lately.
        if self.path is None or sig is None or max(sig[1], sig[2]) > time.time_ns() - RACY_NS:
            return
        try:
            blob = marshal.dumps(value)
        except ValueError:  # dates from YAML, say, cannot be stored: not cached
            return
        self._section(section)[key] = (sig, blob)
        self._used.setdefault(section, set()).add(key)
        self._changed = True

    def keys(self, section: str) -> frozenset[str]:
        """The files the section holds results for."""
        return frozenset(self._section(section)) if self.path is not None else frozenset()

    def complete(self, section: str) -> None:
        """This run asked for every key the section should hold (the secret scan saw every
        tracked file): entries it did not ask for belong to deleted files and go."""
        self._complete.add(section)

    def save(self) -> None:
        if self.path is None or self._entries is None:
            return
        for section in self._complete:
            entries = self._entries.get(section, {})
            used = self._used.get(section, set())
            if len(used) != len(entries):
                self._entries[section] = {k: v for k, v in entries.items() if k in used}
                self._changed = True
        if not self._changed:
            return
        scratch = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(exist_ok=True)
            scratch.write_bytes(marshal.dumps((_FORMAT, self._entries)))
            os.replace(scratch, self.path)  # a reader sees the old file or the new one
        except (OSError, ValueError):  # a read-only checkout, a full disk: next run redoes it
            with contextlib.suppress(OSError):
                scratch.unlink(missing_ok=True)

    def _section(self, section: str) -> dict[str, tuple[Signature, bytes]]:
        if self._entries is None:
            self._entries = self._load()
        return self._entries.setdefault(section, {})

    def _load(self) -> dict[str, dict[str, tuple[Signature, bytes]]]:
        try:
            stored = marshal.loads(self.path.read_bytes()) if self.path else None
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if not (isinstance(stored, tuple) and len(stored) == 2 and stored[0] == _FORMAT):
            return {}
        entries = stored[1]
        if not isinstance(entries, dict):
            return {}
        return {
            name: section
            for name, section in entries.items()
            if isinstance(name, str) and isinstance(section, dict)
        }


OFF = FileCache(None)


def open_cache(root: Path, *, enabled: bool = True) -> FileCache:
    """The cache of the repository at ``root``; off when asked, or outside a git work tree."""
    if not enabled or os.environ.get(ENV_OFF, "").lower() in ("1", "true", "yes"):
        return FileCache(None)
    git_dir = _git_dir(root)
    if git_dir is None:
        return FileCache(None)
    # One file per linted folder: a monorepo's projects share one git folder.
    name = "cache" if git_dir.parent == root else f"cache-{_crc(str(root))}"
    return FileCache(git_dir / FOLDER / name)


def _git_dir(root: Path) -> Path | None:
    """The git folder of the work tree holding ``root`` (a worktree's ``.git`` is a file
    naming it); None outside a work tree."""
    for folder in (root, *root.parents):
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            try:
                text = dot_git.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return None
            target = text.strip().removeprefix("gitdir:").strip()
            path = Path(target) if os.path.isabs(target) else folder / target
            return path if target and path.is_dir() else None
    return None


def _crc(text: str) -> str:
    import binascii

    return f"{binascii.crc32(text.encode('utf-8', 'surrogateescape')):08x}"
