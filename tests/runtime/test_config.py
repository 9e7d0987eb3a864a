"""Configuration: parameters and the phase-1 success criteria, the one thread of truth."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from crisp_ml.runtime.config import (
    ConfigError,
    SuccessCriteria,
    load_params,
    load_success_criteria,
    project_root,
    resolve,
)

F1 = SuccessCriteria(metric="f1_macro", direction="maximize", target=0.9, minimum=0.8)
RMSE = SuccessCriteria(metric="rmse", direction="minimize", target=50.0, minimum=60.0)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_project_root_is_the_folder_holding_dvc_yaml(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    nested = tmp_path / "src" / "deep"
    nested.mkdir(parents=True)
    assert project_root(nested) == tmp_path.resolve()
    assert resolve("params.yaml", tmp_path) == tmp_path / "params.yaml"
    assert resolve(tmp_path / "x.yaml") == tmp_path / "x.yaml"


@pytest.mark.parametrize(
    ("criteria", "value", "minimum", "target"),
    [
        (F1, 0.95, True, True),
        (F1, 0.85, True, False),
        (F1, 0.8, True, False),
        (F1, 0.7, False, False),
        (RMSE, 45.0, True, True),
        (RMSE, 55.0, True, False),
        (RMSE, 61.0, False, False),
        (F1, math.nan, False, False),
    ],
)
def test_thresholds_follow_the_metrics_direction(
    criteria: SuccessCriteria, value: float, minimum: bool, target: bool
) -> None:
    assert criteria.meets_minimum(value) is minimum
    assert criteria.meets_target(value) is target


def test_better_means_higher_or_lower_by_direction() -> None:
    assert F1.is_better(0.9, 0.8) and not F1.is_better(0.8, 0.9)
    assert RMSE.is_better(40.0, 50.0) and not RMSE.is_better(50.0, 40.0)
    assert not F1.is_better(0.8, 0.8)


def test_a_valid_criteria_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path / "criteria.yaml", "metric: rmse\ndirection: minimize\ntarget: 50\nminimum: 60\n"
    )
    assert load_success_criteria(path) == RMSE


def test_a_file_without_decide_on_keeps_deciding_on_the_point_estimate(tmp_path: Path) -> None:
    # Files written before `decide_on` existed: a `copier update` must not change the gate.
    path = write(
        tmp_path / "criteria.yaml", "metric: r2\ndirection: maximize\ntarget: 0.5\nminimum: 0.4\n"
    )
    assert load_success_criteria(path).decide_on == "point"


@pytest.mark.parametrize("decide_on", ["lower_bound", "point"])
def test_decide_on_is_read(tmp_path: Path, decide_on: str) -> None:
    path = write(
        tmp_path / "criteria.yaml",
        f"metric: rmse\ndirection: minimize\ntarget: 50\nminimum: 60\ndecide_on: {decide_on}\n",
    )
    assert load_success_criteria(path).decide_on == decide_on


def test_the_pessimistic_end_of_an_interval_follows_the_direction() -> None:
    assert (F1.pessimistic(0.8, 0.9), F1.pessimistic_bound) == (0.8, "lower bound")
    assert (RMSE.pessimistic(40.0, 55.0), RMSE.pessimistic_bound) == (55.0, "upper bound")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("metric: [", "not valid YAML"),
        ("- a list\n", "expected a mapping"),
        ("metric: speed\ndirection: maximize\ntarget: 1\nminimum: 0\n", "`metric` must be one of"),
        ("metric: r2\ndirection: upwards\ntarget: 1\nminimum: 0\n", "`direction` must be"),
        ("metric: rmse\ndirection: maximize\ntarget: 1\nminimum: 0\n", "direction: minimize"),
        ("metric: r2\ndirection: maximize\ntarget: hi\nminimum: 0\n", "`target` must be a number"),
        ("metric: r2\ndirection: maximize\ntarget: 0.5\n", "`minimum` must be a number"),
        ("metric: r2\ndirection: maximize\ntarget: 0.5\nminimum: 0.7\n", "minimum (0.7) is better"),
        ("metric: f1_macro\ndirection: maximize\ntarget: 90\nminimum: 80\n", "between 0 and 1"),
        (
            "metric: r2\ndirection: maximize\ntarget: 0.5\nminimum: 0.4\ndecide_on: lower\n",
            "`decide_on` must be lower_bound (the pessimistic end of the confidence interval) "
            "or point",
        ),
    ],
)
def test_a_malformed_criteria_file_is_a_clear_error_naming_it(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write(tmp_path / "criteria.yaml", content)
    with pytest.raises(ConfigError) as error:
        load_success_criteria(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_params(tmp_path / "params.yaml")
