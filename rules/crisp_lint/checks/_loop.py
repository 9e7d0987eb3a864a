"""What the production-loop rules share: the files of the loop, read without its runtime.

docs/production-loop.md is the contract: the data catalog's ``columns`` (the schema serving
and monitoring validate against), serving by registry alias, the prediction log, the
monitoring history (``reports/monitoring/history.jsonl``) and the retraining trigger read off
it. crisp-lint must stay fast and light, so nothing here imports crisp_ml.runtime (pandas,
SQLAlchemy, MLflow): the catalog's grammar is restated from ``crisp_ml.runtime.schema``, and
``.gitignore`` and the Makefile are read as text.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from crisp_lint.checks._pipeline import MODEL_SUFFIXES, stages_named
from crisp_lint.checks._regex import lazy

if TYPE_CHECKING:
    from crisp_lint.ignore import IgnoreRules
    from crisp_lint.repo import RepoView

HISTORY = "reports/monitoring/history.jsonl"
PROMOTIONS = "reports/deployment/promotions.jsonl"
RUNTIME_SERVING = "crisp_ml.runtime.serving"
DEFAULT_LOG_FILE = "predictions.db"
SPILL_SUFFIX = ".spill.jsonl"  # crisp_ml.runtime.predlog: <database stem>.spill.jsonl beside it
SQLITE_WAL_FILES = ("-wal", "-shm")  # the log runs in WAL mode
REPLAY_SUFFIX = ".replaying"  # the spill file while it is replayed into the database

# crisp_ml.runtime.schema's grammar of a `columns:` entry.
NUMERIC_TYPES = ("number", "integer")
COLUMN_TYPES = (*NUMERIC_TYPES, "categorical", "boolean", "string")
ALLOWED_TYPES = ("categorical", "string", "integer")
ROLES = ("key", "feature", "target")
COLUMN_FIELDS = ("name", "type", "role", "range", "allowed", "nullable", "description")

_MAKE_RULE = lazy(r"^(?P<targets>[A-Za-z0-9_.%/ -]+?)\s*::?(?!=)")
_RUN_MODULE = lazy(r"-m\s+(?P<module>[A-Za-z_][\w.]*)")
_UVICORN_APP = lazy(r"\buvicorn\s+(?:[^\s:]+\s+)*?(?P<module>[A-Za-z_][\w.]*):\w+")
# Loading a model as a file: what a server that bypasses the registry does.
_FILE_LOAD = lazy(
    r"\b(?:joblib|pickle|cloudpickle|dill|torch)\.load\s*\(|"
    r"[\"'](?:[^\"'\n]*/)?models/[^\"'\n]*[\"']|"
    r"[\"'][^\"'\n]*\.(?:pkl|pickle|joblib|pt|pth|h5|keras|onnx|cbm)[\"']"
)
_SCHEMA_USE = lazy(r"crisp_ml\.runtime(?:\.schema|\s+import\s+[^\n]*\bschema\b)|check_records")


# -- the data catalog's columns ------------------------------------------------------------------


def column_problems(entry: Any) -> Iterator[str]:
    """What crisp_ml.runtime.schema would refuse in one ``columns:`` entry, as phrases."""
    if not isinstance(entry, dict):
        yield "is not a mapping with name, type, role, ..."
        return
    unknown = sorted(str(key) for key in set(entry) - set(COLUMN_FIELDS))
    if unknown:
        yield f"has unknown field(s) {', '.join(unknown)} (known: {', '.join(COLUMN_FIELDS)})"
    kind = entry.get("type")
    if kind not in COLUMN_TYPES:
        yield f"`type` is {kind!r}; use one of {', '.join(COLUMN_TYPES)}"
    if entry.get("role", "feature") not in ROLES:
        yield f"`role` is {entry.get('role')!r}; use one of {', '.join(ROLES)}"
    if not isinstance(entry.get("nullable", False), bool):
        yield f"`nullable` must be true or false, got {entry.get('nullable')!r}"
    if kind in COLUMN_TYPES:  # range and allowed are judged by the type, once it is known
        yield from _range_problems(entry.get("range"), kind)
        yield from _allowed_problems(entry.get("allowed"), kind)


def _range_problems(value: Any, kind: Any) -> Iterator[str]:
    if value is None:
        return
    if kind not in NUMERIC_TYPES:
        yield f"has a `range`, which applies to number and integer columns, not {kind!r}"
    elif not isinstance(value, list) or len(value) != 2 or not all(map(_is_bound, value)):
        yield f"`range` must be [min, max] (numbers, null leaves a side open), got {value!r}"
    elif value[0] is not None and value[1] is not None and value[0] > value[1]:
        yield f"`range` [{value[0]}, {value[1]}] has its minimum above its maximum"


def _allowed_problems(value: Any, kind: Any) -> Iterator[str]:
    if value is None:
        return
    if kind not in ALLOWED_TYPES:
        kinds = ", ".join(ALLOWED_TYPES)
        yield f"has `allowed` values, which apply to {kinds} columns, not {kind!r}"
    elif not isinstance(value, list) or not value:
        yield "`allowed` must be a non-empty list of values"
    elif any(item is None or isinstance(item, dict | list) for item in value):
        yield "`allowed` values must be plain values (text or numbers)"


def _is_bound(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def column_line(repo: RepoView, path: str, name: Any) -> int | None:
    """The line declaring column ``name`` (``name: x`` in block or flow style)."""
    if not isinstance(name, str) or not name:
        return None
    declared = re.compile(rf"\bname:\s*[\"']?{re.escape(name)}[\"']?\s*(?:[,}}#]|$)")
    for number, line in enumerate(repo.lines(path) or [], start=1):
        if declared.search(line):
            return number
    return None


# -- serving ---------------------------------------------------------------------------------------


def make_recipe(repo: RepoView, target: str, makefile: str = "Makefile") -> str | None:
    """The recipe lines of ``target`` in the Makefile, joined; None without that target."""
    lines = repo.lines(makefile)
    if lines is None:
        return None
    recipe: list[str] | None = None
    for line in lines:
        if recipe is not None:
            if line.startswith("\t"):
                recipe.append(line.strip())
                continue
            if line.strip() and not line.lstrip().startswith("#"):
                break
            continue
        match = _MAKE_RULE.match(line)
        if match and target in match["targets"].split():
            recipe = []
    return None if recipe is None else "\n".join(recipe)


def served_modules(command: str) -> list[str]:
    """The Python modules a serving command runs (``python -m X``, ``uvicorn X:app``)."""
    found = [m["module"] for m in _RUN_MODULE.finditer(command)]
    found += [m["module"] for m in _UVICORN_APP.finditer(command)]
    return list(dict.fromkeys(found))


def module_file(repo: RepoView, module: str) -> str | None:
    """The repository file of ``module`` (under src/ or the root), if the project has it."""
    stem = module.replace(".", "/")
    for candidate in (f"src/{stem}.py", f"{stem}.py", f"src/{stem}/__main__.py"):
        if repo.is_file(candidate):
            return candidate
    return None


def own_servers(repo: RepoView) -> list[str]:
    """The project's own serving code: what ``make serve`` runs, unless it is the runtime's."""
    recipe = make_recipe(repo, "serve") or ""
    modules = [m for m in served_modules(recipe) if not m.startswith("crisp_ml.")]
    return [rel for rel in map(lambda m: module_file(repo, m), modules) if rel is not None]


def loads_a_file(text: str) -> str | None:
    """The first spot of ``text`` that loads a model from a file, or None.

    ``models:/name@alias`` is the registry, not a file: the pattern's ``models/`` needs the
    slash right after the folder name, which a registry URI never has.
    """
    match = _FILE_LOAD.search(text)
    return match.group(0) if match else None


def uses_catalog_schema(text: str) -> bool:
    return bool(_SCHEMA_USE.search(text))


def is_model_file(value: str) -> bool:
    return value.startswith(("models/", "./models/")) or value.endswith(MODEL_SUFFIXES)


def model_references(value: Any, where: str = "serve") -> Iterator[tuple[str, str]]:
    """(key path, value) of every text under ``value`` that names a model (bounded depth)."""
    stack = [(where, value, 0)]
    while stack:
        key, item, depth = stack.pop()
        if isinstance(item, dict) and depth < 8:
            stack.extend((f"{key}.{k}", v, depth + 1) for k, v in reversed(item.items()))
        elif isinstance(item, list) and depth < 8:
            stack.extend((f"{key}[{i}]", v, depth + 1) for i, v in reversed(list(enumerate(item))))
        elif isinstance(item, str) and (
            item.startswith(("models:/", "runs:/")) or is_model_file(item)
        ):
            yield key, item


# -- the prediction log ----------------------------------------------------------------------------


def sqlite_log_file(url: Any) -> str | None:
    """The repository-relative SQLite file of a prediction log URL (None: not such a file)."""
    if url is None:
        return DEFAULT_LOG_FILE
    if not isinstance(url, str) or not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if not path or path.startswith("/") or ":memory:" in path:
        return None  # absolute: outside the repository (or in memory)
    normal = posixpath.normpath(path)
    return None if normal.startswith("..") else normal


def log_files(database: str) -> list[str]:
    """The database file, its WAL and shared-memory files, and its spill file (also while
    it is replayed): where crisp_ml.runtime.predlog writes beside the database."""
    folder, name = posixpath.split(database)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    spill = posixpath.join(folder, stem + SPILL_SUFFIX)
    return [
        database,
        *(database + suffix for suffix in SQLITE_WAL_FILES),
        spill,
        spill + REPLAY_SUFFIX,
    ]


def root_ignore_rules(repo: RepoView) -> IgnoreRules:
    """The root ``.gitignore``'s rules (what keeps root-level files out of git)."""
    from crisp_lint.ignore import IgnoreRules  # pathspec: paid only when a log file is checked

    rules = IgnoreRules()
    rules.add("", repo.text(".gitignore") or "")  # pathological lines are passed over there
    return rules


def is_ignored(rules: IgnoreRules, rel: str) -> bool:
    """Whether the root .gitignore ignores the file ``rel`` (itself or a folder above it)."""
    return rules.ignored(rel, is_dir=False)


# -- the monitoring history ------------------------------------------------------------------------


def monitor_outputs(repo: RepoView) -> list[tuple[str, str, dict[str, Any]]]:
    """(stage, path, options) of every output of the monitor stages, options as written."""
    document = repo.dvc_yaml() or {}
    bodies = document.get("stages") if isinstance(document.get("stages"), dict) else {}
    found = []
    for stage in stages_named(repo, "monitor"):
        body = bodies.get(stage.name)
        if isinstance(body, dict) and isinstance(body.get("do"), dict):
            body = body["do"]
        for key in ("outs", "metrics", "plots"):
            entries = body.get(key) if isinstance(body, dict) else None
            for entry in entries if isinstance(entries, list) else ():
                found.extend(_output(stage.name, stage.wdir, entry))
    return found


def _output(stage: str, wdir: str, entry: Any) -> Iterator[tuple[str, str, dict[str, Any]]]:
    items = entry.items() if isinstance(entry, dict) else [(entry, {})]
    for path, options in items:
        if isinstance(path, str):
            options = options if isinstance(options, dict) else {}
            yield stage, posixpath.normpath(posixpath.join(wdir, path)), options


def last_json_line(repo: RepoView, rel: str) -> tuple[Any, int] | None:
    """The last non-empty line of a JSON-lines file, parsed, with its line number.

    None when the file is missing or unreadable; ``(None, line)`` when that line is not JSON
    (the runtime's history reader would refuse it).
    """
    lines = repo.lines(rel)
    if not lines:
        return None
    for number in range(len(lines), 0, -1):
        if lines[number - 1].strip():
            try:
                return json.loads(lines[number - 1]), number
            except (ValueError, RecursionError):  # not JSON, or nested past the parser
                return None, number
    return None
