"""Quality measures (CRISP-ML step 5.2): one function computes every metric by name."""

from __future__ import annotations

import math
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
