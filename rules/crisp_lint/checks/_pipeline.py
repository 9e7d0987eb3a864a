"""A small, tolerant reading of ``dvc.yaml`` and ``dvc.lock``, without importing DVC.

Only what the rules need: stage names, commands, and the paths each stage reads and writes
(made repository-relative through the stage's ``wdir``). Anything malformed is skipped: the
repository view already reports files that do not parse.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PIPELINE_FILE = "dvc.yaml"
LOCK_FILE = "dvc.lock"
PARAMS_FILE = "params.yaml"


# A NamedTuple rather than a dataclass: see crisp_lint.model (start-up time).
class Stage(NamedTuple):
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


# What a stage's name says about its role: the template's own name, or a common variant.
# A name matches when it is one of these or starts with it and ``_`` / ``-``.
ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "ingest": ("ingest", "download", "get_data", "load_data", "fetch_data", "import_data"),
    "validate": ("validate", "validation", "check_data", "data_validation"),
    "prepare": (
        "prepare",
        "featurize",
        "featurise",
        "preprocess",
        "preprocessing",
        "process_data",
        "feature_engineering",
        "build_features",
    ),
    "split": ("split", "data_split", "split_data", "train_test_split"),
    "baseline": ("baseline",),
    "train": ("train", "training", "train_model", "fit"),
    "evaluate": ("evaluate", "evaluation", "eval", "evaluate_model", "test_model"),
    "monitor": ("monitor", "monitoring"),
}
MODEL_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".h5", ".keras", ".onnx", ".cbm")
DECLARE_ROLES = "[tool.crisp-lint] stage-roles"


def stage_roles(repo: RepoView, stage: Stage) -> tuple[str, ...]:
    """The lifecycle roles ``stage`` plays, told in this order:

    1. ``stage-roles`` in [tool.crisp-lint] (``{ training = "train" }``): the team's word;
    2. its name: the template's (``train``, ``train_model``) or a common variant
       (``training``, ``featurize``, ``eval``; see ROLE_NAMES);
    3. what it does, for a stage whose name says nothing: an output under ``models/`` or a
       model file (``*.pkl``, ``*.joblib``...) makes it ``train``; metrics files make it
       ``evaluate``.

    Names come before behaviour because behaviour alone is ambiguous: the template's own
    validate, baseline and train stages all write metrics. A prepare stage that also splits
    (a seed among its params and ``split`` in its command, params or outputs) plays the
    ``split`` role too.
    """
    base = stage.name.split("@", 1)[0]
    declared = repo.config.stage_roles.get(stage.name) or repo.config.stage_roles.get(base)
    if declared:
        return declared
    roles = list(roles_by_name(base))
    if not roles:
        if any(_is_model(path) for path in stage.outs):
            roles.append("train")
        elif stage.metrics:
            roles.append("evaluate")
    if "prepare" in roles and "split" not in roles and _splits(stage):
        roles.append("split")
    return tuple(roles)


def stages_with_role(repo: RepoView, role: str) -> list[Stage]:
    """The stages of dvc.yaml that play ``role`` (see :func:`stage_roles`)."""
    return [stage for stage in stages(repo).values() if role in stage_roles(repo, stage)]


def stages_named(repo: RepoView, *roles: str) -> list[Stage]:
    """Stages that play one of ``roles`` (kept for the rules' wording; see stage_roles)."""
    return [
        stage
        for stage in stages(repo).values()
        if any(role in stage_roles(repo, stage) for role in roles)
    ]


def plays(repo: RepoView, stage: Stage, *roles: str) -> bool:
    return any(role in stage_roles(repo, stage) for role in roles)


def no_stage(repo: RepoView, role: str, doing: str = "") -> str:
    """The message for a pipeline with no stage of ``role`` (``doing``: what it would do),
    saying how to declare the role when some stage's role cannot be told."""
    what = f"no `{role}` stage" + (f" {doing}" if doing else "")
    if not repo.exists(PIPELINE_FILE):
        return f"no dvc.yaml, so {what}"
    unknown = [s.name for s in stages(repo).values() if not stage_roles(repo, s)]
    if not unknown:
        return what
    shown = ", ".join(f"`{name}`" for name in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return (
        f"{what} (the role of {shown}{more} cannot be told: if one is the {role} stage,"
        f' declare it in {DECLARE_ROLES}, e.g. {{ {unknown[0]} = "{role}" }})'
    )


def repro(repo: RepoView, role: str, *, pull: bool = False) -> str:
    """The command that re-runs the stage of ``role``, by its real name, for advice: only
    commands the repository has (no ``dvc repro evaluate`` without an evaluate stage)."""
    found = stages_named(repo, role)
    if found:
        command = f"`dvc repro {found[0].name.split('@', 1)[0]}`"
        return command + (" or `dvc pull`" if pull else "")
    if repo.exists(PIPELINE_FILE):
        return f"the stage that writes it (no stage in dvc.yaml plays the {role} role)"
    return "the code that writes it"


def roles_by_name(name: str) -> tuple[str, ...]:
    """What a stage's name alone says of its role (ROLE_NAMES); ``crisp-ml adopt`` uses it too.

    A whole name first: `train_test_split` splits, it does not train.
    """
    base = name.split("@", 1)[0]
    return tuple(
        [role for role, names in ROLE_NAMES.items() if base in names]
        or [role for role, names in ROLE_NAMES.items() if has_role(base, *names)]
    )


def pipeline_location(repo: RepoView) -> str:
    """Where a finding about the pipeline points: dvc.yaml, or the root when there is none."""
    return PIPELINE_FILE if repo.exists(PIPELINE_FILE) else "."


def has_role(name: str, *prefixes: str) -> bool:
    base = name.split("@", 1)[0]
    return any(base == p or base.startswith((f"{p}_", f"{p}-")) for p in prefixes)


def _is_model(path: str) -> bool:
    return path.startswith("models/") or path == "models" or path.endswith(MODEL_SUFFIXES)


def _splits(stage: Stage) -> bool:
    if not any("seed" in key.lower() for key in stage.params):
        return False
    said = " ".join((stage.cmd, *stage.params, *stage.outs)).lower()
    return "split" in said or any(
        posixpath.basename(out).lower().startswith(("train", "test")) for out in stage.outs
    )


def top_level(repo: RepoView, key: str) -> tuple[str, ...]:
    """Paths under dvc.yaml's top-level ``metrics:``, ``plots:``, ``params:`` or
    ``artifacts:`` (DVC's own conventions, outside any stage)."""
    document = repo.dvc_yaml()
    entries = document.get(key) if isinstance(document, dict) else None
    if isinstance(entries, dict):  # artifacts: { name: { path: ..., type: ... } }
        return tuple(
            str(body["path"])
            for body in entries.values()
            if isinstance(body, dict) and isinstance(body.get("path"), str)
        )
    return _paths(entries, ".")


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
