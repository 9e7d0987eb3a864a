"""Evaluation (phase 6): the gate on the success criteria, robustness, explainability, and
the documents a deployment decision rests on."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._documents import document_rule
from crisp_lint.checks._locate import line_of_key
from crisp_lint.checks._markdown import tables
from crisp_lint.checks._pipeline import (
    no_stage,
    parameters,
    pipeline_location,
    pipeline_unusable,
    repro,
    stages_named,
    top_level,
)
from crisp_lint.checks.business_understanding import SUCCESS_CRITERIA, success_criteria
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.repo import PLACEHOLDER
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.EVALUATION
FOLDER = PHASE.folder
EVALUATION_REPORTS = "reports/evaluation"
GATE = f"{EVALUATION_REPORTS}/gate.json"
DEPLOY_DECISION = f"{FOLDER}/deploy-decision.md"
DECISIONS = ("go", "no-go")
# Reports steps 6.2 and 6.3 call for, as outputs of the evaluation stage.
REPORTS = {"robustness": "6.2", "explainability": "6.3"}

register_checklist_rules(PHASE)

document_rule("EV001", PHASE, f"{FOLDER}/evaluation-criteria.md", "evaluation criteria", "6.5")
document_rule("EV002", PHASE, f"{FOLDER}/model-card.md", "model card", "6.5")
document_rule("EV003", PHASE, DEPLOY_DECISION, "deploy decision", "6.4")
document_rule("EV004", PHASE, f"{FOLDER}/robustness.md", "robustness review", "6.2")
document_rule("EV005", PHASE, f"{FOLDER}/explainability.md", "explainability review", "6.3")


def _success_criteria_reference(repo: RepoView, section: str) -> Iterator[Problem]:
    """``params.yaml`` ``<section>.success_criteria`` names the phase-1 file."""
    params = parameters(repo)
    if params is None:
        return  # params.yaml unreadable: GEN001 or GEN002 says why
    block = params.get(section)
    value = block.get("success_criteria") if isinstance(block, dict) else None
    if value != SUCCESS_CRITERIA:
        yield Problem(
            "params.yaml",
            f"`{section}.success_criteria` must be {SUCCESS_CRITERIA}, got {value!r}",
            line_of_key(repo, "params.yaml", section, "success_criteria")
            or line_of_key(repo, "params.yaml", section),
        )


def _metrics_file(repo: RepoView, path: str) -> Any:
    """A DVC metrics file parsed by its format (DVC reads JSON, YAML and TOML); None for
    another format or a file not written yet."""
    if not repo.exists(path):
        return None
    suffix = posixpath.splitext(path)[1].lower()
    if suffix == ".json":
        return repo.json(path)
    if suffix in (".yaml", ".yml"):
        return repo.yaml(path)
    return repo.toml(path) if suffix == ".toml" else None


def _find_key(node: Any, key: str) -> bool:
    if isinstance(node, dict):
        return key in node or any(_find_key(value, key) for value in node.values())
    if isinstance(node, list):
        return any(_find_key(item, key) for item in node)
    return False


@rule(
    "EV006",
    PHASE,
    "Evaluation does not gate on the success metric",
    rationale=f"{cite('6.1', '6.4')}. The model is judged by the success criteria of phase 1"
    " (one thread of truth): the evaluate stage reads that file and reports that metric.",
    fix=f"give dvc.yaml an `evaluate` stage that depends on {SUCCESS_CRITERIA}, declares its"
    " metrics file, and set `evaluate.success_criteria` in params.yaml to that path",
)
def evaluation_gates_on_success_metric(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # GEN001 or GEN002 says why
    evaluate = stages_named(repo, "evaluate")
    if not evaluate:
        yield Problem(pipeline_location(repo), no_stage(repo, "evaluate"))
        return
    yield from _success_criteria_reference(repo, "evaluate")
    if not any(SUCCESS_CRITERIA in stage.deps for stage in evaluate):
        yield Problem("dvc.yaml", f"the evaluate stage does not depend on {SUCCESS_CRITERIA}")
    # DVC's top-level `metrics:` count as the evaluation's too.
    metric_files = [path for stage in evaluate for path in stage.metrics]
    metric_files += top_level(repo, "metrics")
    if not metric_files:
        yield Problem("dvc.yaml", "the evaluate stage declares no `metrics:`")
        return
    criteria = success_criteria(repo)
    if criteria is None:
        return  # BU001 reports the criteria themselves
    metric = criteria["metric"]
    settings = (repo.params() or {}).get("evaluate")
    declared = settings.get("metrics") if isinstance(settings, dict) else None
    if isinstance(declared, list):
        if metric not in declared:
            yield Problem(
                "params.yaml",
                f"`evaluate.metrics` does not include the success metric {metric}",
                line_of_key(repo, "params.yaml", "evaluate", "metrics"),
            )
        return
    written = [data for path in metric_files if (data := _metrics_file(repo, path)) is not None]
    if written and not any(_find_key(data, metric) for data in written):
        yield Problem(
            metric_files[0], f"the evaluation metrics do not include the success metric {metric}"
        )


@rule(
    "EV007",
    PHASE,
    "Robustness or explainability report not produced by the pipeline",
    rationale=f"{cite('6.2', '6.3')}. Robustness and explainability are measured on every"
    " evaluated model, not once by hand.",
    fix=f"declare {EVALUATION_REPORTS}/robustness.json and explainability.json as outputs"
    " of the evaluate stage",
)
def evaluation_reports(repo: RepoView) -> Iterator[Problem]:
    evaluate = stages_named(repo, "evaluate")
    if not evaluate:
        return  # EV006 reports the missing stage
    writes = [path for stage in evaluate for path in stage.writes]
    for report, step in REPORTS.items():
        if not any(report in path.rsplit("/", 1)[-1] for path in writes):
            yield Problem("dvc.yaml", f"the evaluate stage writes no {report} report (step {step})")


@rule(
    "EV008",
    PHASE,
    "Evaluation gate result missing or invalid",
    rationale=f"{cite('6.4')}. The deploy decision starts from the gate's recorded verdict"
    " on the success criteria.",
    fix=f"run `dvc repro evaluate` (or `dvc pull`) so {GATE} holds"
    ' {"decision": "go" | "no-go", "metric": ..., ...}',
)
def gate_recorded(repo: RepoView) -> Iterator[Problem]:
    if not repo.exists(GATE):
        yield Problem(GATE, f"not found: run {repro(repo, 'evaluate', pull=True)}")
        return
    gate = repo.json(GATE)
    if repo.could_not_read(GATE):
        return  # GEN001 or GEN002 says why
    if not isinstance(gate, dict) or gate.get("decision") not in DECISIONS:
        yield Problem(GATE, 'must be an object with "decision": "go" or "no-go"')
        return
    criteria = success_criteria(repo)
    if criteria is None:
        return
    if gate.get("metric") != criteria["metric"]:
        yield Problem(
            GATE,
            f"gated on {gate.get('metric')!r}, not the success metric {criteria['metric']}:"
            f" re-run {repro(repo, 'evaluate')}",
        )
    if gate.get("minimum") is not None and gate.get("minimum") != criteria["minimum"]:
        yield Problem(
            GATE,
            f"gated on minimum {gate.get('minimum')}, not {criteria['minimum']} from"
            f" {SUCCESS_CRITERIA}: re-run {repro(repo, 'evaluate')}",
        )


@rule(
    "EV009",
    PHASE,
    "Deploy decision does not match the gate's verdict",
    rationale=f"{cite('6.4')}. The people's decision records the gate's result; a `no-go`"
    " gate is never overridden in a document.",
    fix=f"copy the decision of {GATE} into the `Gate decision` row of {DEPLOY_DECISION}",
)
def decision_records_gate(repo: RepoView) -> Iterator[Problem]:
    gate = repo.json(GATE)
    lines = repo.lines(DEPLOY_DECISION)
    if not isinstance(gate, dict) or gate.get("decision") not in DECISIONS or lines is None:
        return
    for table in tables(lines):
        for offset, row in enumerate(table.rows, start=2):
            if len(row) >= 2 and row[0].strip().lower() == "gate decision":
                if PLACEHOLDER in row[1]:
                    return  # not filled in yet: EV003 reports the placeholder
                recorded = row[1].strip().strip("`*").lower()
                if recorded.split(" ", 1)[0].rstrip(".,;:") != gate["decision"]:
                    yield Problem(
                        DEPLOY_DECISION,
                        f"records gate decision {row[1].strip()!r}; {GATE} says {gate['decision']}",
                        table.line + offset,
                    )
                return
    yield Problem(DEPLOY_DECISION, "no `Gate decision` row recording the gate's verdict")
