"""A lazily parsed, shared view of the repository that every rule reads.

Each file is read and parsed at most once, whatever number of rules ask for it. Listing the
repository never walks into ignored or DVC-managed folders: in a git work tree one
``git ls-files`` call lists it; elsewhere a walk prunes those folders before entering them.
Input that cannot be read or parsed is recorded as a problem (GEN001 / GEN002) and the view
answers ``None``, so one bad file never stops the run.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crisp_lint import spawn
from crisp_lint.bounded import LoadError, check_depth, describe, load_yaml, read_bytes
from crisp_lint.cache import MISS, OFF, FileCache, Signature, signature, signature_of
from crisp_lint.config import Config
from crisp_lint.model import Phase, Problem, split_lines

if TYPE_CHECKING:
    from crisp_lint.checklist import Checklist

UNREADABLE = "GEN001"
MALFORMED = "GEN002"
MAX_TEXT_BYTES = 5 * 1024 * 1024
PLACEHOLDER = "TODO(crisp)"
GIT_TIMEOUT_SECONDS = 20
MAX_PATHSPECS = 1000  # DVC outputs excluded from git's walk through its command line
# Never listed: git's own store, DVC's cache and scratch space.
ALWAYS_SKIPPED = (".git", ".dvc/cache", ".dvc/tmp")

_MISSING = object()


class RepoView:
    """Read-only access to one repository, cached by path."""

    def __init__(self, root: Path, config: Config | None = None, cache: FileCache = OFF) -> None:
        self.root = root
        self.config = config or Config()
        self.cache = cache  # what earlier runs made of unchanged files (crisp_lint.cache)
        self._text: dict[str, str | None] = {}
        # Each file's signature taken just before it was read: what a cached result of
        # that text is stored under (crisp_lint.cache).
        self._read_signatures: dict[str, Signature] = {}
        self._parsed: dict[tuple[str, str], Any] = {}
        self._checklists: dict[Phase, Checklist | None] = {}
        self._problems: dict[tuple[str, str, str], Problem] = {}
        self._walked_dvc_outputs: set[str] = set()
        source = self.config.source
        if source is not None and self.config.source_text and not os.path.isabs(source):
            # Read once already, for the settings: every file is read at most once.
            self._text[source] = self.config.source_text
            if self.config.source_signature is not None:
                self._read_signatures[source] = self.config.source_signature

    # -- problems with the input -----------------------------------------------------------

    def record(self, code: str, path: str, message: str, line: int | None = None) -> None:
        """Note a problem found while reading (GEN001, GEN002) or running (GEN003)."""
        self._problems.setdefault((code, path, message), Problem(path, message, line))

    def problems(self, code: str) -> list[Problem]:
        """The input problems recorded so far under ``code``."""
        return [p for (c, _, _), p in self._problems.items() if c == code]

    def could_not_read(self, rel: str) -> bool:
        """Whether reading or parsing ``rel`` so far recorded a problem (GEN001, GEN002)."""
        return any(
            path == rel and code in (UNREADABLE, MALFORMED) for code, path, _ in self._problems
        )

    # -- listing ---------------------------------------------------------------------------

    def files(self) -> list[str]:
        """Tracked and untracked-but-not-ignored files, without DVC-managed outputs."""
        return list(self._listing[0])

    def is_tracked_by_git(self, rel: str) -> bool:
        return rel in self._listing[1]

    @property
    def git_listed(self) -> bool:
        """Whether git listed the files, so ``is_tracked_by_git`` can answer: False outside
        a work tree, or when git failed (then a GEN001 says why)."""
        return self._git_files is not None

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is on disk, including DVC-managed outputs the listing omits.

        A broken symbolic link does not exist; it is recorded (GEN001) so that the finding
        of a rule that reports the file as missing comes with the reason.
        """
        path = self._path(rel)
        return path is not None and (os.path.exists(path) or self._broken_link(rel, path))

    def is_file(self, rel: str) -> bool:
        path = self._path(rel)
        return path is not None and (os.path.isfile(path) or self._broken_link(rel, path))

    def _broken_link(self, rel: str, path: Path) -> bool:
        """Record ``rel`` as a broken link if it is one; always False (it is not there)."""
        if os.path.islink(path) and not os.path.exists(path):
            self.record(UNREADABLE, rel, f"broken symbolic link to `{os.readlink(path)}`")
        return False

    def _path(self, rel: str) -> Path | None:
        """``rel`` under the root; None for a path that would leave the repository (absolute,
        ``..``) or cannot name a file. Rules pass paths taken from user documents."""
        if not rel or "\0" in rel or os.path.isabs(rel) or ".." in re.split(r"[/\\]", rel):
            return None
        return self.root / rel

    def resolves_outside(self, rel: str) -> bool:
        """Whether ``rel`` exists through a symbolic link whose target lies outside the
        repository (a file there proves nothing about the repository)."""
        path = self._path(rel)
        if path is None or not os.path.lexists(path):
            return False
        try:
            real = Path(os.path.realpath(path))
            root = Path(os.path.realpath(self.root))
        except (OSError, ValueError):
            return False
        return real != root and not real.is_relative_to(root)

    def is_dvc_managed(self, rel: str) -> bool:
        """Whether ``rel`` is, or lies inside, an output that DVC caches."""
        return self._managed.covers(rel.strip("/"))

    @cached_property
    def _managed(self) -> _Prefixes:
        return _Prefixes(self._dvc_outputs)

    @cached_property
    def in_git_work_tree(self) -> bool:
        """Whether the root lies in a git work tree (then git lists the files)."""
        for folder in (self.root.resolve(), *self.root.resolve().parents):
            if (folder / ".git").exists():
                return True
        return False

    @cached_property
    def _git_files(self) -> tuple[list[str], frozenset[str]] | None:
        """(every file git lists, the subset it tracks); None outside a work tree."""
        # git blocks on an ignore file that is a FIFO or device until its timeout: refuse
        # the usual ones up front (then the walk lists the files, and GEN001 says why).
        for rel in (".gitignore", ".git/info/exclude"):
            special = self._special_file(rel)
            if special is not None:
                self.record(
                    UNREADABLE,
                    rel,
                    f"is {special}: git cannot list the files, so checks of what git tracks"
                    " are skipped",
                )
                return None
        cached = self.git("ls-files", "-z", "--cached")
        if cached is None:
            return None
        # Untracked files, without walking into declared DVC outputs: 100,000 raw files
        # copied in before the first `dvc repro` (no .gitignore from DVC yet) would
        # otherwise double the run. git prunes `:(exclude)` pathspecs in its own walk.
        others = self.git(
            "ls-files", "-z", "--others", "--exclude-standard", "--", ".", *self._excluded_outs()
        )
        if others is None:
            return None
        tracked = [path for path in cached.split("\0") if path]
        files = list(dict.fromkeys(tracked))  # one entry per path (merge conflicts repeat it)
        seen = set(files)
        files.extend(path for path in others.split("\0") if path and path not in seen)
        return files, frozenset(tracked)

    def _excluded_outs(self) -> list[str]:
        """``:(exclude)`` pathspecs for the stage outputs of dvc.yaml (parsed, bounded)."""
        outs = sorted(
            {
                out
                for out in _stage_outputs(self.dvc_yaml() or {}, "")
                if out and out != ".." and not out.startswith("../") and "\0" not in out
            }
        )
        if len(outs) > MAX_PATHSPECS:  # a command line has limits; filtering still follows
            return []
        return [f":(exclude,literal){out}" for out in outs]

    def _special_file(self, rel: str) -> str | None:
        """What ``rel`` is when it exists and is neither a regular file nor a folder."""
        try:
            mode = os.stat(self.root / rel).st_mode
        except OSError:
            return None
        return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else describe(mode)

    @cached_property
    def _listing(self) -> tuple[list[str], frozenset[str]]:
        """(every listed file, the subset git tracks)."""
        if self._git_files is None:
            return sorted(self._walk()), frozenset()
        files, tracked = self._git_files
        skipped = _Prefixes((*self._dvc_outputs, *ALWAYS_SKIPPED))
        keep = [f for f in files if not skipped.covers(f)]
        if self.config.exclude:
            keep = [f for f in keep if not self.is_excluded(f)]
        return keep, tracked

    def _walk(self) -> Iterator[str]:
        """List a folder that is not a git work tree, honouring .gitignore files."""
        from crisp_lint.ignore import IgnoreRules  # pathspec: only paid for outside git

        ignore = IgnoreRules()
        skipped = {*ALWAYS_SKIPPED}
        managed = self._walked_dvc_outputs
        managed.update(_stage_outputs(self.dvc_yaml() or {}, ""))
        for folder, dirs, names in os.walk(self.root, onerror=self._walk_error):
            rel_folder = Path(folder).relative_to(self.root).as_posix()
            prefix = "" if rel_folder == "." else rel_folder + "/"
            if ".gitignore" in names:
                ignore.add(prefix, self.text(prefix + ".gitignore") or "")
            for name in names:
                if name.endswith(".dvc"):
                    managed.update(self._dvc_file_outputs(prefix + name))
            kept = []
            for name in sorted(dirs):
                rel = prefix + name
                if rel in skipped or rel in managed or ignore.ignored(rel, is_dir=True):
                    continue
                kept.append(name)
            dirs[:] = kept
            for name in names:
                rel = prefix + name
                if rel in managed or ignore.ignored(rel, is_dir=False):
                    continue
                if self.config.exclude and self.is_excluded(rel):
                    continue
                yield rel

    def _walk_error(self, error: OSError) -> None:
        path = Path(error.filename or self.root)
        rel = (
            path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else str(path)
        )
        self.record(UNREADABLE, rel, f"cannot list folder: {error.strerror or error}")

    def is_excluded(self, rel: str) -> bool:
        """Whether ``rel`` matches a glob of the configuration's ``exclude``."""
        return any(_glob(pattern).fullmatch(rel) for pattern in self.config.exclude)

    # -- DVC outputs -----------------------------------------------------------------------

    @cached_property
    def _dvc_outputs(self) -> tuple[str, ...]:
        """Every output DVC caches: stage outputs of dvc.yaml and the outs of *.dvc files."""
        outputs: set[str] = set(_stage_outputs(self.dvc_yaml() or {}, ""))
        outputs.update(_artifact_paths(self.dvc_yaml() or {}))
        if self._git_files is not None:
            for rel in self._git_files[0]:
                if rel.endswith(".dvc"):
                    outputs.update(self._dvc_file_outputs(rel))
        else:
            _ = self._listing  # the walk collects the *.dvc files it meets
            outputs.update(self._walked_dvc_outputs)
        return tuple(sorted(outputs))

    def dvc_file_outputs(self) -> list[str]:
        """What ``.dvc`` files track (``dvc add``, ``dvc import``), repository-relative."""
        return sorted(
            {
                out
                for rel in self.files()
                if rel.endswith(".dvc")
                for out in self._dvc_file_outputs(rel)
            }
        )

    def makefile_targets(self) -> frozenset[str]:
        """The targets the root Makefile defines (``name:`` at the start of a line)."""
        return self._makefile_targets

    @cached_property
    def _makefile_targets(self) -> frozenset[str]:
        text = self.text("Makefile") if self.is_file("Makefile") else None
        found = re.findall(
            r"^([A-Za-z0-9_.%/-]+(?:[ \t]+[A-Za-z0-9_.%/-]+)*)[ \t]*::?(?!=)", text or "", re.M
        )
        return frozenset(name for names in found for name in names.split())

    def _dvc_file_outputs(self, rel: str) -> Iterator[str]:
        data = self.yaml(rel)
        folder = rel.rpartition("/")[0]
        outs = data.get("outs") if isinstance(data, dict) else None
        for out in outs if isinstance(outs, list) else ():
            if isinstance(out, dict) and isinstance(out.get("path"), str):
                yield _join(folder, out["path"])

    # -- reading ---------------------------------------------------------------------------

    def text(self, rel: str) -> str | None:
        """The file as text; None when missing, or unreadable (then a GEN001 is recorded)."""
        cached = self._text.get(rel, _MISSING)
        if cached is _MISSING:
            cached = self._text[rel] = self._read_text(rel)
        return cached  # type: ignore[return-value]

    def _read_text(self, rel: str) -> str | None:
        path = self._path(rel)
        if path is None:
            return None
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError):  # missing, or under a file
            self._broken_link(rel, path)
            return None
        except OSError as error:
            self.record(UNREADABLE, rel, f"cannot read: {error.strerror or error}")
            return None
        if stat.S_ISDIR(info.st_mode):
            self.record(UNREADABLE, rel, "is a folder where a file is expected")
            return None
        if not stat.S_ISREG(info.st_mode):
            self.record(UNREADABLE, rel, f"is {describe(info.st_mode)}, not a regular file")
            return None
        if info.st_size > MAX_TEXT_BYTES:
            size = info.st_size / 1024 / 1024
            limit = MAX_TEXT_BYTES // 1024 // 1024
            self.record(
                UNREADABLE, rel, f"too large to check ({size:.1f} MB; the limit is {limit} MB)"
            )
            return None
        self._read_signatures[rel] = signature_of(info)
        try:
            data = read_bytes(path, MAX_TEXT_BYTES)  # never blocks: a FIFO swapped in is refused
        except OSError as error:
            self.record(UNREADABLE, rel, f"cannot read: {error.strerror or error}")
            return None
        if b"\0" in data[:8192]:
            self.record(UNREADABLE, rel, "is binary where text is expected")
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            self.record(UNREADABLE, rel, "is not UTF-8 text; save it as UTF-8", line)
            return None
        return text.removeprefix("\ufeff")

    def text_if_text(self, rel: str, max_bytes: int) -> str | None:
        """``rel`` as text when it is a regular text file of at most ``max_bytes``; None for
        anything else (binary, larger, a link, a folder, unreadable), recording nothing.

        For the rules that scan every tracked file whatever it holds (secrets): a picture or
        a large file is not an input problem for them. Text that is not UTF-8 is decoded
        with replacement characters, so what it says can still be scanned.
        """
        cached = self._text.get(rel, _MISSING)
        if cached is not _MISSING:
            return cached if cached is None or len(cached) <= max_bytes else None  # type: ignore[return-value]
        path = self._path(rel)
        if path is None:
            return None
        try:
            info = os.lstat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
                return None
            self._read_signatures[rel] = signature_of(info)
            with open(path, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except OSError:
            return None
        if len(data) > max_bytes or b"\0" in data[:8192]:
            return None
        try:
            text = data.decode("utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError:
            return data.decode("utf-8", "replace")
        self._text[rel] = text  # what text() would answer: read once for every rule
        return text

    def lines(self, rel: str) -> list[str] | None:
        text = self.text(rel)
        return None if text is None else split_lines(text)

    def has_placeholder(self, rel: str) -> bool:
        """Whether the file still carries the template's ``TODO(crisp)`` marker."""
        text = self.text(rel)
        return text is not None and PLACEHOLDER in text

    def yaml(self, rel: str) -> Any:
        return self._parse(rel, "yaml", _load_yaml)

    def toml(self, rel: str) -> dict[str, Any] | None:
        return self._parse(rel, "toml", _load_toml)

    def json(self, rel: str) -> Any:
        return self._parse(rel, "json", _load_json)

    def _parse(self, rel: str, kind: str, load: Any) -> Any:
        key = (rel, kind)
        if key not in self._parsed:
            self._parsed[key] = self._parse_file(rel, kind, load)
        return self._parsed[key]

    def _parse_file(self, rel: str, kind: str, load: Any) -> Any:
        path = self._path(rel) if self.cache.enabled else None
        value = self.cache.get(kind, rel, None if path is None else signature(path))
        if value is not MISS:
            return value
        text = self.text(rel)
        if text is None:
            return None
        try:
            value = load(text)
        except _ParseError as error:
            self.record(MALFORMED, rel, f"invalid {kind.upper()}: {error}", error.line)
            return None
        self.cache.put(kind, rel, self.read_signature(rel), value)
        return value

    def read_signature(self, rel: str) -> Signature | None:
        """The signature ``rel`` had just before this view read it; None when the view did
        not read it itself (the settings' file, read by crisp_lint.config)."""
        return self._read_signatures.get(rel)

    # -- well-known files ------------------------------------------------------------------

    def checklist(self, phase: Phase) -> Checklist | None:
        """The phase's parsed CHECKLIST.md; None when the file is missing or unreadable."""
        if phase not in self._checklists:
            from crisp_lint.checklist import parse_checklist

            rel = f"{phase.folder}/CHECKLIST.md"
            text = self.text(rel)
            self._checklists[phase] = None if text is None else parse_checklist(text, rel)
        return self._checklists[phase]

    def dvc_yaml(self) -> dict[str, Any] | None:
        return _mapping(self.yaml("dvc.yaml"))

    def params(self) -> dict[str, Any] | None:
        return _mapping(self.yaml("params.yaml"))

    def pyproject(self) -> dict[str, Any] | None:
        return self.toml("pyproject.toml")

    def answers(self) -> dict[str, Any] | None:
        return _mapping(self.yaml(".copier-answers.yml"))

    # -- git -------------------------------------------------------------------------------

    def git(self, *args: str) -> str | None:
        """git's standard output for ``args`` run in the root; None outside a work tree,
        when git is missing, fails or times out."""
        if not self.in_git_work_tree:
            return None
        try:
            done = spawn.run(["git", "-C", str(self.root), *args], GIT_TIMEOUT_SECONDS)
        except spawn.Timeout:
            self.record(
                UNREADABLE,
                ".git",
                f"`git {args[0]}` did not answer within {GIT_TIMEOUT_SECONDS} s (an ignore file"
                " that is a FIFO or device?); checks of what git tracks are skipped",
            )
            return None
        except OSError as error:
            self.record(
                UNREADABLE,
                ".git",
                f"cannot run git ({error.strerror or error}); checks of what git tracks are"
                " skipped",
            )
            return None
        if done.returncode != 0:
            # A repository git refuses (corrupt index, "dubious ownership" in a container)
            # would otherwise look untracked, and every check of what git holds would pass.
            reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            self.record(
                UNREADABLE,
                ".git",
                f"git cannot read the repository ({reason[0] if reason else 'no reason given'});"
                " checks of what git tracks are skipped",
            )
            return None
        return done.stdout.decode("utf-8", errors="surrogateescape")


class _ParseError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def _load_yaml(text: str) -> Any:
    import yaml  # a third of a run: imported only when a file is not in the cache

    try:
        return load_yaml(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except LoadError as error:  # a YAML bomb, a recursive alias, too deep
        raise _ParseError(str(error), error.line) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise _ParseError(error.problem or str(error), line) from None
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as error:
        # The C loader reports some failures (bad tags, odd scalars) without a mark.
        raise _ParseError(
            str(error).splitlines()[0] if str(error) else type(error).__name__, None
        ) from None


_TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


def _load_toml(text: str) -> dict[str, Any]:
    import tomllib

    try:
        data = tomllib.loads(text)
        check_depth(data, "TOML document")
        return data
    except LoadError as error:
        raise _ParseError(str(error), None) from None
    except RecursionError:
        raise _ParseError("nested too deeply", None) from None
    except tomllib.TOMLDecodeError as error:
        match = _TOML_LINE.search(str(error))
        raise _ParseError(str(error), int(match.group(1)) if match else None) from None


def _load_json(text: str) -> Any:
    import json

    try:
        data = json.loads(text)
        check_depth(data, "JSON document")
        return data
    except LoadError as error:
        raise _ParseError(str(error), None) from None
    except json.JSONDecodeError as error:
        raise _ParseError(error.msg, error.lineno) from None
    except RecursionError:
        raise _ParseError("nested too deeply", None) from None


def _mapping(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _stage_outputs(dvc_yaml: dict[str, Any], folder: str) -> Iterator[str]:
    """Cached outputs of every stage in a parsed dvc.yaml (``cache: false`` ones stay in git)."""
    stages = dvc_yaml.get("stages")
    for stage in stages.values() if isinstance(stages, dict) else ():
        if not isinstance(stage, dict):
            continue
        wdir = stage.get("wdir") if isinstance(stage.get("wdir"), str) else ""
        for kind in ("outs", "metrics", "plots"):
            entries = stage.get(kind)
            for entry in entries if isinstance(entries, list) else ():
                path, cached = _output_entry(entry)
                if path is not None and cached and "${" not in path:
                    yield _join(_join(folder, wdir), path)


def _artifact_paths(dvc_yaml: dict[str, Any]) -> Iterator[str]:
    """Paths dvc.yaml's top-level ``artifacts:`` declare (``{name: {path: ...}}``)."""
    artifacts = dvc_yaml.get("artifacts")
    for body in artifacts.values() if isinstance(artifacts, dict) else ():
        path = body.get("path") if isinstance(body, dict) else None
        if isinstance(path, str) and "://" not in path and "${" not in path:
            yield _join("", path)


def _output_entry(entry: object) -> tuple[str | None, bool]:
    if isinstance(entry, str):
        return entry, True
    if isinstance(entry, dict) and len(entry) == 1:
        ((path, options),) = entry.items()
        if isinstance(path, str):
            cached = not (isinstance(options, dict) and options.get("cache") is False)
            return path, cached
    return None, False


def _join(folder: str, path: str) -> str:
    """``path`` relative to the repository, normalised, with forward slashes."""
    joined = os.path.normpath(os.path.join(folder, path)).replace(os.sep, "/")
    return "" if joined == "." else joined.removeprefix("./")


class _Prefixes:
    """Paths and everything below them; one C-level ``startswith`` per query."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._exact = frozenset(paths)
        self._folders = tuple(p + "/" for p in self._exact)

    def covers(self, rel: str) -> bool:
        return rel in self._exact or rel.startswith(self._folders)


_GLOBS: dict[str, re.Pattern[str]] = {}


def _glob(pattern: str) -> re.Pattern[str]:
    """A path glob: ``**`` spans folders, ``*`` and ``?`` stay within one; a pattern also
    matches everything below the folder it names."""
    if pattern not in _GLOBS:
        regex = ""
        for token in re.split(r"(\*\*/?|\*|\?)", pattern.strip("/")):
            if token.startswith("**"):
                regex += "(?:.*/)?" if token.endswith("/") else ".*"
            elif token == "*":
                regex += "[^/]*"
            elif token == "?":
                regex += "[^/]"
            else:
                regex += re.escape(token)
        _GLOBS[pattern] = re.compile(f"{regex}(?:/.*)?")
    return _GLOBS[pattern]
