"""Quality measures (CRISP-ML step 5.2): one function computes every metric by name.

:func:`bootstrap_interval` adds how sure a test-split value is (step 6.4): a seeded bootstrap
confidence interval, from the predictions made once, resampled with NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from .config import METRIC_DIRECTIONS

CLASSIFICATION_METRICS = ("accuracy", "f1_macro", "roc_auc", "precision_macro", "recall_macro")
REGRESSION_METRICS = ("rmse", "mae", "r2")
TASK_METRICS = {"classification": CLASSIFICATION_METRICS, "regression": REGRESSION_METRICS}
# Metrics computed from predicted scores (probabilities) rather than predicted labels.
SCORE_METRICS = frozenset({"roc_auc"})


def _roc_auc(y_true: Any, y_score: Any, classes: Any = None) -> float:
    """Binary ROC AUC, or one-vs-rest macro ROC AUC over the classes present in ``y_true``.

    ``classes`` names the class of each score column (a model's ``classes_``); without it the
    columns are taken to be the sorted classes of ``y_true``. A slice of the test split or a
    small production batch can lack a class the model knows: that class is left out of the
    average instead of failing the whole evaluation.
    """
    scores = np.asarray(y_score, dtype=float)
    present = np.unique(y_true)
    if len(present) < 2:
        return math.nan  # undefined when the sample holds a single class
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]  # binary: the positive class's probability
    if scores.ndim == 1:
        return float(skm.roc_auc_score(y_true, scores))
    labels = list(present if classes is None else classes)
    if len(labels) != scores.shape[1] or not set(present) <= set(labels):
        raise ValueError(
            f"roc_auc: {scores.shape[1]} score columns do not match the classes {labels}; "
            "pass the model's classes_"
        )
    truth = np.asarray(y_true)
    per_class = [
        skm.roc_auc_score(truth == label, scores[:, labels.index(label)]) for label in present
    ]
    return float(np.mean(per_class))


def compute_metric(
    name: str, y_true: Any, y_pred: Any, y_score: Any = None, classes: Any = None
) -> float:
    """The value of metric ``name`` for true values ``y_true`` and predictions ``y_pred``.

    ``y_score`` (predicted probabilities, one column per class, or the positive class's
    probability) is required for ``roc_auc`` only; ``classes`` names its columns.
    """
    if name not in METRIC_DIRECTIONS:
        raise ValueError(f"unknown metric {name!r}; choose one of {', '.join(METRIC_DIRECTIONS)}")
    if name in SCORE_METRICS:
        if y_score is None:
            raise ValueError(f"{name} needs predicted scores (y_score), not only labels")
        return _roc_auc(y_true, y_score, classes)
    if name == "accuracy":
        return float(skm.accuracy_score(y_true, y_pred))
    if name in ("f1_macro", "precision_macro", "recall_macro"):
        scorer = {
            "f1_macro": skm.f1_score,
            "precision_macro": skm.precision_score,
            "recall_macro": skm.recall_score,
        }[name]
        return float(scorer(y_true, y_pred, average="macro", zero_division=0))
    if name == "rmse":
        return float(math.sqrt(skm.mean_squared_error(y_true, y_pred)))
    if name == "mae":
        return float(skm.mean_absolute_error(y_true, y_pred))
    return float(skm.r2_score(y_true, y_pred))


def compute_all(
    task: str, y_true: Any, y_pred: Any, y_score: Any = None, classes: Any = None
) -> dict[str, float]:
    """Every metric of ``task`` (classification or regression), by name."""
    if task not in TASK_METRICS:
        raise ValueError(f"unknown task {task!r}; choose classification or regression")
    return {
        name: compute_metric(name, y_true, y_pred, y_score, classes)
        for name in TASK_METRICS[task]
        if name not in SCORE_METRICS or y_score is not None
    }


def model_metric(name: str, model: Any, features: Any, y_true: Any) -> float:
    """Metric ``name`` of a fitted scikit-learn ``model`` on ``features``."""
    y_score = model.predict_proba(features) if name in SCORE_METRICS else None
    classes = getattr(model, "classes_", None)
    return compute_metric(name, y_true, model.predict(features), y_score, classes)


def describe(values: dict[str, float]) -> str:
    """``{"rmse": 3.14159}`` -> ``"rmse 3.142"``: metrics for a log line or a report."""
    return ", ".join(f"{name} {value:.4g}" for name, value in values.items())


# Bootstrap confidence interval ---------------------------------------------------------------
#
# Each resample is a row of weights: how often each test row was drawn (with replacement).
# The metrics below are the ones compute_metric computes, rewritten as weighted sums so one
# matrix product scores a thousand resamples; the predictions are never recomputed.

# Weights (resamples x rows) held in memory at once: bounds memory on large test splits.
_CHUNK_CELLS = 2_000_000
# Metrics undefined when the truth holds a single value (one class; a constant target).
_NEED_TWO_TRUTHS = frozenset({"roc_auc", "r2"})


@dataclass(frozen=True)
class Interval:
    """A bootstrap confidence interval; ``resamples`` counts those used, ``skipped`` the
    degenerate ones left out (e.g. a single class, where ROC AUC is undefined)."""

    low: float
    high: float
    confidence: float
    resamples: int
    skipped: int = 0


def _encode(values: Any) -> tuple[np.ndarray, int]:
    """Integer codes 0..k-1 of ``values`` (in sorted order), and k."""
    labels, codes = np.unique(np.asarray(values), return_inverse=True)
    return codes.ravel(), len(labels)


def _label_scorer(name: str, y_true: Any, y_pred: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Accuracy or a macro average from each resample's weighted confusion matrix.

    Like scikit-learn: macro averages run over the classes in the resample's truth or
    predictions, and a ratio with nothing to divide by counts as 0 (zero_division=0).
    """
    # One code space for truth and predictions: a class may appear in only one of them.
    codes, k = _encode(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    n = len(y_true)
    cells = np.zeros((n, k * k))  # row i: a one in its (true class, predicted class) cell
    cells[np.arange(n), codes[:n] * k + codes[n:]] = 1.0

    def score(weights: np.ndarray) -> np.ndarray:
        confusion = (weights @ cells).reshape(-1, k, k)
        hits = np.diagonal(confusion, axis1=1, axis2=2)
        if name == "accuracy":
            return hits.sum(axis=1) / weights.sum(axis=1)
        actual, predicted = confusion.sum(axis=2), confusion.sum(axis=1)
        denominator = {
            "precision_macro": predicted,
            "recall_macro": actual,
            "f1_macro": (actual + predicted) / 2,  # 2tp / (2tp + fp + fn)
        }[name]
        per_class = np.divide(hits, denominator, out=np.zeros_like(hits), where=denominator > 0)
        present = (actual + predicted) > 0
        return (per_class * present).sum(axis=1) / present.sum(axis=1)

    return score


def _binary_auc(positive: np.ndarray, scores: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Weighted ROC AUC (ties count half), as roc_auc_score computes it on a resample."""
    order = np.argsort(scores, kind="stable")
    ranked, is_positive = scores[order], positive[order]
    # Rows with equal scores form a tie group: [first, last] positions in the sorted order.
    first = np.searchsorted(ranked, ranked, side="left")
    last = np.searchsorted(ranked, ranked, side="right")

    def auc(weights: np.ndarray) -> np.ndarray:
        w = weights[:, order]
        pos, neg = w * is_positive, w * ~is_positive
        below = np.concatenate([np.zeros((len(w), 1)), np.cumsum(neg, axis=1)], axis=1)
        lower, tied = below[:, first], below[:, last] - below[:, first]
        wins = (pos * (lower + tied / 2)).sum(axis=1)
        pairs = pos.sum(axis=1) * neg.sum(axis=1)
        return np.divide(wins, pairs, out=np.full(len(w), np.nan), where=pairs > 0)

    return auc


def _auc_scorer(y_true: Any, y_score: Any, classes: Any) -> Callable[[np.ndarray], np.ndarray]:
    """ROC AUC as :func:`_roc_auc`: binary, or one-vs-rest averaged over present classes."""
    scores = np.asarray(y_score, dtype=float)
    truth = np.asarray(y_true)
    if scores.ndim == 2 and scores.shape[1] == 2:
        scores = scores[:, 1]
    if scores.ndim == 1:
        return _binary_auc(truth == np.unique(truth).max(), scores)
    labels = list(np.unique(truth) if classes is None else classes)
    one_vs_rest = [
        (truth == label, _binary_auc(truth == label, scores[:, column]))
        for column, label in enumerate(labels)
    ]

    def score(weights: np.ndarray) -> np.ndarray:
        values = np.stack([auc(weights) for _, auc in one_vs_rest], axis=1)
        present = np.stack([weights @ rows > 0 for rows, _ in one_vs_rest], axis=1)
        return np.where(present, values, 0.0).sum(axis=1) / present.sum(axis=1)

    return score


def _regression_scorer(name: str, y_true: Any, y_pred: Any) -> Callable[[np.ndarray], np.ndarray]:
    truth = np.asarray(y_true, dtype=float)
    errors = np.asarray(y_pred, dtype=float) - truth
    centred = truth - truth.mean()  # keeps the sums of squares below accurate

    def score(weights: np.ndarray) -> np.ndarray:
        total = weights.sum(axis=1)
        if name == "rmse":
            return np.sqrt(weights @ errors**2 / total)
        if name == "mae":
            return weights @ np.abs(errors) / total
        spread = weights @ centred**2 - (weights @ centred) ** 2 / total
        unexplained = np.divide(
            weights @ errors**2, spread, out=np.full(len(weights), np.nan), where=spread > 0
        )
        return 1 - unexplained

    return score


def _scorer(name: str, y_true: Any, y_pred: Any, y_score: Any, classes: Any) -> Any:
    """``score(weights)``: metric ``name`` of every resample (a row of row weights)."""
    if name in SCORE_METRICS:
        if y_score is None:
            raise ValueError(f"{name} needs predicted scores (y_score), not only labels")
        return _auc_scorer(y_true, y_score, classes)
    if name in REGRESSION_METRICS:
        return _regression_scorer(name, y_true, y_pred)
    if name in CLASSIFICATION_METRICS:
        return _label_scorer(name, y_true, y_pred)
    raise ValueError(f"unknown metric {name!r}; choose one of {', '.join(METRIC_DIRECTIONS)}")


def weighted_metric(
    name: str, weights: Any, y_true: Any, y_pred: Any, y_score: Any = None, classes: Any = None
) -> np.ndarray:
    """Metric ``name`` for each row of ``weights`` (resamples x test rows); NaN if undefined.

    With all weights 1 it equals :func:`compute_metric` on the rows as they are.
    """
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    values = _scorer(name, y_true, y_pred, y_score, classes)(weights)
    if name in _NEED_TWO_TRUTHS:
        values = np.where(_several_truths(weights, y_true), values, np.nan)
    return values


def _several_truths(weights: np.ndarray, y_true: Any) -> np.ndarray:
    """Whether each resample draws at least two distinct true values."""
    codes, k = _encode(y_true)
    drawn = weights > 0
    return np.where(drawn, codes, -1).max(axis=1) > np.where(drawn, codes, k).min(axis=1)


def _resample_weights(rng: np.random.Generator, rows: int, size: int) -> np.ndarray:
    """``size`` resamples of ``rows`` rows drawn with replacement, as counts per row."""
    drawn = rng.integers(0, rows, size=(size, rows)) + (np.arange(size) * rows)[:, None]
    return np.bincount(drawn.ravel(), minlength=size * rows).reshape(size, rows)


def bootstrap_interval(
    name: str,
    y_true: Any,
    y_pred: Any,
    y_score: Any = None,
    classes: Any = None,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of metric ``name``: the test rows resampled with
    replacement ``resamples`` times (seeded, so a rerun gives the same interval).

    Degenerate resamples, where the metric is undefined, are skipped and counted.
    """
    if resamples < 1 or not 0 < confidence < 1:
        raise ValueError("bootstrap: resamples must be at least 1 and confidence in (0, 1)")
    rng = np.random.default_rng(seed)
    rows = len(y_true)
    chunk = max(1, _CHUNK_CELLS // max(rows, 1))
    values = [
        weighted_metric(
            name,
            _resample_weights(rng, rows, min(chunk, resamples - start)),
            y_true,
            y_pred,
            y_score,
            classes,
        )
        for start in range(0, resamples, chunk)
    ]
    scores = np.concatenate(values)
    usable = scores[np.isfinite(scores)]
    skipped = resamples - usable.size
    if usable.size == 0:
        return Interval(math.nan, math.nan, confidence, 0, skipped)
    tail = (1 - confidence) / 2
    low, high = np.quantile(usable, [tail, 1 - tail])
    return Interval(float(low), float(high), confidence, int(usable.size), int(skipped))
