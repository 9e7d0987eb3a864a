"""The monitor stage (CRISP-ML phase 8): real traffic, scored window by window, with history.

``python -m crisp_ml.runtime.monitor [--since ISO8601|last] [--until ISO8601]`` (``make
monitor``, the DVC ``monitor`` stage) reads one window of the prediction log (default: since
the ``until`` of the history's last entry, up to now) and

- validates it against the data catalog's schema (violations are counted, not fatal);
- scores each feature's drift against the training split: PSI for its size, a KS (or
  chi-square) test for whether it is more than chance;
- measures prediction quality on the rows that have a label (feedback) against the phase-1
  success criteria, the same file the evaluation gate reads, so no threshold is typed twice;
- counts traffic, rewards and mean reward per arm: the router's live comparison;

and appends the result to ``reports/monitoring/history.jsonl``. A window without predictions
appends nothing. From the history alone it then writes ``retrain.json`` (the retraining
trigger, :func:`retrain_decision`), ``drift.json`` (the latest window, DVC metrics) and the
dashboard, so an unchanged history renders byte-identical files.
"""

from __future__ import annotations

import argparse
import math
import sys
import tomllib
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .config import (
    ConfigError,
    SuccessCriteria,
    load_params,
    load_success_criteria,
    project_root,
    resolve,
    stage_params,
)
from .dashboard import render_dashboard
from .datasets import load_part
from .history import HISTORY_FILE, append_entry, format_time, last_until, parse_time, read_history
from .logwindow import Window, prediction_log_url, read_window
from .metrics import SCORE_METRICS, compute_metric
from .pipeline import EVALUATION_DIR, StageError, read_json, write_json, write_text
from .router import ARMS
from .tracking import public_uri, tracking_uri

MONITORING_DIR = Path("reports/monitoring")
DRIFT_FILE = MONITORING_DIR / "drift.json"
RETRAIN_FILE = MONITORING_DIR / "retrain.json"
DASHBOARD_FILE = MONITORING_DIR / "dashboard.html"
GATE_FILE = EVALUATION_DIR / "gate.json"

NO_TRAFFIC = "no traffic yet: run `make serve` and `make simulate`"

# A floor for empty bins: PSI takes a logarithm of every bin's share.
_EPSILON = 1e-4

OK, BELOW_TARGET, BELOW_MINIMUM = "ok", "below_target", "below_minimum"
UNMEASURED = "unmeasured"  # no labelled row, or the metric is undefined on the window


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
    """How far one feature of a window has moved from the training data.

    ``psi`` measures how much it moved; ``test`` (Kolmogorov-Smirnov for numbers, chi-square
    for categories, ``none`` when the window holds no value of it) says whether the move is
    more than chance, so a small window's noise is not called drift.
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
    categorical: Collection[str] = (),
) -> list[FeatureDrift]:
    """Drift of every feature: drifted when its PSI exceeds ``threshold`` and its test's
    p-value is below ``significance``.

    ``categorical`` names the features compared by category (chi-square); the others are
    compared as numbers (KS) unless their reference is not numeric. Missing values are left
    out (schema validation counts them); a feature with none left is not scored.
    """
    result = []
    for name in features:
        ref, cur = reference[name].dropna(), current[name].dropna()
        if ref.empty or cur.empty:
            result.append(FeatureDrift(name, math.nan, "none", math.nan, math.nan, False))
            continue
        if name not in categorical and pd.api.types.is_numeric_dtype(ref):
            cur = pd.to_numeric(cur, errors="coerce").dropna()
            if cur.empty:
                result.append(FeatureDrift(name, math.nan, "none", math.nan, math.nan, False))
                continue
            score, test = psi(ref, cur, bins), "ks"
            statistic, pvalue = stats.ks_2samp(ref, cur)
        else:
            ref, cur = _category_text(ref), _category_text(cur)
            score, test = categorical_psi(ref, cur), "chi2"
            statistic, pvalue = _chi2_test(ref, cur)
        drifted = bool(score > threshold and pvalue < significance)
        result.append(FeatureDrift(name, score, test, float(statistic), float(pvalue), drifted))
    return result


def _category_text(values: pd.Series) -> pd.Series:
    """Categories in one spelling: 1, 1.0 and "1" from CSV, JSON or the log are one."""
    try:
        from .schema import category_text
    except ImportError:  # before the catalog schema: text as pandas writes it
        return values.astype(str)
    return values.map(category_text)


def _chi2_test(reference: pd.Series, current: pd.Series) -> tuple[float, float]:
    counts = pd.DataFrame(
        {"reference": reference.value_counts(), "current": current.value_counts()}
    ).fillna(0)
    if len(counts) < 2:
        return 0.0, 1.0  # a single category on both sides: nothing can have moved
    result = stats.chi2_contingency(counts.to_numpy())
    return float(result.statistic), float(result.pvalue)


# Quality -----------------------------------------------------------------------------------


def alert_level(criteria: SuccessCriteria, value: float | None) -> str:
    """``ok`` at or beyond the target, ``below_target`` while acceptable, else ``below_minimum``
    (``unmeasured`` when there is no value)."""
    if value is None or math.isnan(value):
        return UNMEASURED
    if criteria.meets_target(value):
        return OK
    if criteria.meets_minimum(value):
        return BELOW_TARGET
    return BELOW_MINIMUM


def _comparable(labels: pd.Series, predictions: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Labels and predictions of one type: numbers when both are numbers, else text.

    Feedback arrives as JSON from another system: a class 1 may come back as "1".
    """
    as_labels = pd.to_numeric(labels, errors="coerce")
    as_predictions = pd.to_numeric(predictions, errors="coerce")
    if as_labels.notna().all() and as_predictions.notna().all():
        return as_labels, as_predictions
    return labels.astype(str), predictions.astype(str)


def window_quality(
    criteria: SuccessCriteria, frame: pd.DataFrame, classes: Sequence[Any] | None = None
) -> tuple[float | None, int, str | None]:
    """The success metric on the labelled rows of a window: (value, labelled rows, note).

    Score metrics (roc_auc) use the probabilities the serving app logs, one per class in
    ``classes`` order (the training target's sorted classes, as scikit-learn orders them).
    """
    labelled = frame[frame["label"].notna()] if "label" in frame else frame.iloc[:0]
    if labelled.empty:
        return None, 0, "no labelled rows in this window (feedback brings labels)"
    labels, predictions = _comparable(labelled["label"], labelled["prediction"])
    scores = None
    if criteria.metric in SCORE_METRICS:
        logged = labelled.get("probabilities", pd.Series(dtype=object))
        if logged.isna().any() or not len(logged):
            note = f"{criteria.metric} needs the class probabilities, which the log lacks"
            return None, len(labelled), note
        scores = np.array(logged.tolist(), dtype=float)
    try:
        value = compute_metric(criteria.metric, labels, predictions, scores, classes)
    except (ValueError, TypeError) as error:
        return None, len(labelled), f"{criteria.metric} could not be computed: {error}"
    if math.isnan(value):
        return None, len(labelled), f"{criteria.metric} is undefined on this window"
    return value, len(labelled), None


# Traffic per arm ---------------------------------------------------------------------------


def arm_traffic(window: Window) -> dict[str, dict[str, Any]]:
    """Per arm: answers served, rewards received and their mean (None without rewards).

    The promote command reads this from the history's latest entry to compare the arms.
    """
    frame = window.frame
    arms = {}
    names = [*ARMS, *sorted(set(frame.get("arm", pd.Series(dtype=str)).dropna()) - set(ARMS))]
    for arm in names:
        rows = frame[frame["arm"] == arm] if "arm" in frame else frame.iloc[:0]
        rewards = pd.to_numeric(rows.get("reward", pd.Series(dtype=float)), errors="coerce")
        rewards = rewards.dropna()
        arms[arm] = {
            "served": len(rows),
            "shadowed": window.shadowed.get(arm, 0),
            "rewards": len(rewards),
            "mean_reward": float(rewards.mean()) if len(rewards) else None,
            "model_versions": sorted(
                {str(v) for v in rows.get("model_version", pd.Series()) if pd.notna(v)}
            ),
        }
    return arms


def router_comparison(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """The router's own per-arm counts since it started, as the serving app saved them.

    The serving app saves ``{"strategy", "versions", "router": {"stats": {arm: ArmStats}}}``;
    a plain ``Router.summary()`` (``{"strategy", "arms"}``) is read too.
    """
    if not state:
        return None
    inner = state.get("router") if isinstance(state.get("router"), dict) else {}
    arms = inner.get("stats") or state.get("arms")
    if not isinstance(arms, dict):
        return None
    comparison = {}
    for arm, counts in sorted(arms.items()):
        if not isinstance(counts, dict):
            continue
        rewards = counts.get("rewards") or 0
        mean = counts.get("mean_reward")
        if mean is None and rewards and counts.get("reward_sum") is not None:
            mean = float(counts["reward_sum"]) / rewards
        comparison[str(arm)] = {
            "served": counts.get("served", 0),
            "shadowed": counts.get("shadowed", 0),
            "rewards": rewards,
            "mean_reward": mean,
        }
    return {"strategy": state.get("strategy"), "arms": comparison}


# Validation --------------------------------------------------------------------------------


def window_violations(
    frame: pd.DataFrame, reference: pd.DataFrame, features: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows of the window the training data's columns would refuse: a missing feature, a
    missing value, or text where the feature is a number.

    The catalog schema (:mod:`crisp_ml.runtime.schema`) is the fuller check when present.
    """
    violations = []
    for name in features:
        if name not in frame:
            violations.append(
                {"row": None, "column": name, "check": "present", "message": "not in the log"}
            )
            continue
        values = frame[name]
        bad = values.isna()
        if pd.api.types.is_numeric_dtype(reference[name]):
            bad |= pd.to_numeric(values, errors="coerce").isna()
        for row in np.flatnonzero(bad.to_numpy()):
            violations.append(
                {
                    "row": int(row),
                    "column": name,
                    "check": "type",
                    "message": f"{values.iloc[row]!r} is not a valid {name}",
                }
            )
    return violations


def catalog_violations(
    root: Path, frame: pd.DataFrame, reference: pd.DataFrame, features: Sequence[str]
) -> tuple[list[dict[str, Any]], set[str]]:
    """Violations of the window against the data catalog's schema, and the categorical
    features (what the drift tests go by).

    Without a catalog (a project that has not described its columns yet) the training
    split's own columns are the schema.
    """
    try:
        from .schema import check_frame, feature_kinds, frame_schema, load_catalog

        catalog = load_catalog(root)
    except (ImportError, ConfigError):
        categorical = {n for n in features if not pd.api.types.is_numeric_dtype(reference[n])}
        return window_violations(frame, reference, features), categorical
    kinds = feature_kinds(catalog)
    declared = [name for name in kinds if name in frame]
    schema = frame_schema(catalog, include_target=False, include_key=False)
    found = [v.to_dict() for v in check_frame(schema, frame[declared])]
    found += [
        {"row": None, "column": name, "check": "present", "message": f"`{name}` not logged"}
        for name in features
        if name not in frame
    ]
    return found, {name for name, kind in kinds.items() if kind == "categorical"}


# Monitoring one window ---------------------------------------------------------------------


_WHOLE_NUMBERS = ("bins", "sustained_windows", "min_labelled_rows")
_NUMBERS = ("drift_threshold", "significance", "max_drifted_share", *_WHOLE_NUMBERS)
# Settings of the simulated batch this stage used to draw itself, now `make simulate`'s.
_MOVED_TO_SIMULATE = ("batch_size", "shift", "shifted_features", "seed")


@dataclass(frozen=True)
class MonitorSettings:
    """The ``monitor:`` section of params.yaml."""

    success_criteria: str
    drift_threshold: float = 0.2
    significance: float = 0.01
    max_drifted_share: float = 0.5
    bins: int = 10  # at most; fewer when the samples are small (noise_limited_bins)
    sustained_windows: int = 2  # drift must last this many consecutive windows
    min_labelled_rows: int = 30  # fewer labels than this do not judge quality

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> MonitorSettings:
        section = dict(stage_params(params, "monitor"))
        moved = sorted(set(section) & set(_MOVED_TO_SIMULATE))
        if moved:
            raise ConfigError(
                f"params.yaml monitor: {', '.join(moved)} now belong to the `simulate:` "
                "section (monitoring reads real traffic from the prediction log); move them"
            )
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
        if self.sustained_windows < 1:
            raise ConfigError("params.yaml monitor.sustained_windows must be at least 1, e.g. 2")
        if self.min_labelled_rows < 1:
            raise ConfigError("params.yaml monitor.min_labelled_rows must be at least 1, e.g. 30")


def score_window(
    window: Window,
    reference: pd.DataFrame,
    features: Sequence[str],
    criteria: SuccessCriteria,
    settings: MonitorSettings,
    violations: Sequence[dict[str, Any]] = (),
    categorical: Collection[str] = (),
    classes: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """The history entry of one window (without its since/until)."""
    frame = window.frame
    threshold = settings.drift_threshold
    bins = noise_limited_bins(len(reference), len(frame), threshold, settings.bins)
    current = frame.reindex(columns=list(features))
    drift = feature_drift(
        reference, current, features, threshold, bins, settings.significance, categorical
    )
    drifted = [item for item in drift if item.drifted]
    value, labelled, note = window_quality(criteria, frame, classes)
    quality = {
        **_thresholds(criteria),
        "value": value,
        "alert": alert_level(criteria, value),
        "labelled_rows": labelled,
    }
    if note:
        quality["note"] = note
    return {
        "rows": len(frame),
        "labelled_rows": labelled,
        "violations": len(violations),
        "violation_examples": [v["message"] for v in violations[:5]],
        "quality": quality,
        "drift": {
            "threshold": threshold,
            "significance": settings.significance,
            "bins": bins,
            "drifted_features": len(drifted),
            "drifted_share": len(drifted) / len(drift) if drift else 0.0,
            "features": {item.feature: _without_name(item) for item in drift},
        },
        "arms": arm_traffic(window),
        "router": router_comparison(window.router),
    }


def _thresholds(criteria: SuccessCriteria) -> dict[str, Any]:
    """What monitoring holds a window's value against (``decide_on`` is the gate's alone)."""
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


# The retraining trigger --------------------------------------------------------------------


def retrain_decision(
    history: Sequence[dict[str, Any]], criteria: SuccessCriteria, settings: MonitorSettings
) -> dict[str, Any]:
    """Whether to retrain, and why, from the history alone.

    Retrain when the latest window with at least ``min_labelled_rows`` labelled rows falls
    short of the minimum, or when more than ``max_drifted_share`` of the features drifted in
    each of the last ``sustained_windows`` windows: one drifted window may be a passing
    campaign, a run of them is the world changing.
    """
    reasons = []
    judged = [
        entry
        for entry in history
        if entry.get("quality", {}).get("metric") == criteria.metric
        and entry["quality"].get("value") is not None
        and entry["quality"].get("labelled_rows", 0) >= settings.min_labelled_rows
    ]
    if judged:
        latest = judged[-1]
        value = float(latest["quality"]["value"])
        if alert_level(criteria, value) == BELOW_MINIMUM:
            reasons.append(
                f"{criteria.metric} {value:.4g} on the window ending {latest['until']} "
                f"({latest['quality']['labelled_rows']} labelled rows) does not meet the "
                f"minimum acceptable value {criteria.minimum:.4g}"
            )
    recent = list(history[-settings.sustained_windows :])
    shares = [entry.get("drift", {}).get("drifted_share", 0.0) for entry in recent]
    if len(recent) == settings.sustained_windows and all(
        share > settings.max_drifted_share for share in shares
    ):
        features = recent[-1]["drift"].get("features", {})
        names = [name for name, item in features.items() if item.get("drifted")]
        reasons.append(
            f"more than {settings.max_drifted_share:.0%} of the features drifted in each of the "
            f"last {settings.sustained_windows} window(s) (latest: {', '.join(names)})"
        )
    return {
        "retrain": bool(reasons),
        "reasons": reasons,
        "windows": len(history),
        "rule": {
            "metric": criteria.metric,
            "minimum": criteria.minimum,
            "min_labelled_rows": settings.min_labelled_rows,
            "max_drifted_share": settings.max_drifted_share,
            "sustained_windows": settings.sustained_windows,
        },
    }


def latest_summary(history: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``drift.json``: the latest window in numbers DVC shows (``dvc metrics show``).

    The same keys with or without a window (null before the first), so ``dvc metrics diff``
    compares like with like.
    """
    latest = history[-1] if history else {}
    drift = latest.get("drift", {})
    return {
        "windows": len(history),
        "since": latest.get("since"),
        "until": latest.get("until"),
        "rows": latest.get("rows", 0),
        "labelled_rows": latest.get("labelled_rows", 0),
        "violations": latest.get("violations", 0),
        "quality": {
            key: latest.get("quality", {}).get(key) for key in ("metric", "value", "alert")
        },
        "drift": {key: drift.get(key) for key in ("drifted_features", "drifted_share")},
    }


# The stage ---------------------------------------------------------------------------------


def window_bounds(
    history: list[dict[str, Any]], since: str | None, until: str | None, now: datetime
) -> tuple[datetime | None, datetime]:
    """The window ``(since, until]``: ``since`` defaults to (and ``last`` means) the last
    entry's ``until``; ``until`` defaults to now."""
    start = last_until(history) if since in (None, "last") else parse_time(since, "--since")
    end = parse_time(until, "--until") if until else now
    if start is not None and start >= end:
        raise StageError(
            f"the window is empty: --since {format_time(start)} is not before --until "
            f"{format_time(end)}; pick an earlier --since"
        )
    return start, end


def run(
    root: Path,
    params: dict[str, Any],
    since: str | None = None,
    until: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """Score the window, append it to the history, rewrite the reports; the new entry or None."""
    settings = MonitorSettings.from_params(params)
    criteria = load_success_criteria(resolve(settings.success_criteria, root))
    history_path = root / HISTORY_FILE
    history = read_history(history_path)
    start, end = window_bounds(history, since, until, now or datetime.now(UTC))
    window = read_window(prediction_log_url(root, params), start, end)
    entry = None
    if window.frame.empty:
        print(f"monitor: {NO_TRAFFIC}" if not history else _nothing_new(start))
    else:
        train = load_part(root, "train")
        violations, categorical = catalog_violations(root, window.frame, train.X, train.features)
        classes = sorted(train.y.unique()) if train.task == "classification" else None
        scored = score_window(
            window, train.X, train.features, criteria, settings, violations, categorical, classes
        )
        entry = {
            "since": format_time(start) if start else None,
            "until": format_time(end),
            **scored,
            # The arms' model_versions are numbers in this registry (credential-free).
            "tracking_uri": public_uri(tracking_uri(root, params), root),
        }
        append_entry(history_path, entry)
        history = read_history(history_path)  # as written: the reports depend on the file only
        print(_summary(entry))
    write_reports(root, history, criteria, settings)
    return entry


def _nothing_new(since: datetime | None) -> str:
    when = format_time(since) if since else "the start"
    return f"monitor: no new predictions since {when}; the history is unchanged"


def _summary(entry: dict[str, Any]) -> str:
    quality, drift = entry["quality"], entry["drift"]
    served = ", ".join(f"{arm} {item['served']}" for arm, item in entry["arms"].items())
    return (
        f"monitor: {entry['rows']} predictions ({entry['labelled_rows']} labelled, "
        f"{entry['violations']} schema violations) from {entry['since'] or 'the start'} to "
        f"{entry['until']}; {quality['metric']} {_fmt(quality['value'])} ({quality['alert']}); "
        f"{drift['drifted_features']} of {len(drift['features'])} features drifted; "
        f"served: {served}"
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def write_reports(
    root: Path,
    history: list[dict[str, Any]],
    criteria: SuccessCriteria,
    settings: MonitorSettings,
) -> None:
    """retrain.json, drift.json and the dashboard, from the history (and the gate) alone."""
    history_path = root / HISTORY_FILE
    if not history_path.exists():
        write_text(history_path, "")  # a declared DVC output must exist, even empty
    retrain = retrain_decision(history, criteria, settings)
    gate_path = root / GATE_FILE
    gate = read_json(gate_path) if gate_path.is_file() else None
    write_json(root / RETRAIN_FILE, retrain)
    write_json(root / DRIFT_FILE, latest_summary(history))
    page = render_dashboard(history, retrain, gate, _thresholds(criteria), project_name(root))
    write_text(root / DASHBOARD_FILE, page)
    if retrain["retrain"]:
        print("monitor: retraining needed: " + "; ".join(retrain["reasons"]))


def project_name(root: Path) -> str:
    """The project's name from pyproject.toml, or its folder's name."""
    try:
        with (root / "pyproject.toml").open("rb") as file:
            return str(tomllib.load(file)["project"]["name"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return root.name


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m crisp_ml.runtime.monitor",
        description="Score a window of the prediction log and append it to the history.",
    )
    parser.add_argument(
        "--since",
        default="last",
        help="start of the window, ISO 8601 (exclusive); `last` (default): where the last "
        "monitoring run ended",
    )
    parser.add_argument("--until", help="end of the window, ISO 8601 (default: now)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    root = project_root()
    try:
        run(root, load_params(root / "params.yaml"), args.since, args.until)
    except (ConfigError, StageError) as error:
        sys.exit(f"monitor: error: {error}")


if __name__ == "__main__":
    main()
