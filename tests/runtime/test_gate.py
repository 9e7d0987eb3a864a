"""The deployment gate: go only above the minimum and better than the baseline, judged on
the point estimate or the pessimistic end of a seeded bootstrap confidence interval."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest

from crisp_ml.runtime.config import METRIC_DIRECTIONS, SuccessCriteria
from crisp_ml.runtime.gate import GO, NO_GO, decide
from crisp_ml.runtime.metrics import (
    Interval,
    bootstrap_interval,
    compute_metric,
    weighted_metric,
)

F1 = SuccessCriteria(metric="f1_macro", direction="maximize", target=0.9, minimum=0.8)
RMSE = SuccessCriteria(metric="rmse", direction="minimize", target=50.0, minimum=60.0)
F1_LOWER = dataclasses.replace(F1, decide_on="lower_bound")
RMSE_UPPER = dataclasses.replace(RMSE, decide_on="lower_bound")


def test_a_model_above_minimum_and_baseline_is_a_go() -> None:
    gate = decide(F1, value=0.85, baseline=0.4)
    assert gate.decision == GO
    assert gate.to_dict() == {
        "decision": "go",
        "metric": "f1_macro",
        "value": 0.85,
        "minimum": 0.8,
        "target": 0.9,
        "baseline": 0.4,
        "reasons": [
            "f1_macro 0.85 meets the minimum 0.8",
            "f1_macro 0.85 beats the baseline 0.4",
            "f1_macro falls short of the target 0.9 (not required)",
        ],
        "decide_on": "point",
        "compared_value": 0.85,
        "interval": None,
    }


def test_below_the_minimum_is_a_no_go_whatever_the_baseline() -> None:
    gate = decide(F1, value=0.79, baseline=0.1)
    assert gate.decision == NO_GO
    assert "does not meet the minimum 0.8" in gate.reasons[0]


def test_not_beating_the_baseline_is_a_no_go() -> None:
    assert decide(F1, value=0.85, baseline=0.85).decision == NO_GO
    assert decide(F1, value=0.85, baseline=0.8, min_improvement=0.1).decision == NO_GO
    assert decide(F1, value=0.95, baseline=0.8, min_improvement=0.1).decision == GO


def test_lower_is_better_for_error_metrics() -> None:
    assert decide(RMSE, value=45.0, baseline=80.0).decision == GO
    assert decide(RMSE, value=65.0, baseline=80.0).decision == NO_GO
    assert decide(RMSE, value=55.0, baseline=50.0).decision == NO_GO
    assert decide(RMSE, value=55.0, baseline=70.0, min_improvement=20.0).decision == NO_GO


def test_an_undefined_value_is_a_no_go() -> None:
    assert decide(F1, value=math.nan, baseline=0.5).decision == NO_GO


# Deciding on the confidence interval -------------------------------------------------------


def test_the_lower_bound_can_refuse_what_the_point_estimate_lets_through() -> None:
    # 0.85 on the test split, but the split is small: the interval reaches down to 0.76.
    interval = Interval(low=0.76, high=0.93, confidence=0.95, resamples=1000)
    on_point = decide(dataclasses.replace(F1_LOWER, decide_on="point"), 0.85, 0.4, 0, interval)
    on_bound = decide(F1_LOWER, 0.85, 0.4, 0, interval)
    assert (on_point.decision, on_point.compared_value) == (GO, 0.85)
    assert (on_bound.decision, on_bound.compared_value) == (NO_GO, 0.76)
    assert on_bound.reasons[:2] == [
        "f1_macro 0.85 (95% CI 0.76–0.93, 1000 bootstrap resamples); decided on the lower bound",
        "the lower bound 0.76 does not meet the minimum 0.8",
    ]
    assert on_point.reasons[0].endswith("decided on the point estimate")


def test_the_gate_file_records_the_interval_and_the_value_compared() -> None:
    interval = Interval(low=0.82, high=0.93, confidence=0.9, resamples=990, skipped=10)
    gate = decide(F1_LOWER, 0.88, 0.4, 0, interval).to_dict()
    assert gate["decision"] == GO
    assert gate["decide_on"] == "lower_bound"
    assert gate["compared_value"] == 0.82
    assert gate["interval"] == {
        "low": 0.82,
        "high": 0.93,
        "confidence": 0.9,
        "resamples": 990,
        "skipped": 10,
    }
    assert "990 bootstrap resamples, 10 degenerate skipped" in gate["reasons"][0]


def test_a_metric_to_minimize_is_decided_on_its_upper_bound() -> None:
    interval = Interval(low=48.0, high=63.0, confidence=0.95, resamples=1000)
    gate = decide(RMSE_UPPER, value=55.0, baseline=80.0, interval=interval)
    assert gate.decision == NO_GO
    assert gate.compared_value == 63.0
    assert "decided on the upper bound" in gate.reasons[0]
    assert "the upper bound 63 does not meet the minimum 60" in gate.reasons
    narrower = Interval(low=52.0, high=58.0, confidence=0.95, resamples=1000)
    assert decide(RMSE_UPPER, value=55.0, baseline=80.0, interval=narrower).decision == GO


def test_the_baseline_is_compared_on_the_point_estimates() -> None:
    # The lower bound clears the minimum, but the model itself does not beat the baseline.
    interval = Interval(low=0.85, high=0.95, confidence=0.95, resamples=1000)
    gate = decide(F1_LOWER, value=0.9, baseline=0.92, interval=interval)
    assert gate.decision == NO_GO
    assert "f1_macro 0.9 does not beat the baseline 0.92" in gate.reasons


def test_an_undefined_interval_is_a_no_go() -> None:
    interval = Interval(low=math.nan, high=math.nan, confidence=0.95, resamples=0, skipped=1000)
    assert decide(F1_LOWER, value=0.95, baseline=0.5, interval=interval).decision == NO_GO


def test_deciding_on_the_lower_bound_needs_an_interval() -> None:
    with pytest.raises(ValueError, match="needs the bootstrap interval"):
        decide(F1_LOWER, value=0.95, baseline=0.5)


# The bootstrap ------------------------------------------------------------------------------


def classified(rows: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three-class labels, predictions right about 85% of the time, and their scores."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 3, rows)
    predicted = np.where(rng.random(rows) < 0.85, truth, (truth + 1) % 3)
    scores = rng.dirichlet([1, 1, 1], rows)
    scores[np.arange(rows), predicted] += 1.0
    return truth, predicted, scores / scores.sum(axis=1, keepdims=True)


def regressed(rows: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray, None]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(100, 20, rows)
    return truth, truth + rng.normal(0, 10, rows), None


def example(metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    return regressed() if metric in ("rmse", "mae", "r2") else classified()


@pytest.mark.parametrize("metric", sorted(METRIC_DIRECTIONS))
def test_each_resample_is_scored_as_compute_metric_scores_its_rows(metric: str) -> None:
    truth, predicted, scores = example(metric)
    rng = np.random.default_rng(3)
    for _ in range(5):
        rows = rng.integers(0, len(truth), len(truth))
        weights = np.bincount(rows, minlength=len(truth))
        drawn_scores = None if scores is None else scores[rows]
        # The model's classes: a resample may miss one of them.
        expected = compute_metric(metric, truth[rows], predicted[rows], drawn_scores, [0, 1, 2])
        assert weighted_metric(metric, weights, truth, predicted, scores) == pytest.approx(expected)


@pytest.mark.parametrize("metric", sorted(METRIC_DIRECTIONS))
def test_the_interval_is_seeded_and_holds_the_point_estimate(metric: str) -> None:
    truth, predicted, scores = example(metric)
    point = compute_metric(metric, truth, predicted, scores)
    interval = bootstrap_interval(metric, truth, predicted, scores, seed=7)
    assert interval == bootstrap_interval(metric, truth, predicted, scores, seed=7)
    assert interval.low < point < interval.high
    assert (interval.resamples, interval.skipped, interval.confidence) == (1000, 0, 0.95)


def test_another_seed_draws_other_resamples() -> None:
    truth, predicted, _ = regressed()
    first = bootstrap_interval("rmse", truth, predicted, seed=1)
    assert first != bootstrap_interval("rmse", truth, predicted, seed=2)


def test_a_higher_confidence_widens_the_interval() -> None:
    truth, predicted, _ = classified()
    narrow = bootstrap_interval("accuracy", truth, predicted, confidence=0.8)
    wide = bootstrap_interval("accuracy", truth, predicted, confidence=0.99)
    assert wide.low < narrow.low and narrow.high < wide.high


def test_degenerate_resamples_are_skipped_and_counted() -> None:
    # One positive in eight rows: about a third of the resamples draw no positive at all,
    # where ROC AUC is undefined.
    truth = np.array([0, 0, 0, 0, 0, 0, 0, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9])
    interval = bootstrap_interval("roc_auc", truth, truth, scores, resamples=500, seed=1)
    assert 0 < interval.skipped < 500
    assert interval.resamples + interval.skipped == 500
    assert interval.high == 1.0
    constant = bootstrap_interval("r2", np.ones(5), np.ones(5), resamples=50)
    assert (constant.resamples, constant.skipped) == (0, 50)
    assert math.isnan(constant.low) and math.isnan(constant.high)


def test_a_thousand_resamples_of_a_few_hundred_rows_take_well_under_a_second() -> None:
    truth, predicted, scores = classified(rows=500)
    start = time.perf_counter()
    bootstrap_interval("roc_auc", truth, predicted, scores, resamples=1000)
    bootstrap_interval("f1_macro", truth, predicted, resamples=1000)
    assert time.perf_counter() - start < 2.0
