"""Business Understanding (phase 1): objectives, feasibility, POC scope, success criteria."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._documents import document_rule
from crisp_lint.checks._locate import line_of_key
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

# The metrics the runtime computes, from the module that imports nothing (not from
# crisp_ml.runtime.config: its dataclasses and inspect would slow every commit's start-up).
from crisp_ml.runtime.metric_names import METRIC_DIRECTIONS, UNIT_INTERVAL_METRICS

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.BUSINESS_UNDERSTANDING
FOLDER = PHASE.folder
SUCCESS_CRITERIA = f"{FOLDER}/success-criteria.yaml"
DIRECTIONS = ("maximize", "minimize")
NON_NEGATIVE_METRICS = frozenset({"rmse", "mae"})

register_checklist_rules(PHASE)


def success_criteria(repo: RepoView) -> dict[str, Any] | None:
    """The success criteria when they are complete and numeric, else None.

    Shared with the evaluation and monitoring rules, which compare against these numbers.
    """
    data = repo.yaml(SUCCESS_CRITERIA)
    if not isinstance(data, dict) or any(True for _ in _incomplete(data)):
        return None
    return data


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _incomplete(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(key, what is wrong) for every missing or ill-typed field."""
    metric = data.get("metric")
    if not isinstance(metric, str) or not metric.strip():
        yield "metric", "`metric` must name the metric the evaluation computes, e.g. f1_macro"
    if data.get("direction") not in DIRECTIONS:
        yield (
            "direction",
            f"`direction` must be maximize or minimize, got {data.get('direction')!r}",
        )
    for key in ("target", "minimum"):
        if not is_number(data.get(key)):
            yield key, f"`{key}` must be a number, got {data.get(key)!r}"


@rule(
    "BU001",
    PHASE,
    "Success criteria missing, incomplete or not numeric",
    rationale=f"{cite('1.1', '1.2')}. The success criteria are the one machine-readable"
    " thread the evaluation gate (6.4) and the monitoring alert (8.2) reuse.",
    fix=f"write {SUCCESS_CRITERIA} with metric, direction (maximize|minimize), and numeric"
    " target and minimum",
)
def success_criteria_complete(repo: RepoView) -> Iterator[Problem]:
    if not repo.exists(SUCCESS_CRITERIA):
        yield Problem(SUCCESS_CRITERIA, "the success criteria file is missing")
        return
    data = repo.yaml(SUCCESS_CRITERIA)
    if repo.could_not_read(SUCCESS_CRITERIA):
        return  # GEN001 or GEN002 says why
    if not isinstance(data, dict):
        yield Problem(SUCCESS_CRITERIA, "must be a mapping with metric, direction, target, minimum")
        return
    for key, message in _incomplete(data):
        yield Problem(SUCCESS_CRITERIA, message, line_of_key(repo, SUCCESS_CRITERIA, key))


@rule(
    "BU002",
    PHASE,
    "Minimum acceptable value is better than the target",
    rationale=f"{cite('1.2')}. The minimum is the worst acceptable value (the deploy gate);"
    " a minimum above the target (for a metric to maximize) makes the target meaningless.",
    fix="swap target and minimum, or correct the direction",
)
def minimum_not_better_than_target(repo: RepoView) -> Iterator[Problem]:
    criteria = success_criteria(repo)
    if criteria is None:
        return
    target, minimum = criteria["target"], criteria["minimum"]
    maximize = criteria["direction"] == "maximize"
    if (minimum > target) if maximize else (minimum < target):
        yield Problem(
            SUCCESS_CRITERIA,
            f"minimum {minimum} is better than target {target} for a metric to"
            f" {criteria['direction']}",
            line_of_key(repo, SUCCESS_CRITERIA, "minimum"),
        )


@rule(
    "BU003",
    PHASE,
    "Success metric unknown, pointing the wrong way, or out of range",
    rationale=f"{cite('1.2')}. The evaluation stage can only gate on a metric it computes,"
    " in its natural direction, with thresholds the metric can reach.",
    fix=f"use one of {', '.join(METRIC_DIRECTIONS)} with its direction and a reachable range",
)
def success_metric_sound(repo: RepoView) -> Iterator[Problem]:
    criteria = success_criteria(repo)
    if criteria is None:
        return
    metric = criteria["metric"]
    if metric not in METRIC_DIRECTIONS:
        yield Problem(
            SUCCESS_CRITERIA,
            f"metric {metric!r} is not computed by the evaluation stage; use one of"
            f" {', '.join(METRIC_DIRECTIONS)}",
            line_of_key(repo, SUCCESS_CRITERIA, "metric"),
        )
        return
    natural = METRIC_DIRECTIONS[metric]
    if criteria["direction"] != natural:
        yield Problem(
            SUCCESS_CRITERIA,
            f"{metric} is a metric to {natural}, not to {criteria['direction']}:"
            f" set `direction: {natural}`",
            line_of_key(repo, SUCCESS_CRITERIA, "direction"),
        )
    for key in ("target", "minimum"):
        value = criteria[key]
        if metric in UNIT_INTERVAL_METRICS and not 0 <= value <= 1:
            yield Problem(
                SUCCESS_CRITERIA,
                f"{key} {value} is outside [0, 1], the range of {metric}",
                line_of_key(repo, SUCCESS_CRITERIA, key),
            )
        elif metric in NON_NEGATIVE_METRICS and value < 0:
            yield Problem(
                SUCCESS_CRITERIA,
                f"{key} {value} is negative; {metric} is never below 0",
                line_of_key(repo, SUCCESS_CRITERIA, key),
            )
        elif metric == "r2" and value > 1:
            yield Problem(
                SUCCESS_CRITERIA,
                f"{key} {value} is above 1, the best possible r2",
                line_of_key(repo, SUCCESS_CRITERIA, key),
            )


document_rule("BU004", PHASE, f"{FOLDER}/business-objectives.md", "business objectives", "1.1")
document_rule("BU005", PHASE, f"{FOLDER}/ml-objectives.md", "ML objectives", "1.2")
document_rule("BU006", PHASE, f"{FOLDER}/feasibility.md", "feasibility assessment", "1.4")
document_rule("BU007", PHASE, f"{FOLDER}/poc-scope.md", "POC scope and timeline", "1.5")
document_rule("BU008", PHASE, f"{FOLDER}/raw-data-verification.md", "raw data verification", "1.3")
