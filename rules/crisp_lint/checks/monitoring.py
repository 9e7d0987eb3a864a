"""Monitoring & Maintenance (phase 8): the same thresholds as phase 1, a dashboard, a
retraining trigger, and the procedures that keep the model alive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._documents import document_rule
from crisp_lint.checks._locate import line_of_key
from crisp_lint.checks._pipeline import (
    no_stage,
    parameters,
    pipeline_location,
    pipeline_unusable,
    stages_named,
)
from crisp_lint.checks.business_understanding import SUCCESS_CRITERIA, success_criteria
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.MONITORING
FOLDER = PHASE.folder
# Keys of params.yaml's `monitor:` section that restate a success criterion.
THRESHOLD_KEYS = ("metric", "direction", "target", "minimum", "threshold")

register_checklist_rules(PHASE)

document_rule("MN001", PHASE, f"{FOLDER}/monitoring-plan.md", "monitoring plan", "8.1", "8.2")
document_rule("MN002", PHASE, f"{FOLDER}/retraining-policy.md", "retraining policy", "8.3", "8.5")
document_rule("MN003", PHASE, f"{FOLDER}/labelling-procedure.md", "labelling procedure", "8.4")


@rule(
    "MN004",
    PHASE,
    "Monitoring thresholds differ from the success criteria",
    rationale=f"{cite('8.2', '1.2')}. Monitoring alerts on the thresholds the business set in"
    " phase 1; a second copy of a threshold drifts from the first.",
    fix=f"set `monitor.success_criteria: {SUCCESS_CRITERIA}` in params.yaml and delete any"
    " threshold typed there",
)
def monitoring_uses_success_criteria(repo: RepoView) -> Iterator[Problem]:
    params = parameters(repo)
    if params is None:
        return  # params.yaml unreadable: GEN001 or GEN002 says why
    monitor = params.get("monitor")
    if not isinstance(monitor, dict):
        yield Problem(
            "params.yaml", f"no `monitor:` section with `success_criteria: {SUCCESS_CRITERIA}`"
        )
        return
    if monitor.get("success_criteria") != SUCCESS_CRITERIA:
        yield Problem(
            "params.yaml",
            f"`monitor.success_criteria` must be {SUCCESS_CRITERIA}, got"
            f" {monitor.get('success_criteria')!r}",
            line_of_key(repo, "params.yaml", "monitor", "success_criteria")
            or line_of_key(repo, "params.yaml", "monitor"),
        )
    criteria = success_criteria(repo)
    if criteria is None:
        return
    expected = {**criteria, "threshold": criteria["minimum"]}
    for key in THRESHOLD_KEYS:
        if key in monitor and monitor[key] != expected[key]:
            yield Problem(
                "params.yaml",
                f"`monitor.{key}` is {monitor[key]!r} but the success criteria say"
                f" {expected[key]!r}",
                line_of_key(repo, "params.yaml", "monitor", key),
            )


@rule(
    "MN005",
    PHASE,
    "No monitoring stage with a dashboard and a retraining trigger",
    rationale=f"{cite('8.1', '8.2', '8.3')}. Monitoring is a pipeline stage: it scores"
    " production data against the success criteria, renders the dashboard and decides"
    " whether to retrain.",
    fix="add a `monitor` stage to dvc.yaml that depends on the success criteria and writes"
    " an HTML dashboard and a retraining decision (e.g. reports/monitoring/retrain.json)",
)
def monitoring_stage(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # GEN001 or GEN002 says why
    monitor = stages_named(repo, "monitor")
    if not monitor:
        yield Problem(pipeline_location(repo), no_stage(repo, "monitor"))
        return
    writes = [path for stage in monitor for path in stage.writes]
    if not any(path.endswith((".html", ".htm")) for path in writes):
        yield Problem("dvc.yaml", "the monitor stage writes no HTML dashboard (step 8.2)")
    if not any("retrain" in path.rsplit("/", 1)[-1] for path in writes):
        yield Problem("dvc.yaml", "the monitor stage writes no retraining decision (step 8.3)")
    if not any(SUCCESS_CRITERIA in stage.deps for stage in monitor):
        yield Problem("dvc.yaml", f"the monitor stage does not depend on {SUCCESS_CRITERIA}")
