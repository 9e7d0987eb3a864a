"""Modelling (phase 5): tracking in MLflow, the quality measure, the baseline, dvc.lock,
committed results trained from committed code, and committed model references that name the
store the project is configured for."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._documents import document_rule
from crisp_lint.checks._locate import line_of_key
from crisp_lint.checks._loop import PROMOTIONS
from crisp_lint.checks._pipeline import (
    LOCK_FILE,
    locked_stage_names,
    no_stage,
    pipeline_location,
    pipeline_unusable,
    stages,
    stages_named,
)
from crisp_lint.checks._python import stage_scripts, uses_module
from crisp_lint.checks._regex import lazy
from crisp_lint.checks._stores import configured_store, same_store
from crisp_lint.checks.business_understanding import SUCCESS_CRITERIA
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.MODELLING
TRACKERS = ("mlflow", "dvclive")  # experiment trackers a train stage may log to
FOLDER = PHASE.folder
QUALITY_MEASURE = f"{FOLDER}/quality-measure.md"
_RELATIVE_SQLITE = lazy(r"^sqlite:///(?!/)")
_SCHEME = lazy(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
# Committed run records whose `git_state` says how the code that produced them relates to
# git (the template's train stage writes it; see tracking.py in a generated project).
RUN_RECORDS = ("reports/train/run.json",)
CLEAN = "clean"
# Why each state other than clean leaves a committed result untraceable.
UNTRACEABLE = {
    "dirty": "the model was trained from uncommitted code",
    "uncommitted": "the model was trained before the first commit",
    "no-git": "the model was trained outside a git repository",
}

register_checklist_rules(PHASE)

document_rule(
    "MO001",
    PHASE,
    f"{FOLDER}/modelling-plan.md",
    "modelling plan",
    "5.1",
    "5.4",
    "5.5",
    "5.6",
    "5.7",
    "5.8",
)
document_rule("MO002", PHASE, QUALITY_MEASURE, "quality measure", "5.2")
document_rule("MO003", PHASE, f"{FOLDER}/baseline.md", "baseline write-up", "5.3")


@rule(
    "MO004",
    PHASE,
    "Quality measure does not refer to the success criteria",
    rationale=f"{cite('5.2', '1.2')}. The model is measured by the business's success"
    " metric; restating the numbers elsewhere lets them drift apart.",
    fix=f"link {SUCCESS_CRITERIA} from {QUALITY_MEASURE} instead of repeating its numbers",
)
def quality_measure_uses_success_criteria(repo: RepoView) -> Iterator[Problem]:
    text = repo.text(QUALITY_MEASURE)
    if text is not None and "success-criteria.yaml" not in text:
        yield Problem(QUALITY_MEASURE, f"does not refer to {SUCCESS_CRITERIA}")


@rule(
    "MO005",
    PHASE,
    "No baseline stage in the pipeline",
    rationale=f"{cite('5.3')}. Without a baseline no one can tell whether the model is any"
    " good; as a stage it is re-measured on every new dataset.",
    fix="add a `baseline` stage to dvc.yaml that writes its metrics (e.g."
    " reports/baseline/metrics.json)",
)
def baseline_stage(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # GEN001 or GEN002 says why
    baseline = stages_named(repo, "baseline")
    if not baseline:
        yield Problem(pipeline_location(repo), no_stage(repo, "baseline"))
    elif not any(stage.metrics or stage.outs for stage in baseline):
        yield Problem("dvc.yaml", "the baseline stage declares no metrics or outputs")


@rule(
    "MO006",
    PHASE,
    "Training logs to no experiment tracker (MLflow or DVCLive)",
    rationale=f"{cite('5.1', '5.5')}. Every trial is documented in MLflow: parameters,"
    " metrics, the model, the git commit and the data version. DVCLive, DVC's own tracker,"
    " counts as well.",
    fix="make the train stage's module import mlflow or dvclive (directly or through the"
    " project's tracking helper) and log the run",
)
def training_logs_to_mlflow(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # GEN001 or GEN002 says why
    train = stages_named(repo, "train")
    if not train:
        yield Problem(pipeline_location(repo), no_stage(repo, "train"))
        return
    for stage in train:
        scripts = stage_scripts(repo, stage)
        if not scripts:
            yield Problem(
                "dvc.yaml",
                f"cannot find the Python file stage `{stage.name}` runs (`{stage.cmd}`):"
                " use `python -m package.module` or `python path/to/script.py`",
            )
        elif not any(
            uses_module(repo, script, tracker) for script in scripts for tracker in TRACKERS
        ):
            yield Problem(
                scripts[0],
                f"stage `{stage.name}` runs this file, which never uses mlflow or dvclive",
            )


@rule(
    "MO007",
    PHASE,
    "MLflow tracking URI that loses runs",
    rationale=f"{cite('5.1')}. A relative SQLite URI or a plain folder follows the working"
    " directory: runs queued by `dvc exp` land in a temporary copy and are lost, and MLflow"
    " refuses the old file store.",
    fix="leave `mlflow.tracking_uri` empty for the embedded store, or give an absolute"
    " `sqlite:////...` path or an http(s) server URL",
)
def tracking_uri_sound(repo: RepoView) -> Iterator[Problem]:
    section = (repo.params() or {}).get("mlflow")
    uri = section.get("tracking_uri") if isinstance(section, dict) else None
    if not isinstance(uri, str) or not uri.strip():
        return  # the embedded store, resolved to an absolute path by the tracking helper
    line = line_of_key(repo, "params.yaml", "mlflow", "tracking_uri")
    if _RELATIVE_SQLITE.match(uri):
        yield Problem("params.yaml", f"`{uri}` is relative to the working directory", line)
    elif not _SCHEME.match(uri) or uri.startswith("file:"):
        yield Problem("params.yaml", f"`{uri}` is a file store, which MLflow refuses", line)


@rule(
    "MO008",
    PHASE,
    "dvc.lock not committed, or not covering every stage",
    rationale=f"{cite('5.1', '4.8', '4.9')}. dvc.lock pins the exact data, code and"
    " parameters of every stage; without it a result cannot be reproduced or traced.",
    fix="run `dvc repro` and commit dvc.lock",
)
def lock_covers_pipeline(repo: RepoView) -> Iterator[Problem]:
    defined = stages(repo)
    if not defined:
        return
    if not repo.exists(LOCK_FILE):
        yield Problem(LOCK_FILE, "missing: run `dvc repro` and commit dvc.lock")
        return
    if repo.git_listed and not repo.is_tracked_by_git(LOCK_FILE):
        yield Problem(LOCK_FILE, "not committed: `git add dvc.lock`")
    locked = locked_stage_names(repo)
    if locked is None and repo.could_not_read(LOCK_FILE):
        return  # GEN001 or GEN002 says why
    for name in defined:
        if name not in (locked or ()):
            yield Problem(LOCK_FILE, f"stage `{name}` has never been run: `dvc repro {name}`")


@rule(
    "MO009",
    PHASE,
    "Committed model trained from uncommitted code",
    rationale=f"{cite('5.1', '5.5')}. A trial is documented with the git commit of its code;"
    " a model trained from uncommitted changes, or before the first commit, points at a"
    " commit that did not produce it.",
    fix="commit, then `dvc repro --force train` and commit the new results",
)
def results_from_committed_code(repo: RepoView) -> Iterator[Problem]:
    for path in RUN_RECORDS:
        if not repo.git_listed or not repo.is_tracked_by_git(path):
            continue  # not committed yet: nothing misleading has reached the history
        record = repo.json(path)
        state = record.get("git_state") if isinstance(record, dict) else None
        if not isinstance(state, str) or state == CLEAN:
            continue  # unreadable (GEN001/GEN002 say why), or written before git_state
        why = UNTRACEABLE.get(state, f"the model was trained from code in git state {state!r}")
        train = stages_named(repo, "train")
        rerun = f"`dvc repro --force {train[0].name.split('@', 1)[0]}`" if train else "re-train"
        yield Problem(
            path,
            f"{why} (git_state `{state}`); commit, then {rerun} and commit the new results",
            line_of_key(repo, path, "git_state"),
        )


@rule(
    "MO010",
    PHASE,
    "Committed model reference in another tracking store than the configured one",
    rationale=f"{cite('5.1', '5.5')}. A registered version number means something only in its"
    " own store: reports/train/run.json and the latest line of"
    f" {PROMOTIONS} record that store as `tracking_uri`. Trained against a"
    " fallback store (a local sqlite:///mlflow.db while the shared server was down), a commit"
    " points at a model the configured store does not have. The rule compares the committed"
    " files with params.yaml's `mlflow.tracking_uri` (null: sqlite:///mlflow.db); it reads"
    " files only, so a store chosen at run time with MLFLOW_TRACKING_URI is not seen.",
    fix="rerun `dvc repro --force train` (and `make promote`) against the configured store"
    " with MLFLOW_TRACKING_URI unset, and commit the results; or, when the project moved for"
    " good, set `mlflow.tracking_uri` in params.yaml to the store the files name",
)
def model_references_in_configured_store(repo: RepoView) -> Iterator[Problem]:
    configured = configured_store(repo.params())
    train = stages_named(repo, "train")
    rerun = f"`dvc repro --force {train[0].name.split('@', 1)[0]}`" if train else "re-train"
    for path in RUN_RECORDS:
        if committed(repo, path):
            yield from _run_record_store(repo, path, configured, rerun)
    if committed(repo, PROMOTIONS):
        yield from _promotion_store(repo, configured)


def committed(repo: RepoView, path: str) -> bool:
    """Tracked by git: only committed files mislead a clone."""
    return repo.git_listed and repo.is_tracked_by_git(path)


def _run_record_store(repo: RepoView, path: str, configured: str, rerun: str) -> Iterator[Problem]:
    record = repo.json(path)
    if not isinstance(record, dict):
        return  # unreadable: GEN001 or GEN002 says why
    recorded = record.get("tracking_uri")
    if not isinstance(recorded, str) or not recorded.strip():
        yield Problem(
            path,
            "records no `tracking_uri`, so nothing says which tracking store holds its model"
            ' (written by an older train stage): make train write `"tracking_uri":'
            " public_uri(tracking_uri(root, params), root)` (crisp_ml.runtime.tracking) as the"
            f" template's train.py does, then {rerun} and commit the new results",
        )
    elif not same_store(recorded, configured, repo.root):
        yield Problem(
            path,
            f"the model is in the tracking store `{recorded}`, but params.yaml configures"
            f" `{configured}`, which may not have it: {rerun} with MLFLOW_TRACKING_URI unset"
            " and commit the new results, or set `mlflow.tracking_uri` in params.yaml to"
            f" `{recorded}`",
            line_of_key(repo, path, "tracking_uri"),
        )


def _promotion_store(repo: RepoView, configured: str) -> Iterator[Problem]:
    """The latest promotion decides what serves: it must be in the configured registry."""
    lines = repo.lines(PROMOTIONS) or []
    numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        return
    number, line = numbered[-1]
    try:
        entry = json.loads(line)
    except ValueError:
        return  # DE009 reports a malformed line
    recorded = entry.get("tracking_uri") if isinstance(entry, dict) else None
    if isinstance(recorded, str) and not same_store(recorded, configured, repo.root):
        yield Problem(
            PROMOTIONS,
            f"the latest promotion moved an alias in the registry `{recorded}`, but"
            f" params.yaml configures `{configured}`: serving there finds another alias, or"
            " none; run `make promote` with MLFLOW_TRACKING_URI unset (after training there),"
            f" or set `mlflow.tracking_uri` in params.yaml to `{recorded}`",
            number,
        )
