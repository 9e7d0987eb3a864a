"""Repository-wide rules: what git must not hold (data, large files, secrets, notebook
outputs) and whether the project still follows its template.

GEN001-GEN009 belong to the engine (crisp_lint.engine_rules); these start at GEN010. They
hold for a project at any phase, so a freshly generated project must pass every one.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from crisp_lint.checks._dvcconfig import parse_dvc_config
from crisp_lint.checks._locate import line_of_key
from crisp_lint.checks._pipeline import covers, pipeline_unusable, stages
from crisp_lint.checks._secrets import is_reference, is_secret_key, url_passwords
from crisp_lint.model import Phase, Problem, Severity, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.GENERAL
LARGE_FILE_BYTES = 500 * 1024  # pre-commit's check-added-large-files default
DATA_EXTENSIONS = frozenset(
    {
        ".csv", ".tsv", ".parquet", ".feather", ".arrow", ".avro", ".orc", ".xlsx", ".xls",
        ".pkl", ".pickle", ".joblib", ".h5", ".hdf5", ".npy", ".npz", ".onnx", ".pt", ".pth",
        ".ckpt", ".safetensors", ".skops", ".sqlite", ".db",
    }
)  # fmt: skip
# Small fixtures for tests may live in git; everything else goes through DVC.
DATA_ALLOWED_UNDER = ("tests/",)
DVC_CONFIG = ".dvc/config"
ANSWERS_FILE = ".copier-answers.yml"


def _tracked(repo: RepoView) -> Iterator[str]:
    return (rel for rel in repo.files() if repo.is_tracked_by_git(rel))


@rule(
    "GEN010",
    PHASE,
    "Large file tracked by git",
    rationale=f"{cite('3.5', '4.8')}. Large files belong in DVC: git keeps every version of"
    " them forever and every clone pays for it.",
    fix="`git rm --cached FILE`, then `dvc add FILE` (or make it a stage output) and push it"
    " to the DVC remote",
)
def no_large_files(repo: RepoView) -> Iterator[Problem]:
    root = str(repo.root)  # os.path.join: a Path per file costs more than the stat itself
    for rel in _tracked(repo):
        try:
            size = os.stat(os.path.join(root, rel)).st_size
        except OSError:
            continue  # deleted in the work tree, or unreadable: nothing to weigh
        if size > LARGE_FILE_BYTES:
            yield Problem(
                rel,
                f"{size / 1024:.0f} KB tracked by git (limit {LARGE_FILE_BYTES // 1024} KB):"
                " track it with DVC",
            )


@rule(
    "GEN011",
    PHASE,
    "Data or model file tracked by git",
    rationale=f"{cite('3.5', '4.8', '4.9')}. Data sets, split indices and models are"
    " versioned by DVC, never committed to git.",
    fix="`git rm --cached FILE` and `dvc add FILE` (or declare it as a stage output); small"
    " test fixtures may stay under tests/, small `cache: false` stage outputs in git",
)
def no_data_files(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # which data files are declared outputs is unknown until GEN002 is fixed
    # Small pipeline outputs kept in git on purpose (`cache: false` metrics and plots).
    declared = [path for stage in stages(repo).values() for path in stage.writes]
    for rel in _tracked(repo):
        extension = posixpath.splitext(rel)[1].lower()
        if extension not in DATA_EXTENSIONS or rel.startswith(DATA_ALLOWED_UNDER):
            continue
        if not any(covers(out, rel) for out in declared):
            yield Problem(rel, f"a {extension} file is tracked by git: track it with DVC")


@rule(
    "GEN012",
    PHASE,
    "Credentials in .dvc/config",
    rationale=f"{cite('3.5')}. `.dvc/config` is committed and shared; secrets for the DVC"
    " remote belong in the git-ignored `.dvc/config.local`.",
    fix="move the option with `dvc remote modify --local REMOTE KEY VALUE`, delete it from"
    " .dvc/config and rotate the leaked secret",
)
def no_credentials_in_dvc_config(repo: RepoView) -> Iterator[Problem]:
    text = repo.text(DVC_CONFIG)
    if text is None:
        return
    for option in parse_dvc_config(text):
        if option.value.lower() in ("", "true", "false") or is_reference(option.value):
            continue
        if is_secret_key(option.key):
            yield Problem(
                DVC_CONFIG,
                f"[{option.section}] {option.key} holds a secret in the committed config",
                option.line,
            )
    for line, redacted in url_passwords(text):
        yield Problem(DVC_CONFIG, f"a URL with a password ({redacted}) is committed", line)


@rule(
    "GEN014",
    PHASE,
    "Secret in params.yaml",
    rationale=f"{cite('5.1')}. params.yaml is committed and recorded in every experiment;"
    " a token or password there is shared with everyone.",
    fix="read the secret from an environment variable at run time and delete it from params.yaml",
)
def no_secrets_in_params(repo: RepoView) -> Iterator[Problem]:
    params = repo.params()
    if params is None:
        return
    for keys, value in _leaves(params, ()):
        literal = isinstance(value, str) and value.strip() and not is_reference(value)
        if literal and is_secret_key(keys[-1]):
            named = [key for key in keys if not key.startswith("[")]  # list items have no key
            yield Problem(
                "params.yaml",
                f"`{'.'.join(keys).replace('.[', '[')}` holds a literal secret",
                line_of_key(repo, "params.yaml", *named),
            )


def _leaves(node: Any, keys: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every scalar with its key path; an item of a list is ``[index]`` (``db[0].password``)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*keys, str(key)))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _leaves(item, (*keys, f"[{index}]"))
    elif keys and not keys[-1].startswith("["):
        yield keys, node


@rule(
    "GEN015",
    PHASE,
    "Notebook committed with outputs",
    rationale=f"{cite('5.1')}. Trials are documented in MLflow; notebook outputs bloat"
    " history, leak data into git and make every diff unreadable.",
    fix="clear the outputs (`jupyter nbconvert --clear-output --inplace NOTEBOOK`) or add"
    " nbstripout to pre-commit",
)
def notebooks_without_outputs(repo: RepoView) -> Iterator[Problem]:
    for rel in _tracked(repo):
        if not rel.endswith(".ipynb"):
            continue
        notebook = repo.json(rel)
        cells = notebook.get("cells") if isinstance(notebook, dict) else None
        if not isinstance(cells, list):
            continue
        with_outputs = sum(
            1
            for cell in cells
            if isinstance(cell, dict)
            and (cell.get("outputs") or cell.get("execution_count") is not None)
        )
        if with_outputs:
            yield Problem(rel, f"{with_outputs} cell(s) carry outputs or execution counts")


@rule(
    "GEN016",
    PHASE,
    "Project generated from an outdated template version",
    rationale="The template carries the CRISP-ML plumbing (pipeline, CI, checks); a project"
    " that lags behind its template misses fixes to the QA process itself.",
    fix="run `crisp-ml update` (or `copier update`) and resolve any conflict it reports",
    severity=Severity.WARNING,  # the project still works; updating is a planned chore
)
def template_up_to_date(repo: RepoView) -> Iterator[Problem]:
    from crisp_lint.drift import (  # only for a generated project
        TemplateUnreachable,
        describe_to_version,
        list_tags,
        local_source_path,
        newest_release,
    )

    answers = repo.answers()
    if answers is None:
        return
    source, current = answers.get("_src_path"), answers.get("_commit")
    if not isinstance(source, str) or not isinstance(current, str):
        return
    try:
        local = local_source_path(source, repo.root)
    except (OSError, ValueError):  # not a usable path (e.g. a NUL byte): nothing to compare
        return
    if local is None or not local.exists():
        return  # remote or missing source: checking would need the network
    current_version = describe_to_version(current)
    if current_version is None:
        return
    try:
        latest = newest_release(list_tags(local))
    except TemplateUnreachable:
        return
    if latest is None:
        return
    from packaging.version import Version  # only when there is a version to compare

    if Version(latest) > current_version:
        yield Problem(
            ANSWERS_FILE,
            f"generated from template {current}; {latest} is available from {source}",
            line_of_key(repo, ANSWERS_FILE, "_commit"),
        )


@rule(
    "GEN025",
    PHASE,
    "Pipeline stages depend on each other in a cycle",
    rationale=f"{cite('3.5')}. DVC runs stages in the order their outputs feed other stages;"
    " when a stage's output is, through other stages, one of its own dependencies, `dvc repro`"
    " refuses the whole pipeline and no lifecycle step can be reproduced.",
    fix="make the data flow one way: a stage must not depend on its own output, directly or"
    " through other stages (write the result to a new path instead)",
)
def no_stage_cycles(repo: RepoView) -> Iterator[Problem]:
    found = stages(repo)
    owners: dict[str, set[str]] = {}
    readers: dict[str, set[str]] = {}
    for stage in found.values():
        for out in stage.writes:
            owners.setdefault(out.rstrip("/"), set()).add(stage.name)
        for dep in stage.deps:
            readers.setdefault(dep.rstrip("/"), set()).add(stage.name)
    feeds: dict[str, set[str]] = {name: set() for name in found}  # stage -> stages it feeds
    for stage in found.values():
        for dep in stage.deps:  # an output at the dependency or a folder above it
            for prefix in _prefixes(dep.rstrip("/")):
                for owner in owners.get(prefix, ()):
                    feeds[owner].add(stage.name)
        for out in stage.writes:  # a dependency on a folder above the output
            for prefix in _prefixes(out.rstrip("/")):
                feeds[stage.name].update(readers.get(prefix, ()))
    cycle = _find_cycle(feeds)
    if cycle:
        yield Problem(
            "dvc.yaml",
            f"stage cycle: {' -> '.join(cycle)} (each one's output is the next one's dependency)",
            line_of_key(repo, "dvc.yaml", "stages", cycle[0]),
        )


def _prefixes(path: str) -> Iterator[str]:
    """``a/b/c``, ``a/b``, ``a``."""
    while path:
        yield path
        path = path.rpartition("/")[0]


def _find_cycle(feeds: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (its stages, the first repeated at the end), iteratively."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(feeds):
        if start in state:
            continue
        path = [start]
        state[start] = 1
        pending = [iter(sorted(feeds[start]))]
        while pending:
            following = next(pending[-1], None)
            if following is None:
                state[path.pop()] = 2
                pending.pop()
            elif state.get(following) == 1:
                return [*path[path.index(following) :], following]
            elif following not in state:
                state[following] = 1
                path.append(following)
                pending.append(iter(sorted(feeds[following])))
    return None
