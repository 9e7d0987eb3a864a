"""Monitoring: drift scores, alert levels, the retraining trigger and the dashboard."""

from __future__ import annotations

import json
import re
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from crisp_ml.runtime.config import ConfigError, SuccessCriteria
from crisp_ml.runtime.dashboard import main as dashboard_main
from crisp_ml.runtime.dashboard import render_dashboard
from crisp_ml.runtime.monitor import (
    BELOW_MINIMUM,
    BELOW_TARGET,
    OK,
    UNMEASURED,
    FeatureDrift,
    MonitorSettings,
    alert_level,
    categorical_psi,
    feature_drift,
    monitor_batch,
    noise_limited_bins,
    psi,
    retrain_decision,
    run,
    simulate_batch,
)
from crisp_ml.runtime.pipeline import StageError

F1 = SuccessCriteria(metric="f1_macro", direction="maximize", target=0.9, minimum=0.8)
RMSE = SuccessCriteria(metric="rmse", direction="minimize", target=50.0, minimum=60.0)


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


# Alert levels and the retraining trigger ---------------------------------------------------


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
    ],
)
def test_the_alert_level_follows_the_success_criteria(
    criteria: SuccessCriteria, value: float, level: str
) -> None:
    assert alert_level(criteria, value) == level


def drift_of(*drifted: bool) -> list[FeatureDrift]:
    return [
        FeatureDrift(f"f{i}", 0.3 if d else 0.01, "ks", 0.1, 0.001 if d else 0.5, d)
        for i, d in enumerate(drifted)
    ]


def test_quality_below_the_minimum_triggers_retraining() -> None:
    decision = retrain_decision(F1, 0.7, drift_of(False, False), max_drifted_share=0.5)
    assert decision["retrain"]
    assert decision["reasons"] == ["f1_macro 0.7 does not meet the minimum acceptable value 0.8"]


def test_an_error_above_its_minimum_triggers_retraining_and_is_not_called_below_it() -> None:
    decision = retrain_decision(RMSE, 61.0, drift_of(False), max_drifted_share=0.5)
    assert decision["reasons"] == ["rmse 61 does not meet the minimum acceptable value 60"]


def test_quality_below_the_target_alone_does_not_trigger_retraining() -> None:
    assert retrain_decision(F1, 0.85, drift_of(False, True), 0.5) == {
        "retrain": False,
        "reasons": [],
    }


def test_an_unmeasurable_metric_does_not_trigger_retraining() -> None:
    assert not retrain_decision(F1, float("nan"), drift_of(False), 0.5)["retrain"]


def test_drift_on_too_many_features_triggers_retraining() -> None:
    decision = retrain_decision(F1, 0.95, drift_of(True, True, False), max_drifted_share=0.5)
    assert decision["retrain"]
    assert decision["reasons"] == ["2 of 3 features drifted (more than 50%): f0, f1"]


def test_drift_on_exactly_the_allowed_share_does_not_trigger_retraining() -> None:
    assert not retrain_decision(F1, 0.95, drift_of(True, False), max_drifted_share=0.5)["retrain"]


def test_low_quality_and_drift_give_both_reasons() -> None:
    decision = retrain_decision(F1, 0.5, drift_of(True, True), max_drifted_share=0.5)
    assert len(decision["reasons"]) == 2


# The simulated batch -----------------------------------------------------------------------


def test_the_simulated_batch_is_seeded_and_shifts_only_the_chosen_features() -> None:
    rows = pd.DataFrame(
        {"a": normal(0.0, 300, seed=1), "b": normal(0.0, 300, seed=2), "label": np.arange(300) % 2}
    )
    first = simulate_batch(rows, rows, size=200, shift=2.0, shifted_features=["a"], seed=7)
    again = simulate_batch(rows, rows, size=200, shift=2.0, shifted_features=["a"], seed=7)
    pd.testing.assert_frame_equal(first, again)
    plain = simulate_batch(rows, rows, size=200, shift=0.0, shifted_features=["a"], seed=7)
    expected_shift = 2.0 * rows["a"].std(ddof=0)
    assert (first["a"] - plain["a"]).to_numpy() == pytest.approx(expected_shift)
    pd.testing.assert_series_equal(first["b"], plain["b"])
    pd.testing.assert_series_equal(first["label"], plain["label"])


def test_the_simulated_batch_never_repeats_a_row() -> None:
    rows = pd.DataFrame({"a": np.arange(30.0), "label": np.arange(30) % 2})
    batch = simulate_batch(rows, rows, size=500, shift=0.0, shifted_features=[], seed=0)
    assert len(batch) == 30
    assert sorted(batch["a"]) == list(rows["a"])


# Monitoring a batch ------------------------------------------------------------------------


def two_blobs(size: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, size)
    return pd.DataFrame(
        {"x1": rng.normal(label * 3.0, 1.0), "x2": rng.normal(0, 1.0, size), "label": label}
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[LogisticRegression, pd.DataFrame]:
    train = two_blobs(600, seed=1)
    return LogisticRegression().fit(train[["x1", "x2"]], train["label"]), train


def settings(**overrides) -> MonitorSettings:
    return MonitorSettings(success_criteria="unused.yaml", **overrides)


def test_a_healthy_batch_raises_no_alarm(fitted) -> None:
    model, train = fitted
    batch = two_blobs(500, seed=2)
    report, retrain = monitor_batch(model, batch, train, ["x1", "x2"], "label", F1, settings())
    assert report["quality"]["value"] > 0.9
    assert report["quality"]["alert"] == OK
    assert report["quality"]["minimum"] == F1.minimum
    assert report["drift"]["drifted_features"] == 0
    assert retrain == {"retrain": False, "reasons": []}


def test_a_shifted_batch_loses_quality_and_asks_for_retraining(fitted) -> None:
    model, train = fitted
    batch = simulate_batch(two_blobs(500, seed=2), train, 500, 1.5, ["x1"], seed=3)
    report, retrain = monitor_batch(model, batch, train, ["x1", "x2"], "label", F1, settings())
    assert report["drift"]["features"]["x1"]["drifted"]
    assert not report["drift"]["features"]["x2"]["drifted"]
    assert report["quality"]["alert"] == BELOW_MINIMUM
    assert retrain["retrain"]
    assert "does not meet the minimum acceptable value 0.8" in retrain["reasons"][0]


def test_a_small_batch_of_the_same_distribution_rarely_looks_drifted(
    fitted,
) -> None:
    model, train = fitted
    flagged, retrained = 0, 0
    for seed in range(40):
        batch = two_blobs(40, seed=100 + seed)
        report, retrain = monitor_batch(model, batch, train, ["x1", "x2"], "label", F1, settings())
        flagged += report["drift"]["drifted_features"]
        retrained += retrain["retrain"]
    assert flagged / 80 <= 0.05, "noise from a small sample is called drift too often"
    assert retrained == 0


# Settings ----------------------------------------------------------------------------------


def test_the_settings_come_from_the_monitor_section() -> None:
    params = {
        "monitor": {
            "success_criteria": "criteria.yaml",
            "drift_threshold": 0.3,
            "shifted_features": ["x1"],
        }
    }
    loaded = MonitorSettings.from_params(params)
    assert loaded.drift_threshold == 0.3
    assert loaded.shifted_features == ("x1",)


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
        ({"success_criteria": "c.yaml", "shift": "large"}, "monitor.shift must be a number"),
        ({"success_criteria": "c.yaml", "bins": 2.5}, "monitor.bins must be a whole number"),
        ({"success_criteria": "c.yaml", "shifted_features": "x1"}, "a list of feature names"),
    ],
)
def test_a_bad_monitor_section_is_a_clear_error(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        MonitorSettings.from_params({"monitor": section})


# The stage, on a small project laid out as the pipeline writes it --------------------------


@pytest.fixture
def project(tmp_path: Path, fitted) -> Path:
    model, _ = fitted
    frame = two_blobs(300, seed=4)
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
    split = {"train": list(range(200)), "val": list(range(200, 250)), "test": list(range(250, 300))}
    (tmp_path / "data" / "split" / "indices.json").write_text(json.dumps(split))
    (tmp_path / "models").mkdir()
    joblib.dump(model, tmp_path / "models" / "model.joblib")
    (tmp_path / "criteria.yaml").write_text(
        yaml.safe_dump(
            {"metric": "f1_macro", "direction": "maximize", "target": 0.9, "minimum": 0.8}
        )
    )
    return tmp_path


def test_the_stage_writes_drift_retrain_and_dashboard(project: Path) -> None:
    params = {
        "monitor": {
            "success_criteria": "criteria.yaml",
            "batch_size": 400,
            "shift": 2.0,
            "shifted_features": ["x2"],
            "seed": 1,
        }
    }
    run(project, params)
    out = project / "reports" / "monitoring"
    drift = json.loads((out / "drift.json").read_text())
    retrain = json.loads((out / "retrain.json").read_text())
    assert drift["batch"]["rows"] == 50, "at most the 50 test rows, none twice"
    assert drift["batch"]["shifted_features"] == ["x2"]
    assert drift["drift"]["features"]["x2"]["drifted"]
    assert drift["quality"]["target"] == 0.9
    assert retrain == {"retrain": False, "reasons": []}, "1 of 2 features is not more than half"
    assert "<svg" in (out / "dashboard.html").read_text()
    assert "decide_on" not in drift["quality"], "monitoring holds the point value, not a bound"


def test_an_unchanged_rerun_of_the_stage_writes_the_same_bytes(project: Path) -> None:
    params = {"monitor": {"success_criteria": "criteria.yaml", "shift": 1.0, "seed": 3}}
    gate = project / "reports" / "evaluation" / "gate.json"
    gate.parent.mkdir(parents=True)
    gate.write_text(json.dumps(GATE))
    run(project, params)
    out = project / "reports" / "monitoring"
    written = {path: path.read_bytes() for path in sorted(out.iterdir())}
    run(project, params)
    assert {path: path.read_bytes() for path in sorted(out.iterdir())} == written


def test_the_stage_says_which_stage_to_run_when_the_model_is_missing(project: Path) -> None:
    (project / "models" / "model.joblib").unlink()
    with pytest.raises(StageError, match=re.escape("run `dvc repro train` first")):
        run(project, {"monitor": {"success_criteria": "criteria.yaml"}})


def test_the_stage_names_an_unknown_shifted_feature(project: Path) -> None:
    params = {"monitor": {"success_criteria": "criteria.yaml", "shifted_features": ["x9"]}}
    with pytest.raises(ConfigError, match="x9 not among the features"):
        run(project, params)


# The dashboard -----------------------------------------------------------------------------


def sample_report(criteria: SuccessCriteria, value: float, alert: str) -> dict:
    return {
        "batch": {"rows": 500, "seed": 0, "shift": 0.5, "shifted_features": ["<petal>"]},
        "quality": {**criteria.__dict__, "value": value, "alert": alert},
        "drift": {
            "threshold": 0.2,
            "significance": 0.01,
            "bins": 10,
            "max_drifted_share": 0.5,
            "drifted_features": 1,
            "drifted_share": 0.5,
            "features": {
                "<petal>": {
                    "psi": 0.31,
                    "test": "ks",
                    "statistic": 0.2,
                    "pvalue": 0.001,
                    "drifted": True,
                },
                "sepal": {
                    "psi": 0.04,
                    "test": "ks",
                    "statistic": 0.05,
                    "pvalue": 0.6,
                    "drifted": False,
                },
            },
        },
    }


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


def test_the_dashboard_is_self_contained() -> None:
    page = render_dashboard(
        sample_report(F1, 0.86, BELOW_TARGET), {"retrain": False, "reasons": []}, GATE
    )
    assert page.startswith("<!DOCTYPE html>")
    for outside in ("<script", "<link", "src=", "href=", "@import", "url(", "http:", "https:"):
        assert outside not in page, f"the dashboard refers to something outside it: {outside}"
    assert page.count("<svg") == 2


def test_the_dashboard_shows_the_thresholds_the_value_and_the_decisions() -> None:
    retrain = {"retrain": True, "reasons": ["prediction quality is below the minimum"]}
    page = render_dashboard(sample_report(F1, 0.75, BELOW_MINIMUM), retrain, GATE, title="Iris")
    for text in (
        "target 0.9",
        "minimum 0.8",
        "threshold 0.2",
        "0.75",
        "0.93",
        "0.31",
        "short of the minimum acceptable value",
        "prediction quality is below the minimum",
        "<title>Iris: monitoring</title>",
        ">go<",
        "95% confidence interval",
        "0.87–0.97",
        ">998<",
        "lower bound 0.87",
        "confidence interval at evaluation: 0.87 to 0.97",
    ):
        assert text in page
    assert "&lt;petal&gt;" in page and "<petal>" not in page, "names must be escaped"


def test_the_dashboard_handles_a_metric_to_minimize_and_no_gate_yet() -> None:
    page = render_dashboard(
        sample_report(RMSE, 52.0, BELOW_TARGET), {"retrain": False, "reasons": []}
    )
    assert "Lower is better" in page
    assert "target 50" in page and "minimum 60" in page
    # 52 is above the target 50: "below the target" would read as the wrong way round.
    assert "acceptable, short of the target" in page
    assert "below the target" not in page
    assert "No gate decision yet" in page


def test_the_dashboard_names_the_upper_bound_of_an_error_the_decision_rested_on() -> None:
    gate = {
        **GATE,
        "metric": "rmse",
        "value": 52.0,
        "compared_value": 58.0,
        "interval": {"low": 47.0, "high": 58.0, "confidence": 0.9, "resamples": 1000},
    }
    page = render_dashboard(
        sample_report(RMSE, 52.0, BELOW_TARGET), {"retrain": False, "reasons": []}, gate
    )
    assert "upper bound 58" in page and "lower bound" not in page
    assert "90% confidence interval" in page


def test_the_dashboard_reads_a_gate_file_from_before_intervals() -> None:
    old = {key: value for key, value in GATE.items() if key in ("decision", "metric", "value")}
    page = render_dashboard(sample_report(F1, 0.86, BELOW_TARGET), {"retrain": False}, old)
    assert ">go<" in page and "confidence interval" not in page


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


def test_the_dashboard_shows_an_unmeasurable_metric_as_not_available() -> None:
    page = render_dashboard(
        sample_report(F1, float("nan"), UNMEASURED), {"retrain": False, "reasons": []}
    )
    assert "could not be measured on this batch" in page
    assert "n/a" in page
    assert re.search(r"\bnan\b", page, re.IGNORECASE) is None, "NaN leaked into the page"
