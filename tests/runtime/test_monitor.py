"""Monitoring: drift scores, windows of the real prediction log, the history, the retraining
trigger and the dashboard."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from crisp_ml.runtime.config import ConfigError, SuccessCriteria
from crisp_ml.runtime.dashboard import main as dashboard_main
from crisp_ml.runtime.dashboard import render_dashboard
from crisp_ml.runtime.history import read_history
from crisp_ml.runtime.monitor import (
    BELOW_MINIMUM,
    BELOW_TARGET,
    NO_TRAFFIC,
    OK,
    UNMEASURED,
    MonitorSettings,
    alert_level,
    categorical_psi,
    feature_drift,
    noise_limited_bins,
    psi,
    retrain_decision,
    router_comparison,
    run,
)
from crisp_ml.runtime.pipeline import StageError
from crisp_ml.runtime.predlog import Prediction, PredictionLog
from crisp_ml.runtime.router import ABSplit, Router

F1 = SuccessCriteria(metric="f1_macro", direction="maximize", target=0.9, minimum=0.8)
RMSE = SuccessCriteria(metric="rmse", direction="minimize", target=50.0, minimum=60.0)
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def normal(mean: float, size: int = 20_000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, size)


# Drift math --------------------------------------------------------------------------------


def test_psi_of_a_sample_against_itself_is_zero() -> None:
    sample = normal(0.0)
    assert psi(sample, sample) == pytest.approx(0.0, abs=1e-12)


def test_psi_is_small_for_two_samples_of_one_distribution() -> None:
    assert psi(normal(0.0, seed=1), normal(0.0, seed=2)) < 0.01


@pytest.mark.parametrize(("shift", "expected"), [(0.5, 0.25), (1.0, 1.0)])
def test_psi_of_a_shifted_normal_approaches_the_squared_shift(
    shift: float, expected: float
) -> None:
    # For two unit normals the symmetric KL divergence, which PSI estimates, is shift**2;
    # ten quantile bins lose a little of it.
    score = psi(normal(0.0, seed=1), normal(shift, seed=2))
    assert expected * 0.75 < score < expected * 1.05


def test_psi_grows_with_the_shift() -> None:
    scores = [psi(normal(0.0, seed=1), normal(shift, seed=2)) for shift in (0.1, 0.3, 0.6)]
    assert scores == sorted(scores)


def test_psi_copes_with_a_constant_reference() -> None:
    assert psi(np.ones(100), np.ones(50)) == pytest.approx(0.0, abs=1e-12)
    assert psi(np.ones(100), np.full(50, 2.0)) > 0.2


def test_categorical_psi_sees_a_changed_mix_of_categories() -> None:
    reference = ["a"] * 50 + ["b"] * 50
    assert categorical_psi(reference, ["a"] * 25 + ["b"] * 25) == pytest.approx(0.0)
    assert categorical_psi(reference, ["a"] * 90 + ["b"] * 10) > 0.2
    assert categorical_psi(reference, ["c"] * 10) > 1.0, "an unseen category is drift"


def test_feature_drift_flags_only_the_shifted_feature() -> None:
    reference = pd.DataFrame({"stable": normal(0.0, seed=1), "moved": normal(0.0, seed=2)})
    current = pd.DataFrame({"stable": normal(0.0, seed=3), "moved": normal(1.0, seed=4)})
    drift = {
        item.feature: item for item in feature_drift(reference, current, ["stable", "moved"], 0.2)
    }
    assert not drift["stable"].drifted
    assert drift["moved"].drifted
    assert drift["moved"].pvalue < 1e-6 < drift["stable"].pvalue
    assert drift["moved"].test == "ks"


def test_a_large_psi_on_a_tiny_sample_is_not_called_drift() -> None:
    reference = pd.DataFrame({"x": normal(0.0, seed=1)})
    tiny = pd.DataFrame({"x": [0.9, 1.1, 1.3]})
    (item,) = feature_drift(reference, tiny, ["x"], threshold=0.2)
    assert item.psi > 0.2
    assert item.pvalue > 0.01
    assert not item.drifted


def test_categorical_features_are_tested_with_chi_square() -> None:
    reference = pd.DataFrame({"colour": ["red"] * 500 + ["blue"] * 500})
    current = pd.DataFrame({"colour": ["red"] * 450 + ["blue"] * 50})
    (item,) = feature_drift(reference, current, ["colour"], threshold=0.2)
    assert item.test == "chi2"
    assert item.drifted


def test_bins_shrink_with_the_samples_so_noise_stays_under_half_the_threshold() -> None:
    assert noise_limited_bins(10_000, 10_000, threshold=0.2) == 10
    assert noise_limited_bins(105, 45, threshold=0.2) == 4
    assert noise_limited_bins(20, 10, threshold=0.2) == 2
    for n_ref, n_cur in [(105, 45), (300, 90), (5000, 500)]:
        bins = noise_limited_bins(n_ref, n_cur, threshold=0.2)
        assert (bins - 1) * (1 / n_ref + 1 / n_cur) <= 0.1


# Alert levels -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "value", "level"),
    [
        (F1, 0.95, OK),
        (F1, 0.9, OK),
        (F1, 0.85, BELOW_TARGET),
        (F1, 0.8, BELOW_TARGET),
        (F1, 0.79, BELOW_MINIMUM),
        (RMSE, 45.0, OK),
        (RMSE, 55.0, BELOW_TARGET),
        (RMSE, 60.5, BELOW_MINIMUM),
        (F1, float("nan"), UNMEASURED),
        (F1, None, UNMEASURED),
    ],
)
def test_the_alert_level_follows_the_success_criteria(
    criteria: SuccessCriteria, value: float | None, level: str
) -> None:
    assert alert_level(criteria, value) == level


# Settings ----------------------------------------------------------------------------------


def test_the_settings_come_from_the_monitor_section() -> None:
    params = {"monitor": {"success_criteria": "criteria.yaml", "sustained_windows": 3}}
    loaded = MonitorSettings.from_params(params)
    assert loaded.sustained_windows == 3
    assert loaded.drift_threshold == 0.2


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"success_criteria": "c.yaml", "drift_treshold": 0.2},
            "unknown setting(s) drift_treshold",
        ),
        ({"drift_threshold": 0.2}, "set `success_criteria:`"),
        ({"success_criteria": "c.yaml", "drift_threshold": 0}, "drift_threshold must be above 0"),
        ({"success_criteria": "c.yaml", "max_drifted_share": 2}, "between 0 and 1"),
        ({"success_criteria": "c.yaml", "bins": 2.5}, "monitor.bins must be a whole number"),
        ({"success_criteria": "c.yaml", "sustained_windows": 0}, "at least 1"),
        ({"success_criteria": "c.yaml", "shift": 1.0}, "shift now belong to the `simulate:`"),
    ],
)
def test_a_bad_monitor_section_is_a_clear_error(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        MonitorSettings.from_params({"monitor": section})


# A small project with a real SQLite prediction log -----------------------------------------


def two_blobs(size: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, size)
    return pd.DataFrame(
        {"x1": rng.normal(label * 3.0, 1.0), "x2": rng.normal(0, 1.0, size), "label": label}
    )


@pytest.fixture(scope="module")
def model() -> LogisticRegression:
    train = two_blobs(600, seed=1)
    return LogisticRegression().fit(train[["x1", "x2"]], train["label"])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CRISP_PREDICTION_LOG_URL", raising=False)
    frame = two_blobs(600, seed=4)
    frame.insert(0, "row_id", range(len(frame)))
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    frame.to_csv(prepared / "dataset.csv", index=False)
    schema = {
        "task": "classification",
        "key": "row_id",
        "target": "label",
        "features": ["x1", "x2"],
    }
    (prepared / "schema.json").write_text(json.dumps(schema))
    (tmp_path / "data" / "split").mkdir()
    split = {"train": list(range(400)), "val": list(range(400, 500)), "test": list(range(500, 600))}
    (tmp_path / "data" / "split" / "indices.json").write_text(json.dumps(split))
    criteria = {"metric": "f1_macro", "direction": "maximize", "target": 0.9, "minimum": 0.8}
    (tmp_path / "criteria.yaml").write_text(yaml.safe_dump(criteria))
    return tmp_path


def params(project: Path, **monitor: Any) -> dict[str, Any]:
    return {
        "monitor": {"success_criteria": "criteria.yaml", "min_labelled_rows": 20, **monitor},
        "serve": {"prediction_log": f"sqlite:///{project / 'predictions.db'}"},
    }


def log_traffic(
    project: Path,
    model: LogisticRegression,
    rows: pd.DataFrame,
    start: datetime,
    *,
    shift: float = 0.0,
    label: bool = True,
    arm_of: Any = lambda i: "champion" if i % 4 else "challenger",
    shadow: bool = False,
) -> None:
    """Serve ``rows`` one per second from ``start`` as the serving app logs them, with the
    true label as feedback (reward 1 when the answer was right)."""
    features = rows[["x1", "x2"]].assign(x1=rows["x1"] + shift)
    answers = model.predict(features)
    log = PredictionLog(f"sqlite:///{project / 'predictions.db'}")
    try:
        ids = []
        for i, (record, answer) in enumerate(
            zip(features.to_dict("records"), answers, strict=True)
        ):
            time = start + timedelta(seconds=i)
            arm = arm_of(i)
            version = "2" if arm == "challenger" else "1"
            output = {"prediction": int(answer), "probabilities": None}
            ids.append(log.append(Prediction(arm, record, output, 1.0, version, time=time)))
            if shadow:
                log.append(Prediction("challenger", record, output, 1.0, "2", True, time=time))
        assert log.flush(timeout=10)
        if label:
            for pid, truth, answer in zip(ids, rows["label"], answers, strict=True):
                reward = float(int(truth) == int(answer))
                assert log.feedback(pid, label=int(truth), reward=reward) == "recorded"
    finally:
        log.close(timeout=10)


def at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat()


def outputs(project: Path) -> dict[str, bytes]:
    folder = project / "reports" / "monitoring"
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_a_fresh_project_without_traffic_appends_nothing_and_says_what_to_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(project, params(project)) is None
    assert NO_TRAFFIC in capsys.readouterr().out
    assert not (project / "predictions.db").exists(), "monitoring must not create the log"
    out = project / "reports" / "monitoring"
    assert (out / "history.jsonl").read_text() == ""
    assert json.loads((out / "retrain.json").read_text())["retrain"] is False
    summary = json.loads((out / "drift.json").read_text())
    assert summary["windows"] == 0 and summary["drift"]["drifted_features"] is None
    assert "No traffic yet" in (out / "dashboard.html").read_text()


def test_a_window_of_healthy_traffic_appends_one_entry(project: Path, model) -> None:
    log_traffic(project, model, two_blobs(200, seed=5), START)
    entry = run(project, params(project), until=at(1))
    assert entry is not None
    assert read_history(project / "reports/monitoring/history.jsonl") == [
        json.loads(json.dumps(entry))
    ]
    assert entry["since"] is None and entry["until"] == "2026-12-01T10:00:00.000000Z"
    assert (entry["rows"], entry["labelled_rows"], entry["violations"]) == (200, 200, 0)
    assert entry["quality"]["alert"] == OK and entry["quality"]["value"] > 0.9
    assert entry["quality"]["minimum"] == 0.8
    assert entry["drift"]["drifted_features"] == 0
    assert set(entry["drift"]["features"]["x1"]) == {
        "psi",
        "test",
        "statistic",
        "pvalue",
        "drifted",
    }
    champion, challenger = entry["arms"]["champion"], entry["arms"]["challenger"]
    assert (champion["served"], challenger["served"]) == (150, 50)
    assert champion["rewards"] == 150 and 0.9 < champion["mean_reward"] <= 1.0
    assert challenger["model_versions"] == ["2"]


def test_an_entry_names_the_registry_its_model_versions_belong_to(
    project: Path, model, monkeypatch: pytest.MonkeyPatch
) -> None:
    # crisp-lint: ignore[GEN013] a made-up password, which the history must not keep
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "https://ana:s3cret@mlflow.example:5000")
    log_traffic(project, model, two_blobs(50, seed=5), START)
    entry = run(project, params(project), until=at(1))
    assert entry is not None and entry["tracking_uri"] == "https://mlflow.example:5000"
    assert "s3cret" not in (project / "reports/monitoring/history.jsonl").read_text()


def test_a_rerun_without_new_predictions_appends_and_rewrites_nothing(
    project: Path, model, capsys: pytest.CaptureFixture[str]
) -> None:
    log_traffic(project, model, two_blobs(100, seed=5), START)
    run(project, params(project), until=at(1))
    written = outputs(project)
    assert run(project, params(project), until=at(2)) is None
    assert "no new predictions since 2026-12-01T10:00:00" in capsys.readouterr().out
    assert outputs(project) == written


def test_the_next_window_starts_where_the_last_one_ended(project: Path, model) -> None:
    log_traffic(project, model, two_blobs(200, seed=5), START)
    run(project, params(project), until=at(1))
    log_traffic(project, model, two_blobs(150, seed=6), START + timedelta(hours=2), shift=3.0)
    entry = run(project, params(project), until=at(3))
    assert entry["since"] == "2026-12-01T10:00:00.000000Z"
    assert entry["rows"] == 150, "only the predictions after the last window"
    assert entry["drift"]["features"]["x1"]["drifted"]
    assert not entry["drift"]["features"]["x2"]["drifted"]
    assert entry["quality"]["alert"] == BELOW_MINIMUM
    retrain = json.loads((project / "reports/monitoring/retrain.json").read_text())
    assert retrain["retrain"] and "does not meet the minimum" in retrain["reasons"][0]
    assert len(read_history(project / "reports/monitoring/history.jsonl")) == 2


def test_an_explicit_window_reads_only_its_own_predictions(project: Path, model) -> None:
    log_traffic(project, model, two_blobs(120, seed=5), START)  # 09:00:00 to 09:01:59
    entry = run(project, params(project), since=at(0), until=at(1 / 60))
    assert entry["rows"] == 60 and entry["since"] == "2026-12-01T09:00:00.000000Z"


def test_a_bad_window_is_a_clear_error(project: Path) -> None:
    with pytest.raises(StageError, match="not an ISO 8601 time"):
        run(project, params(project), since="yesterday")
    with pytest.raises(StageError, match="is not before --until"):
        run(project, params(project), since=at(2), until=at(1))


def test_unlabelled_traffic_measures_drift_but_not_quality(project: Path, model) -> None:
    log_traffic(project, model, two_blobs(80, seed=5), START, label=False)
    entry = run(project, params(project), until=at(1))
    assert entry["labelled_rows"] == 0
    assert entry["quality"]["value"] is None and entry["quality"]["alert"] == UNMEASURED
    assert "no labelled rows" in entry["quality"]["note"]


def test_shadow_answers_are_counted_apart_from_traffic(project: Path, model) -> None:
    log_traffic(
        project, model, two_blobs(40, seed=5), START, arm_of=lambda i: "champion", shadow=True
    )
    entry = run(project, params(project), until=at(1))
    assert entry["rows"] == 40
    assert entry["arms"]["champion"]["served"] == 40
    assert entry["arms"]["challenger"] == {
        "served": 0,
        "shadowed": 40,
        "rewards": 0,
        "mean_reward": None,
        "model_versions": [],
    }


def test_values_the_schema_refuses_are_counted(project: Path, model) -> None:
    log_traffic(project, model, two_blobs(30, seed=5), START)
    log = PredictionLog(f"sqlite:///{project / 'predictions.db'}")
    bad = Prediction(
        "champion",
        {"x1": "n/a", "x2": 0.1},
        {"prediction": 0},
        1.0,
        "1",
        time=START + timedelta(minutes=5),
    )
    log.append(bad)
    log.close(timeout=10)
    entry = run(project, params(project), until=at(1))
    assert entry["rows"] == 31 and entry["violations"] == 1
    assert "'n/a'" in entry["violation_examples"][0]


def test_the_data_catalog_is_the_schema_of_a_window(project: Path, model) -> None:
    catalog = project / "phases" / "03-data-understanding" / "data-catalog.yaml"
    catalog.parent.mkdir(parents=True)
    columns = [
        {"name": "row_id", "type": "integer", "role": "key"},
        {"name": "x1", "type": "number", "range": [-10, 10]},
        {"name": "x2", "type": "number"},
        {"name": "label", "type": "categorical", "role": "target", "allowed": [0, 1]},
    ]
    catalog.write_text(yaml.safe_dump({"sources": [{"name": "blobs", "columns": columns}]}))
    rows = two_blobs(30, seed=5)
    rows.loc[3, "x1"] = 50.0  # outside the catalog's range, though a number
    log_traffic(project, model, rows, START)
    entry = run(project, params(project), until=at(1))
    assert entry["violations"] == 1
    assert "`x1`" in entry["violation_examples"][0]


def test_the_router_state_is_read_as_the_serving_app_saves_it() -> None:
    saved = {
        "strategy": "bandit",
        "versions": {"champion": "1", "challenger": "2"},
        "router": {
            "stats": {
                "champion": {
                    "served": 10,
                    "shadowed": 0,
                    "errors": 0,
                    "rewards": 4,
                    "reward_sum": 3.0,
                }
            }
        },
    }
    assert router_comparison(saved) == {
        "strategy": "bandit",
        "arms": {"champion": {"served": 10, "shadowed": 0, "rewards": 4, "mean_reward": 0.75}},
    }
    assert router_comparison(None) is None


def test_the_router_comparison_reads_the_routers_own_saved_state() -> None:
    class Constant:
        def predict(self, features: Any) -> Any:
            return [0] * len(features)

    router = Router(Constant(), Constant(), ABSplit(challenger_fraction=0.5))
    for key in range(20):
        router.predict([[0.0]], key=str(key))
    router.record_reward("challenger", 1.0)
    router.record_reward("challenger", 0.0)
    comparison = router_comparison(router.state())
    assert comparison["strategy"] == "ab"
    challenger = comparison["arms"]["challenger"]
    assert challenger["rewards"] == 2 and challenger["mean_reward"] == 0.5
    served = comparison["arms"]["champion"]["served"] + challenger["served"]
    assert served == 20


# The retraining trigger, from the history --------------------------------------------------


def entry(
    until: str, value: float | None = 0.95, labelled: int = 100, drifted: tuple[bool, ...] = ()
) -> dict[str, Any]:
    features = {
        f"f{i}": {
            "psi": 0.3 if d else 0.01,
            "test": "ks",
            "statistic": 0.1,
            "pvalue": 0.001 if d else 0.5,
            "drifted": d,
        }
        for i, d in enumerate(drifted or (False, False))
    }
    share = sum(item["drifted"] for item in features.values()) / len(features)
    return {
        "since": None,
        "until": until,
        "rows": 100,
        "labelled_rows": labelled,
        "violations": 0,
        "quality": {
            "metric": "f1_macro",
            "direction": "maximize",
            "target": 0.9,
            "minimum": 0.8,
            "value": value,
            "alert": alert_level(F1, value),
            "labelled_rows": labelled,
        },
        "drift": {
            "threshold": 0.2,
            "significance": 0.01,
            "bins": 10,
            "drifted_features": int(share * len(features)),
            "drifted_share": share,
            "features": features,
        },
        "arms": {
            "champion": {
                "served": 75,
                "shadowed": 0,
                "rewards": 70,
                "mean_reward": 0.9,
                "model_versions": ["1"],
            },
            "challenger": {
                "served": 25,
                "shadowed": 0,
                "rewards": 20,
                "mean_reward": 0.8,
                "model_versions": ["2"],
            },
        },
        "router": None,
    }


SETTINGS = MonitorSettings(success_criteria="unused.yaml", min_labelled_rows=30)


def test_no_history_triggers_nothing() -> None:
    decision = retrain_decision([], F1, SETTINGS)
    assert decision["retrain"] is False and decision["windows"] == 0


def test_quality_below_the_minimum_in_the_latest_window_triggers_retraining() -> None:
    decision = retrain_decision([entry("t1"), entry("t2", value=0.7)], F1, SETTINGS)
    assert decision["retrain"]
    assert decision["reasons"] == [
        "f1_macro 0.7 on the window ending t2 (100 labelled rows) does not meet the minimum "
        "acceptable value 0.8"
    ]


def test_a_recovered_window_clears_the_quality_trigger() -> None:
    assert not retrain_decision([entry("t1", value=0.7), entry("t2")], F1, SETTINGS)["retrain"]


def test_a_window_with_too_few_labels_does_not_judge_quality() -> None:
    history = [entry("t1", value=0.7), entry("t2", value=0.95, labelled=5)]
    decision = retrain_decision(history, F1, SETTINGS)
    assert decision["retrain"], "the latest window with enough labels still says too low"
    assert "window ending t1" in decision["reasons"][0]
    assert not retrain_decision([entry("t1", value=0.5, labelled=5)], F1, SETTINGS)["retrain"]


def test_an_error_above_its_minimum_triggers_retraining() -> None:
    history = [
        {**entry("t1"), "quality": {**entry("t1")["quality"], "metric": "rmse", "value": 61.0}}
    ]
    assert retrain_decision(history, RMSE, SETTINGS)["retrain"]


def test_sustained_drift_triggers_retraining() -> None:
    drifted = (True, True, False)
    decision = retrain_decision(
        [entry("t1", drifted=drifted), entry("t2", drifted=drifted)], F1, SETTINGS
    )
    assert decision["retrain"]
    assert decision["reasons"] == [
        "more than 50% of the features drifted in each of the last 2 window(s) (latest: f0, f1)"
    ]


def test_one_drifted_window_is_not_sustained_drift() -> None:
    drifted = (True, True, False)
    assert not retrain_decision([entry("t1", drifted=drifted)], F1, SETTINGS)["retrain"]
    history = [entry("t1", drifted=drifted), entry("t2"), entry("t3", drifted=drifted)]
    assert not retrain_decision(history, F1, SETTINGS)["retrain"]


def test_drift_on_exactly_the_allowed_share_is_not_drift_enough() -> None:
    history = [entry("t1", drifted=(True, False)), entry("t2", drifted=(True, False))]
    assert not retrain_decision(history, F1, SETTINGS)["retrain"]


def test_low_quality_and_sustained_drift_give_both_reasons() -> None:
    history = [entry("t1", drifted=(True, True)), entry("t2", value=0.5, drifted=(True, True))]
    assert len(retrain_decision(history, F1, SETTINGS)["reasons"]) == 2


# The dashboard -----------------------------------------------------------------------------


THRESHOLDS = {"metric": "f1_macro", "direction": "maximize", "target": 0.9, "minimum": 0.8}
GATE = {
    "decision": "go",
    "metric": "f1_macro",
    "value": 0.93,
    "minimum": 0.8,
    "target": 0.9,
    "baseline": 0.33,
    "reasons": ["f1_macro 0.93 meets the minimum 0.8"],
    "decide_on": "lower_bound",
    "compared_value": 0.87,
    "interval": {"low": 0.87, "high": 0.97, "confidence": 0.95, "resamples": 998, "skipped": 2},
}


class Page(HTMLParser):
    """What a reader of the dashboard sees: elements by tag and class, and the text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, css: str | None = None) -> list[dict[str, str | None]]:
        return [
            attrs
            for name, attrs in self.elements
            if name == tag and (css is None or css in (attrs.get("class") or "").split())
        ]


def three_windows() -> list[dict[str, Any]]:
    return [
        entry("2026-12-01T10:00:00.000000Z", value=0.95),
        entry("2026-12-02T10:00:00.000000Z", value=None, labelled=0),
        entry("2026-12-03T10:00:00.000000Z", value=0.75, drifted=(True, False)),
    ]


def test_the_dashboard_shows_the_metric_as_a_trend_against_target_and_minimum() -> None:
    history = three_windows()
    retrain = retrain_decision(history, F1, SETTINGS)
    page = Page(render_dashboard(history, retrain, GATE, THRESHOLDS, title="Blobs"))
    trend = page.having("svg", "trend")
    assert len(trend) == 1
    points = page.having("circle", "window")
    assert len(points) == 2, "one point per measured window; the unlabelled one is a gap"
    assert len(page.having("line", "target")) == len(page.having("line", "minimum")) == 1
    text = " ".join(page.text)
    for expected in (
        "target 0.9",
        "minimum 0.8",
        "2026-12-03 10:00: 0.75",
        "retrain",
        "does not meet the minimum",
        "go",
        "95% confidence",
    ):
        assert expected in text, expected


def test_the_dashboard_shows_drift_per_feature_per_window_and_traffic_per_arm() -> None:
    history = three_windows()
    page = Page(
        render_dashboard(history, retrain_decision(history, F1, SETTINGS), None, THRESHOLDS)
    )
    heat = [attrs for attrs in page.having("td") if "num" in (attrs.get("class") or "")]
    assert len(page.having("td", "bad")) == 1, "the one drifted feature-window"
    assert len(page.having("td", "good")) == 5
    assert heat
    assert len(page.having("rect", "arm-champion")) == 3
    assert len(page.having("rect", "arm-challenger")) == 3
    text = " ".join(page.text)
    assert "Champion against challenger" in text and "0.9" in text and "0.8" in text
    assert "No gate decision yet" in text


def test_the_dashboard_is_self_contained_and_deterministic() -> None:
    history = three_windows()
    retrain = retrain_decision(history, F1, SETTINGS)
    html = render_dashboard(history, retrain, GATE, THRESHOLDS)
    assert html.startswith("<!DOCTYPE html>")
    for outside in ("<script", "<link", "src=", "href=", "@import", "url(", "http:", "https:"):
        assert outside not in html, f"the dashboard refers to something outside it: {outside}"
    assert render_dashboard(history, retrain, GATE, THRESHOLDS) == html
    assert re.search(r"\bnan\b", html, re.IGNORECASE) is None, "NaN leaked into the page"


def test_the_dashboard_escapes_names() -> None:
    history = [entry("2026-12-01T10:00:00.000000Z")]
    history[0]["drift"]["features"] = {"<petal>": history[0]["drift"]["features"]["f0"]}
    html = render_dashboard(history, {"retrain": False, "reasons": []}, None, THRESHOLDS)
    assert "&lt;petal&gt;" in html and "<petal>" not in html


def test_the_dashboard_of_an_empty_history_says_how_to_get_traffic() -> None:
    html = render_dashboard([], {"retrain": False, "reasons": []}, GATE, THRESHOLDS)
    assert "make serve" in html and "make simulate" in html


def test_the_stage_renders_the_trend_from_the_history_file(project: Path, model) -> None:
    log_traffic(project, model, two_blobs(100, seed=5), START)
    run(project, params(project), until=at(1))
    log_traffic(project, model, two_blobs(100, seed=6), START + timedelta(hours=2))
    run(project, params(project), until=at(3))
    page = Page((project / "reports/monitoring/dashboard.html").read_text())
    assert len(page.having("circle", "window")) == 2
    summary = json.loads((project / "reports/monitoring/drift.json").read_text())
    assert summary["windows"] == 2 and summary["rows"] == 100


def test_the_dashboard_command_prints_where_the_page_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.chdir(tmp_path)
    assert dashboard_main([]) == 1
    assert "run `dvc repro monitor` first" in capsys.readouterr().err
    page = tmp_path / "reports" / "monitoring" / "dashboard.html"
    page.parent.mkdir(parents=True)
    page.write_text("<!DOCTYPE html>\n")
    assert dashboard_main([]) == 0
    assert capsys.readouterr().out.strip() == str(page)
