"""The deployment gate (CRISP-ML step 6.4): go or no-go against the phase-1 success criteria.

The rule: the model's value of the success metric on the test split must reach the minimum
acceptable value, and beat the baseline by at least ``min_improvement``. The target is
reported, not required: a model between minimum and target may ship while work goes on.

The evaluate stage writes the result to ``reports/evaluation/gate.json``; CI's promotion
step checks it with ``python -m <package>.gate_check``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .config import SuccessCriteria

GO, NO_GO = "go", "no-go"


@dataclass(frozen=True)
class GateResult:
    """The decision and its reasons; serialised as gate.json."""

    decision: str
    metric: str
    value: float
    minimum: float
    target: float
    baseline: float
    reasons: list[str] = field(default_factory=list)

    @property
    def go(self) -> bool:
        return self.decision == GO

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(value: float) -> str:
    return "undefined" if math.isnan(value) else f"{value:.4g}"


def decide(
    criteria: SuccessCriteria, value: float, baseline: float, min_improvement: float = 0.0
) -> GateResult:
    """Go when ``value`` meets the minimum and beats ``baseline`` by ``min_improvement``."""
    name = criteria.metric
    reasons = []
    meets_minimum = criteria.meets_minimum(value)
    if meets_minimum:
        reasons.append(f"{name} {_fmt(value)} meets the minimum {_fmt(criteria.minimum)}")
    else:
        reasons.append(f"{name} {_fmt(value)} does not meet the minimum {_fmt(criteria.minimum)}")

    # The bar: the baseline moved by the required improvement in the metric's good direction.
    sign = 1 if criteria.direction == "maximize" else -1
    bar = baseline + sign * min_improvement
    beats_baseline = not math.isnan(value) and (
        math.isnan(baseline) or criteria.is_better(value, bar)
    )
    margin = f" by more than {min_improvement:g}" if min_improvement else ""
    if beats_baseline:
        reasons.append(f"{name} {_fmt(value)} beats the baseline {_fmt(baseline)}{margin}")
    else:
        reasons.append(f"{name} {_fmt(value)} does not beat the baseline {_fmt(baseline)}{margin}")

    if criteria.meets_target(value):
        reasons.append(f"{name} reaches the target {_fmt(criteria.target)}")
    else:
        reasons.append(f"{name} falls short of the target {_fmt(criteria.target)} (not required)")

    decision = GO if meets_minimum and beats_baseline else NO_GO
    return GateResult(decision, name, value, criteria.minimum, criteria.target, baseline, reasons)
