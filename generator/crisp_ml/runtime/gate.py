"""The deployment gate (CRISP-ML step 6.4): go or no-go against the phase-1 success criteria.

The rule: the model's success metric on the test split must reach the minimum acceptable
value, and beat the baseline by at least ``min_improvement``. The target is reported, not
required: a model between minimum and target may ship while work goes on.

Which value meets the minimum is the criteria's ``decide_on``:

- ``lower_bound``: the pessimistic end of the bootstrap confidence interval (the lower bound
  for a metric to maximize, the upper bound for one to minimize), so a model that reached
  the minimum on a lucky test split does not pass;
- ``point``: the point estimate on the test split (what files without ``decide_on`` mean).

The target is judged on that same value. The baseline comparison always uses the point
estimates of model and baseline, both on the same rows: it asks whether the model learned
anything, and ``min_improvement`` is the margin to demand.

The evaluate stage writes the result to ``reports/evaluation/gate.json``; CI's promotion
step checks it with ``python -m crisp_ml.runtime.gate_check``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .config import LOWER_BOUND, POINT, SuccessCriteria
from .metrics import Interval

GO, NO_GO = "go", "no-go"


@dataclass(frozen=True)
class GateResult:
    """The decision and its reasons; serialised as gate.json.

    ``value`` is the point estimate; ``compared_value`` the value held against the minimum
    and target (the point estimate, or the interval's pessimistic end).
    """

    decision: str
    metric: str
    value: float
    minimum: float
    target: float
    baseline: float
    reasons: list[str] = field(default_factory=list)
    decide_on: str = POINT
    compared_value: float = math.nan
    interval: Interval | None = None

    @property
    def go(self) -> bool:
        return self.decision == GO

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:.4g}"


def describe_interval(metric: str, value: float, interval: Interval) -> str:
    """``"f1_macro 0.96 (95% CI 0.93–0.98, 1000 bootstrap resamples)"``."""
    skipped = f", {interval.skipped} degenerate skipped" if interval.skipped else ""
    return (
        f"{metric} {_fmt(value)} ({interval.confidence:.0%} CI {_fmt(interval.low)}–"
        f"{_fmt(interval.high)}, {interval.resamples} bootstrap resamples{skipped})"
    )


def decided_on(criteria: SuccessCriteria) -> str:
    """What the decision rests on, in words: "the point estimate" or "the lower bound"."""
    if criteria.decide_on == POINT:
        return "the point estimate"
    return f"the {criteria.pessimistic_bound}"


def compared_value(criteria: SuccessCriteria, value: float, interval: Interval | None) -> float:
    """The value held against the minimum and the target, as ``decide_on`` says."""
    if criteria.decide_on != LOWER_BOUND:
        return value
    if interval is None:
        raise ValueError("decide_on: lower_bound needs the bootstrap interval")
    return criteria.pessimistic(interval.low, interval.high)


def _threshold_reasons(criteria: SuccessCriteria, compared: float) -> tuple[bool, list[str]]:
    """Whether ``compared`` meets the minimum, and the reasons about minimum and target."""
    subject, target_subject = f"{criteria.metric} {_fmt(compared)}", criteria.metric
    if criteria.decide_on == LOWER_BOUND:
        subject = target_subject = f"the {criteria.pessimistic_bound} {_fmt(compared)}"
    meets_minimum = criteria.meets_minimum(compared)
    meets = "meets" if meets_minimum else "does not meet"
    reaches = "reaches" if criteria.meets_target(compared) else "falls short of"
    optional = "" if criteria.meets_target(compared) else " (not required)"
    return meets_minimum, [
        f"{subject} {meets} the minimum {_fmt(criteria.minimum)}",
        f"{target_subject} {reaches} the target {_fmt(criteria.target)}{optional}",
    ]


def _baseline_reason(
    criteria: SuccessCriteria, value: float, baseline: float, min_improvement: float
) -> tuple[bool, str]:
    """Whether the point estimate beats ``baseline`` by ``min_improvement``, and the reason."""
    # The bar: the baseline moved by the required improvement in the metric's good direction.
    sign = 1 if criteria.direction == "maximize" else -1
    bar = baseline + sign * min_improvement
    beats = not math.isnan(value) and (math.isnan(baseline) or criteria.is_better(value, bar))
    margin = f" by more than {min_improvement:g}" if min_improvement else ""
    verb = "beats" if beats else "does not beat"
    return beats, f"{criteria.metric} {_fmt(value)} {verb} the baseline {_fmt(baseline)}{margin}"


def decide(
    criteria: SuccessCriteria,
    value: float,
    baseline: float,
    min_improvement: float = 0.0,
    interval: Interval | None = None,
) -> GateResult:
    """Go when the value ``criteria.decide_on`` picks meets the minimum and the point
    estimate ``value`` beats ``baseline`` by ``min_improvement``."""
    compared = compared_value(criteria, value, interval)
    reasons = []
    if interval is not None:
        reasons.append(
            f"{describe_interval(criteria.metric, value, interval)}; "
            f"decided on {decided_on(criteria)}"
        )
    meets_minimum, threshold_reasons = _threshold_reasons(criteria, compared)
    beats_baseline, baseline_reason = _baseline_reason(criteria, value, baseline, min_improvement)
    reasons += [threshold_reasons[0], baseline_reason, threshold_reasons[1]]
    return GateResult(
        decision=GO if meets_minimum and beats_baseline else NO_GO,
        metric=criteria.metric,
        value=value,
        minimum=criteria.minimum,
        target=criteria.target,
        baseline=baseline,
        reasons=reasons,
        decide_on=criteria.decide_on,
        compared_value=compared,
        interval=interval,
    )
