"""Data Preparation & Preprocessing (phase 4): the decisions log, the dataset, the split.

No-leakage convention (DP005). Only evaluation stages (named ``evaluate``/``monitor``, or
starting with ``evaluate_``/``monitor_``) may read the test split. Any other stage that
depends on an output of the ``split`` stage is judged, first rule that applies:

1. the dependency's file name names a subset (``data/split/test.json``): a leak when it is
   ``test``;
2. the stage declares its subsets, on its command line (``--subset train``, ``--subsets
   train,val``; repeatable) or in its ``params.yaml`` section (``train: {subsets: [train,
   val]}``): a leak when ``test`` is among them;
3. otherwise the Python module its command runs (``python -m pkg.train``) is read: a leak
   when it names the test part as a string literal (``split["test"]``,
   ``load_part(root, "test")``); a stage whose code cannot be found is reported as
   undecidable, with the two ways to declare it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._documents import PLACEHOLDER, first_placeholder_line
from crisp_lint.checks._locate import line_of_key
from crisp_lint.checks._markdown import sections
from crisp_lint.checks._pipeline import (
    Stage,
    covers,
    no_stage,
    parameters,
    pipeline_location,
    pipeline_unusable,
    plays,
    stages,
    stages_named,
)
from crisp_lint.checks._python import stage_scripts
from crisp_lint.checks._regex import lazy
from crisp_lint.checks._tags import GIT_HISTORY, untagged_version
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.DATA_PREPARATION
FOLDER = PHASE.folder
PREPARATION_LOG = f"{FOLDER}/preparation-log.md"
# Each decision of steps 4.1-4.7, as the words its heading must contain.
DECISIONS: dict[str, tuple[str, ...]] = {
    "feature selection (4.1)": ("feature selection",),
    "sample selection (4.2)": ("sample selection", "row selection"),
    "class balancing (4.3)": ("balanc",),
    "cleaning (4.4)": ("cleaning",),
    "feature engineering (4.5)": ("feature engineering",),
    "augmentation (4.6)": ("augmentation",),
    "standardisation (4.7)": ("standardi",),
}
EVALUATION_ROLES = ("evaluate", "monitor")
SUBSETS = ("train", "val", "test")
_SUBSET_FLAG = lazy(r"--subsets?[= ](?P<value>[A-Za-z_,]+)")
_TEST_LITERAL = lazy(r"""(["'])test\1""")

register_checklist_rules(PHASE)


@rule(
    "DP001",
    PHASE,
    "Preparation log does not record every decision",
    rationale=f"{cite('4.1', '4.2', '4.3', '4.4', '4.5', '4.6', '4.7')}. Each preparation"
    " decision, including `not needed`, is written down with its reason.",
    fix=f"give {PREPARATION_LOG} a section per decision (feature selection, sample"
    " selection, balancing, cleaning, feature engineering, augmentation, standardisation)"
    f" and replace every {PLACEHOLDER}",
)
def preparation_log(repo: RepoView) -> Iterator[Problem]:
    lines = repo.lines(PREPARATION_LOG)
    if lines is None:
        if not repo.exists(PREPARATION_LOG):  # else unreadable: GEN001 says why
            yield Problem(PREPARATION_LOG, "the data preparation log is missing")
        return
    titles = [section.title.lower() for section in sections(lines)]
    for decision, words in DECISIONS.items():
        if not any(word in title for title in titles for word in words):
            yield Problem(PREPARATION_LOG, f"no section on {decision}")
    if repo.has_placeholder(PREPARATION_LOG):
        yield Problem(
            PREPARATION_LOG,
            f"the log still has {PLACEHOLDER} placeholders",
            first_placeholder_line(repo, PREPARATION_LOG),
        )


@rule(
    "DP002",
    PHASE,
    "Prepared dataset is not a DVC output",
    rationale=f"{cite('4.8')}. The final data set is versioned by DVC so every model names"
    " the exact data it learned from.",
    fix="add a `prepare` stage to dvc.yaml whose `outs` hold the prepared data set",
)
def prepared_dataset(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # GEN001 or GEN002 says why
    prepare = stages_named(repo, "prepare")
    if not prepare:
        yield Problem(
            pipeline_location(repo), no_stage(repo, "prepare", "writes the prepared data set")
        )
    elif not any(stage.outs for stage in prepare):
        yield Problem("dvc.yaml", "the prepare stage declares no `outs`")


@rule(
    "DP003",
    PHASE,
    "No split stage with a fixed seed",
    rationale=f"{cite('4.9')}. A split that changes from run to run makes every metric"
    " incomparable; the seed lives in params.yaml so changing it re-runs the split.",
    fix="add a `split` stage to dvc.yaml with `params: [split.seed]` and set an integer"
    " `split: {seed: 42}` in params.yaml",
)
def split_seed(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # GEN001 or GEN002 says why
    split = stages_named(repo, "split")
    if not split:
        yield Problem(pipeline_location(repo), no_stage(repo, "split"))
        return
    params = parameters(repo)
    if params is None:
        return  # params.yaml unreadable: GEN001 or GEN002 says why
    # The seed the split stage lists (a split inside prepare may call it `prepare.seed`),
    # else the template's `split.seed`.
    # The seed the split stage lists (a split inside prepare may call it `prepare.seed`,
    # or read it from another file: `file:key`), else the template's `split.seed`.
    listed = [p for stage in split for p in stage.params if "seed" in p.lower()]
    file, _, key = listed[0].rpartition(":") if listed else ("", "", "split.seed")
    source = file or "params.yaml"
    document = params if not file else repo.yaml(file)
    if file and repo.could_not_read(file):
        return  # GEN001 or GEN002 says why
    seed = _dotted(document if isinstance(document, dict) else {}, key)
    if not isinstance(seed, int) or isinstance(seed, bool):
        yield Problem(
            source if repo.exists(source) else pipeline_location(repo),
            f"`{key}` must be a fixed integer, got {seed!r}" + (f" in {file}" if file else ""),
            line_of_key(repo, source, *key.split(".")),
        )
    elif not listed and not any(
        p in ("split", "split.seed") for stage in split for p in stage.params
    ):
        yield Problem(
            "dvc.yaml",
            "the split stage does not list `split.seed` under `params`: changing the seed"
            " would not re-run it",
        )


@rule(
    "DP004",
    PHASE,
    "Split indices are not a DVC output",
    rationale=f"{cite('4.9')}. The indices of train, validation and test rows are pushed to"
    " DVC so every stage and every teammate uses the same split.",
    fix="declare the indices file (e.g. data/split/indices.json) under the split stage's `outs`",
)
def split_indices_output(repo: RepoView) -> Iterator[Problem]:
    for stage in stages_named(repo, "split"):
        if not stage.outs:
            yield Problem("dvc.yaml", f"stage `{stage.name}` declares no `outs` for the indices")


@rule(
    "DP005",
    PHASE,
    "Test split read by a stage that is not an evaluation stage",
    rationale=f"{cite('4.9', '6.1')}. The test split must stay unseen until evaluation;"
    " a training or tuning stage that reads it leaks the test data into the model.",
    fix="make the stage read only the train and val parts; declare them with `--subset`"
    " or `subsets:` in its params.yaml section, or depend on a train-only split output",
)
def no_test_leakage(repo: RepoView) -> Iterator[Problem]:
    all_stages = stages(repo)
    split_outputs = [
        out for stage in all_stages.values() if plays(repo, stage, "split") for out in stage.writes
    ]
    for stage in all_stages.values():
        if plays(repo, stage, "split", *EVALUATION_ROLES):
            continue
        for dep in stage.deps:
            output = next((o for o in split_outputs if covers(o, dep) or covers(dep, o)), None)
            if output is None:
                continue
            problem = _leak(repo, stage, dep)
            if problem:
                yield Problem("dvc.yaml", f"stage `{stage.name}` {problem}")


def _dotted(params: dict[str, object], key: str) -> object:
    """The value of a dotted params.yaml key (``split.seed``), or None."""
    value: object = params
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _leak(repo: RepoView, stage: Stage, dep: str) -> str | None:
    name = posixpath.basename(dep).lower()
    named = [subset for subset in SUBSETS if re.search(rf"(^|[_.-]){subset}([_.-]|$)", name)]
    if named:
        return f"depends on {dep}, the test split" if "test" in named else None
    declared = _declared_subsets(repo, stage)
    if declared is not None:
        return f"reads the test subset from {dep}" if "test" in declared else None
    scripts = stage_scripts(repo, stage)
    if not scripts:
        return (
            f"depends on {dep} (every subset) and its code cannot be found to tell which"
            " subsets it reads: pass --subset or set `subsets:` in its params.yaml section"
        )
    for script in scripts:
        if _TEST_LITERAL.search(repo.text(script) or ""):
            return f'runs {script}, which reads the "test" part of {dep}'
    return None


def _declared_subsets(repo: RepoView, stage: Stage) -> set[str] | None:
    flags = [m["value"] for m in _SUBSET_FLAG.finditer(stage.cmd)]
    if flags:
        return {s.strip() for flag in flags for s in flag.split(",") if s.strip()}
    section = (repo.params() or {}).get(stage.name.split("@", 1)[0])
    subsets = section.get("subsets") if isinstance(section, dict) else None
    if isinstance(subsets, list) and all(isinstance(s, str) for s in subsets):
        return set(subsets)
    return None


@rule(
    "DP006",
    PHASE,
    "Prepared dataset version not tagged `dataset`",
    rationale=f"{cite('4.8')}. The tag names the exact dataset the models were trained and"
    " evaluated on.",
    fix="commit dvc.lock, run `make tags` where the Makefile has it (a generated project's"
    " tags dataset-vN and pushes the data; elsewhere `git tag -a dataset-vN`) and"
    " `git push --tags`",
    needs=GIT_HISTORY,
)
def dataset_version_tagged(repo: RepoView) -> Iterator[Problem]:
    for path in [out for stage in stages_named(repo, "prepare") for out in stage.outs]:
        yield from untagged_version(repo, "dataset", path)
