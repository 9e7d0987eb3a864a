"""The monitor stage (CRISP-ML phase 8): drift, prediction quality and the retraining trigger.

``python -m crisp_ml.runtime.monitor`` (the DVC ``monitor`` stage) simulates a production batch, a
seeded sample of the test rows with a controlled covariate shift, and then

- scores each feature's drift against the training data: PSI for its size, a KS (or
  chi-square) test for whether it is more than chance;
- measures prediction quality on the labelled batch against the phase-1 success criteria,
  the same file the evaluation gate reads, so no threshold is typed twice;
- raises an alert level (``ok``, ``below_target``, ``below_minimum``, or ``unmeasured``) and
  decides whether to retrain: quality short of the minimum, or too many features drifted.

It writes ``reports/monitoring/drift.json`` (DVC metrics), ``retrain.json`` and the
dashboard (``dashboard.html``): functions of the model, data, gate and seed alone (no dates),
so an unchanged rerun writes byte-identical files. In production, feed :func:`monitor_batch`
real batches.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from scipy import stats

from .config import ConfigError, SuccessCriteria, load_success_criteria, resolve, stage_params
from .dashboard import render_dashboard
from .datasets import load_part
from .metrics import model_metric
from .pipeline import (
    EVALUATION_DIR,
    MODEL_FILE,
    StageError,
    read_json,
    run_stage,
    write_json,
    write_text,
)

MONITORING_DIR = Path("reports/monitoring")
DRIFT_FILE = MONITORING_DIR / "drift.json"
RETRAIN_FILE = MONITORING_DIR / "retrain.json"
DASHBOARD_FILE = MONITORING_DIR / "dashboard.html"
GATE_FILE = EVALUATION_DIR / "gate.json"

# A floor for empty bins: PSI takes a logarithm of every bin's share.
_EPSILON = 1e-4

OK, BELOW_TARGET, BELOW_MINIMUM = "ok", "below_target", "below_minimum"
UNMEASURED = "unmeasured"  # the metric is undefined on this batch (e.g. ROC AUC, one class)


# Drift -------------------------------------------------------------------------------------


def psi(reference: Sequence[float], current: Sequence[float], bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``.

    Bins are reference quantiles, so each holds about the same share of the reference.
    Rule of thumb: below 0.1 stable, 0.1 to 0.2 moderate shift, above 0.2 significant.
    """
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    if ref.size == 0 or cur.size == 0:
        raise ValueError("PSI needs non-empty reference and current samples")
    inner_edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = _bin_shares(ref, inner_edges)
    cur_share = _bin_shares(cur, inner_edges)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def categorical_psi(reference: Sequence[Any], current: Sequence[Any]) -> float:
    """Population stability index over the categories of a non-numeric feature."""
    ref_share = pd.Series(reference).value_counts(normalize=True)
    cur_share = pd.Series(current).value_counts(normalize=True)
    categories = ref_share.index.union(cur_share.index)
    ref = np.maximum(ref_share.reindex(categories, fill_value=0).to_numpy(), _EPSILON)
    cur = np.maximum(cur_share.reindex(categories, fill_value=0).to_numpy(), _EPSILON)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def _bin_shares(values: np.ndarray, inner_edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(
        np.searchsorted(inner_edges, values, side="left"), minlength=inner_edges.size + 1
    )
    return np.maximum(counts / values.size, _EPSILON)


def noise_limited_bins(
    reference_size: int, current_size: int, threshold: float, max_bins: int = 10
) -> int:
    """The most bins (2 to ``max_bins``) at which sampling noise alone stays below half the
    drift threshold.

    For two samples of one distribution PSI is about ``(bins - 1) * (1/n_ref + 1/n_cur)``,
    so ten bins on a few dozen rows would call pure noise drift.
    """
    noise_per_bin = 1 / reference_size + 1 / current_size
    return int(max(2, min(max_bins, 1 + (threshold / 2) / noise_per_bin)))


@dataclass(frozen=True)
class FeatureDrift:
    """How far one feature of the batch has moved from the training data.

    ``psi`` measures how much it moved; ``test`` (Kolmogorov-Smirnov for numbers, chi-square
    for categories) says whether the move is more than chance, so a small batch's noise is
    not called drift.
    """

    feature: str
    psi: float
    test: str
    statistic: float
    pvalue: float
    drifted: bool


def feature_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    threshold: float,
    bins: int = 10,
    significance: float = 0.01,
) -> list[FeatureDrift]:
    """Drift of every feature: drifted when its PSI exceeds ``threshold`` and its test's
    p-value is below ``significance``."""
    result = []
    for name in features:
        ref, cur = reference[name], current[name]
        if pd.api.types.is_numeric_dtype(ref):
            score, test = psi(ref, cur, bins), "ks"
            statistic, pvalue = stats.ks_2samp(ref, cur)
        else:
            score, test = categorical_psi(ref, cur), "chi2"
            statistic, pvalue = _chi2_test(ref, cur)
        drifted = bool(score > threshold and pvalue < significance)
        result.append(FeatureDrift(name, score, test, float(statistic), float(pvalue), drifted))
    return result


def _chi2_test(reference: pd.Series, current: pd.Series) -> tuple[float, float]:
    counts = pd.DataFrame(
        {"reference": reference.value_counts(), "current": current.value_counts()}
    ).fillna(0)
    if len(counts) < 2:
        return 0.0, 1.0  # a single category on both sides: nothing can have moved
    result = stats.chi2_contingency(counts.to_numpy())
    return float(result.statistic), float(result.pvalue)


# Quality -----------------------------------------------------------------------------------


def alert_level(criteria: SuccessCriteria, value: float) -> str:
    """``ok`` at or beyond the target, ``below_target`` while acceptable, else ``below_minimum``
    (``unmeasured`` when the metric is undefined on the batch)."""
    if math.isnan(value):
        return UNMEASURED
    if criteria.meets_target(value):
        return OK
    if criteria.meets_minimum(value):
        return BELOW_TARGET
    return BELOW_MINIMUM


def retrain_decision(
    criteria: SuccessCriteria,
    value: float,
    drift: Sequence[FeatureDrift],
    max_drifted_share: float,
) -> dict[str, Any]:
    """Whether to retrain, and why: quality short of the minimum or too many features drifted."""
    reasons = []
    if alert_level(criteria, value) == BELOW_MINIMUM:
        reasons.append(
            f"{criteria.metric} {value:.4g} does not meet the minimum acceptable value "
            f"{criteria.minimum:.4g}"
        )
    drifted = [item.feature for item in drift if item.drifted]
    if drift and len(drifted) / len(drift) > max_drifted_share:
        reasons.append(
            f"{len(drifted)} of {len(drift)} features drifted "
            f"(more than {max_drifted_share:.0%}): {', '.join(drifted)}"
        )
    return {"retrain": bool(reasons), "reasons": reasons}


# The simulated production batch ------------------------------------------------------------


def simulate_batch(
    rows: pd.DataFrame,
    reference: pd.DataFrame,
    size: int,
    shift: float,
    shifted_features: Sequence[str],
    seed: int,
) -> pd.DataFrame:
    """A seeded sample of up to ``size`` of ``rows`` whose ``shifted_features`` move by
    ``shift`` reference standard deviations: a covariate shift of known size, labels unchanged.

    Rows are drawn without replacement: copies of a row would look like more evidence than
    there is and make the drift tests overconfident.
    """
    batch = rows.sample(n=min(size, len(rows)), random_state=seed).reset_index(drop=True)
    for name in shifted_features:
        if not pd.api.types.is_numeric_dtype(batch[name]):
            raise ConfigError(f"params.yaml monitor.shifted_features: {name} is not numeric")
        batch[name] = batch[name] + shift * float(reference[name].std(ddof=0))
    return batch


# The stage ---------------------------------------------------------------------------------


_WHOLE_NUMBERS = ("bins", "batch_size", "seed")
_NUMBERS = ("drift_threshold", "significance", "max_drifted_share", "shift", *_WHOLE_NUMBERS)


@dataclass(frozen=True)
class MonitorSettings:
    """The ``monitor:`` section of params.yaml."""

    success_criteria: str
    drift_threshold: float = 0.2
    significance: float = 0.01
    max_drifted_share: float = 0.5
    bins: int = 10  # at most; fewer when the samples are small (noise_limited_bins)
    batch_size: int = 500
    shift: float = 0.5
    shifted_features: tuple[str, ...] | None = None  # None: the first feature
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> MonitorSettings:
        section = dict(stage_params(params, "monitor"))
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(
                f"params.yaml monitor: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        if "success_criteria" not in section:
            raise ConfigError(
                "params.yaml monitor: set `success_criteria:` to the phase-1 file, "
                "phases/01-business-understanding/success-criteria.yaml"
            )
        shifted = section.get("shifted_features")
        if shifted is not None:
            if not isinstance(shifted, list) or not all(isinstance(f, str) for f in shifted):
                raise ConfigError(
                    "params.yaml monitor.shifted_features must be a list of feature names, "
                    "or null for the first feature"
                )
            section["shifted_features"] = tuple(shifted)
        for name in _NUMBERS:
            value = section.get(name, 0)
            wanted = int if name in _WHOLE_NUMBERS else int | float
            if isinstance(value, bool) or not isinstance(value, wanted):
                kind = "a whole number" if name in _WHOLE_NUMBERS else "a number"
                raise ConfigError(f"params.yaml monitor.{name} must be {kind}, got {value!r}")
        settings = cls(**section)
        settings.check()
        return settings

    def check(self) -> None:
        if not self.drift_threshold > 0:
            raise ConfigError("params.yaml monitor.drift_threshold must be above 0, e.g. 0.2")
        if not 0 < self.significance < 1:
            raise ConfigError("params.yaml monitor.significance must lie between 0 and 1")
        if not 0 <= self.max_drifted_share <= 1:
            raise ConfigError("params.yaml monitor.max_drifted_share must lie between 0 and 1")
        if self.bins < 2:
            raise ConfigError("params.yaml monitor.bins must be at least 2, e.g. 10")
        if self.batch_size < 1:
            raise ConfigError("params.yaml monitor.batch_size must be at least 1, e.g. 500")
        if not math.isfinite(self.shift):
            raise ConfigError("params.yaml monitor.shift must be a number, e.g. 0.5")


def monitor_batch(
    model: Any,
    batch: pd.DataFrame,
    reference: pd.DataFrame,
    features: Sequence[str],
    target: str,
    criteria: SuccessCriteria,
    settings: MonitorSettings,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Score one labelled batch: the drift report (DVC metrics) and the retraining decision."""
    threshold = settings.drift_threshold
    bins = noise_limited_bins(len(reference), len(batch), threshold, settings.bins)
    drift = feature_drift(reference, batch, features, threshold, bins, settings.significance)
    value = model_metric(criteria.metric, model, batch[list(features)], batch[target])
    alert = alert_level(criteria, value)
    drifted = [item for item in drift if item.drifted]
    report = {
        "batch": {"rows": len(batch)},
        "quality": {**_thresholds(criteria), "value": value, "alert": alert},
        "drift": {
            "threshold": threshold,
            "significance": settings.significance,
            "bins": bins,
            "max_drifted_share": settings.max_drifted_share,
            "drifted_features": len(drifted),
            "drifted_share": len(drifted) / len(drift) if drift else 0.0,
            "features": {item.feature: _without_name(item) for item in drift},
        },
    }
    return report, retrain_decision(criteria, value, drift, settings.max_drifted_share)


def _thresholds(criteria: SuccessCriteria) -> dict[str, Any]:
    """What monitoring holds a batch's value against (``decide_on`` is the gate's alone)."""
    return {
        "metric": criteria.metric,
        "direction": criteria.direction,
        "target": criteria.target,
        "minimum": criteria.minimum,
    }


def _without_name(item: FeatureDrift) -> dict[str, Any]:
    fields = asdict(item)
    del fields["feature"]
    return fields


def run(root: Path, params: dict[str, Any]) -> None:
    """The DVC stage: simulate a batch, score it, write the reports and the dashboard."""
    settings = MonitorSettings.from_params(params)
    criteria = load_success_criteria(resolve(settings.success_criteria, root))
    train, test = load_part(root, "train"), load_part(root, "test")
    shifted = settings.shifted_features or tuple(train.features[:1])
    unknown = sorted(set(shifted) - set(train.features))
    if unknown:
        raise ConfigError(
            f"params.yaml monitor.shifted_features: {', '.join(unknown)} not among the "
            f"features ({', '.join(train.features)})"
        )
    model_path = root / MODEL_FILE
    if not model_path.is_file():
        raise StageError(f"{model_path}: not found; run `dvc repro train` first")
    model = joblib.load(model_path)
    batch = simulate_batch(
        test.frame, train.X, settings.batch_size, settings.shift, shifted, settings.seed
    )
    report, retrain = monitor_batch(
        model, batch, train.X, train.features, train.target, criteria, settings
    )
    report["batch"].update(
        {"seed": settings.seed, "shift": settings.shift, "shifted_features": list(shifted)}
    )
    gate_path = root / GATE_FILE
    gate = read_json(gate_path) if gate_path.is_file() else None
    write_json(root / DRIFT_FILE, report)
    write_json(root / RETRAIN_FILE, retrain)
    title = project_name(root)
    write_text(root / DASHBOARD_FILE, render_dashboard(report, retrain, gate, title=title))


def project_name(root: Path) -> str:
    """The project's name from pyproject.toml, or its folder's name."""
    try:
        with (root / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["name"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return root.name


def main() -> None:
    run_stage("monitor", run)


if __name__ == "__main__":
    main()
