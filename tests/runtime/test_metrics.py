"""Metrics: every success metric the questionnaire offers is computed, by name."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from crisp_ml.runtime.config import METRIC_DIRECTIONS
from crisp_ml.runtime.metrics import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    compute_all,
    compute_metric,
)

LABELS = [0, 0, 1, 1]
PREDICTED = [0, 1, 1, 1]
SCORES = [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("accuracy", 0.75),
        ("precision_macro", (1.0 + 2 / 3) / 2),
        ("recall_macro", (0.5 + 1.0) / 2),
        ("f1_macro", (2 / 3 + 0.8) / 2),
        ("roc_auc", 1.0),
    ],
)
def test_classification_metrics(name: str, expected: float) -> None:
    assert compute_metric(name, LABELS, PREDICTED, SCORES) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("rmse", math.sqrt((1 + 4) / 3)), ("mae", 1.0), ("r2", 1 - 5 / 8)],
)
def test_regression_metrics(name: str, expected: float) -> None:
    assert compute_metric(name, [1.0, 3.0, 5.0], [2.0, 3.0, 3.0]) == pytest.approx(expected)


def test_multiclass_roc_auc_uses_one_score_column_per_class() -> None:
    scores = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.6, 0.3, 0.1]]
    assert compute_metric("roc_auc", [0, 1, 2, 0], [0, 1, 2, 0], scores) == pytest.approx(1.0)


def test_multiclass_roc_auc_is_the_one_vs_rest_macro_average() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=60)
    scores = rng.dirichlet([1, 1, 1], size=60)
    expected = roc_auc_score(labels, scores, multi_class="ovr", average="macro")
    assert compute_metric("roc_auc", labels, labels, scores) == pytest.approx(expected)


def test_multiclass_roc_auc_leaves_out_a_class_the_sample_lacks() -> None:
    # A slice of the test split with no "c" rows, scored by a model that knows a, b and c.
    scores = [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1]]
    truth = ["a", "b", "a", "b"]
    value = compute_metric("roc_auc", truth, truth, scores, classes=["a", "b", "c"])
    assert value == pytest.approx(1.0)


def test_roc_auc_is_undefined_on_a_single_class() -> None:
    assert math.isnan(compute_metric("roc_auc", [1, 1], [1, 1], [0.2, 0.9]))


def test_every_metric_with_a_direction_is_computed() -> None:
    assert set(CLASSIFICATION_METRICS) | set(REGRESSION_METRICS) == set(METRIC_DIRECTIONS)
    assert set(compute_all("classification", LABELS, PREDICTED, SCORES)) == set(
        CLASSIFICATION_METRICS
    )
    assert set(compute_all("regression", [1.0, 2.0], [1.0, 2.5])) == set(REGRESSION_METRICS)


def test_bad_requests_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        compute_metric("speed", LABELS, PREDICTED)
    with pytest.raises(ValueError, match="needs predicted scores"):
        compute_metric("roc_auc", LABELS, PREDICTED)
    with pytest.raises(ValueError, match="unknown task"):
        compute_all("clustering", LABELS, PREDICTED)
