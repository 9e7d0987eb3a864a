"""A small, tolerant reading of ``dvc.yaml`` and ``dvc.lock``, without importing DVC.

Only what the rules need: stage names, commands, and the paths each stage reads and writes
(made repository-relative through the stage's ``wdir``). Anything malformed is skipped: the
repository view already reports files that do not parse.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PIPELINE_FILE = "dvc.yaml"
LOCK_FILE = "dvc.lock"
PARAMS_FILE = "params.yaml"


@dataclass(frozen=True)
class Stage:
    name: str
    cmd: str
    wdir: str  # the folder the command runs in, relative to the repository root
    deps: tuple[str, ...]
    outs: tuple[str, ...]
    metrics: tuple[str, ...]
    plots: tuple[str, ...]
    params: tuple[str, ...]  # "key" for params.yaml, "file:key" for another file

    @property
    def writes(self) -> tuple[str, ...]:
        """Every path the stage produces: outs, metrics and plots."""
        return self.outs + self.metrics + self.plots


def stages(repo: RepoView) -> dict[str, Stage]:
    """The stages of ``dvc.yaml`` by name; empty when the file is missing or malformed."""
    document = repo.dvc_yaml()
    if not isinstance(document, dict) or not isinstance(document.get("stages"), dict):
        return {}
    found = {}
    for name, body in document["stages"].items():
        if isinstance(body, dict) and isinstance(body.get("do"), dict):
            body = body["do"]  # foreach/matrix: the template every generated stage shares
        if isinstance(body, dict):
            found[str(name)] = _stage(str(name), body)
    return found


def pipeline_unusable(repo: RepoView) -> bool:
    """Whether ``dvc.yaml`` is there but cannot be read or parsed (GEN001/GEN002 say why).

    Rules about stages then stay silent rather than call every stage missing. A missing
    ``dvc.yaml`` is usable: it is a pipeline without stages, and they report what it lacks.
    """
    repo.dvc_yaml()  # read and parse it, recording why it cannot be
    return repo.could_not_read(PIPELINE_FILE)


def parameters(repo: RepoView) -> dict[str, Any] | None:
    """``params.yaml`` as a mapping; empty when there is none, or it holds no mapping.

    None when it is there but cannot be read or parsed (GEN001/GEN002 say why): rules about
    parameters then stay silent rather than call every parameter missing.
    """
    params = repo.params()
    if params is None and repo.could_not_read(PARAMS_FILE):
        return None
    return params or {}


def stages_named(repo: RepoView, *prefixes: str) -> list[Stage]:
    """Stages whose name is one of ``prefixes`` or starts with ``<prefix>_`` / ``<prefix>-``."""
    return [stage for stage in stages(repo).values() if has_role(stage.name, *prefixes)]


def has_role(name: str, *prefixes: str) -> bool:
    base = name.split("@", 1)[0]
    return any(base == p or base.startswith((f"{p}_", f"{p}-")) for p in prefixes)


def locked_stage_names(repo: RepoView) -> set[str] | None:
    """Stage names recorded in ``dvc.lock`` (``name@key`` folded to ``name``), or None."""
    lock = repo.yaml(LOCK_FILE)
    if not isinstance(lock, dict) or not isinstance(lock.get("stages"), dict):
        return None
    return {str(name).split("@", 1)[0] for name in lock["stages"]}


def covers(declared: str, path: str) -> bool:
    """``declared`` is ``path`` itself or a folder above it."""
    declared = declared.rstrip("/")
    return path == declared or path.startswith(declared + "/")


def _stage(name: str, body: dict[str, Any]) -> Stage:
    wdir = body.get("wdir", ".")
    wdir = wdir if isinstance(wdir, str) else "."
    cmd = body.get("cmd", "")
    if isinstance(cmd, list):
        cmd = " && ".join(str(part) for part in cmd)
    return Stage(
        name=name,
        cmd=str(cmd),
        wdir=posixpath.normpath(wdir),
        deps=_paths(body.get("deps"), wdir),
        outs=_paths(body.get("outs"), wdir),
        metrics=_paths(body.get("metrics"), wdir),
        plots=_paths(body.get("plots"), wdir),
        params=_params(body.get("params")),
    )


def _paths(entries: Any, wdir: str) -> tuple[str, ...]:
    """Paths of a deps/outs list whose items are ``path`` or ``{path: {options}}``."""
    if not isinstance(entries, list):
        return ()
    paths = []
    for entry in entries:
        names = list(entry) if isinstance(entry, dict) else [entry]
        paths.extend(_relative(str(name), wdir) for name in names if isinstance(name, str))
    return tuple(paths)


def _params(entries: Any) -> tuple[str, ...]:
    if not isinstance(entries, list):
        return ()
    keys: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            keys.append(entry)
        elif isinstance(entry, dict):
            for file, file_keys in entry.items():
                if isinstance(file_keys, list):
                    keys.extend(f"{file}:{key}" for key in file_keys)
    return tuple(keys)


def _relative(path: str, wdir: str) -> str:
    return posixpath.normpath(posixpath.join(wdir, path))


def locked_hash(repo: RepoView, path: str) -> str | None:
    """The hash ``dvc.lock`` records for the output ``path`` (the data version), or None."""
    lock = repo.yaml(LOCK_FILE)
    entries = lock.get("stages") if isinstance(lock, dict) else None
    for entry in entries.values() if isinstance(entries, dict) else ():
        outs = entry.get("outs") if isinstance(entry, dict) else None
        for out in outs if isinstance(outs, list) else ():
            if isinstance(out, dict) and out.get("path") == path and out.get("md5"):
                return str(out["md5"])
    return None
