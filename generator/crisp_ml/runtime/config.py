"""Project configuration: where the project lives, its parameters and its success criteria.

Kept light on purpose (stdlib and PyYAML only): every stage, the router and the monitor import
it, and the success criteria it reads are the single source of truth for every threshold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Kept in a module that imports nothing, so that crisp-lint shares them at no start-up cost;
# metrics, the dashboard and the tests import them from here.
from .metric_names import METRIC_DIRECTIONS, UNIT_INTERVAL_METRICS

PARAMS_FILE = "params.yaml"
SUCCESS_CRITERIA_FILE = "phases/01-business-understanding/success-criteria.yaml"

DIRECTIONS = ("maximize", "minimize")
# What the deploy gate compares with the minimum and the target: the test split's point
# estimate, or the pessimistic end of its bootstrap confidence interval ("lower_bound": the
# interval's lower bound for a metric to maximize, its upper bound for one to minimize).
LOWER_BOUND, POINT = "lower_bound", "point"
DECIDE_ON = (LOWER_BOUND, POINT)


class ConfigError(ValueError):
    """A configuration file is missing or malformed; the message names the file and the fix."""


def project_root(start: Path | None = None) -> Path:
    """The project's root folder: the nearest folder holding ``dvc.yaml``, from ``start`` up.

    Falls back to ``start`` (default: the working directory) outside a project, so helpers
    still work on loose files in tests.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file():
            return folder
    return here


def resolve(path: str | Path, root: Path | None = None) -> Path:
    """``path`` itself when absolute, otherwise relative to the project root."""
    path = Path(path)
    return path if path.is_absolute() else (root or project_root()) / path


def _read_yaml_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: file not found; create it or pass the right path")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid YAML ({error}); fix the syntax") from error
    if content is None:
        return {}
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of keys to values at the top level")
    return content


def load_params(path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The parameters of every stage (``params.yaml``), as a dictionary."""
    return _read_yaml_mapping(resolve(path))


def stage_params(params: dict[str, Any], stage: str, source: str = PARAMS_FILE) -> dict[str, Any]:
    """The ``stage`` section of ``params``; a clear error if it is missing or not a mapping."""
    section = params.get(stage)
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: missing the `{stage}:` section (a mapping of settings)")
    return section


@dataclass(frozen=True)
class SuccessCriteria:
    """The business success criteria of phase 1: the deploy gate and the monitoring alert."""

    metric: str
    direction: str
    target: float
    minimum: float
    # A file without `decide_on` predates it: keep deciding on the point estimate, so a
    # `copier update` does not silently change a project's gate.
    decide_on: str = POINT

    @property
    def pessimistic_bound(self) -> str:
        """The end of an interval where this metric is worse: "lower" or "upper" bound."""
        return "lower bound" if self.direction == "maximize" else "upper bound"

    def pessimistic(self, low: float, high: float) -> float:
        """The worse end of the interval [``low``, ``high``] for this metric."""
        return low if self.direction == "maximize" else high

    def is_better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than value ``b`` for this metric."""
        return a > b if self.direction == "maximize" else a < b

    def _at_least_as_good(self, value: float, threshold: float) -> bool:
        if math.isnan(value):
            return False
        return value >= threshold if self.direction == "maximize" else value <= threshold

    def meets_minimum(self, value: float) -> bool:
        """Whether ``value`` is acceptable: at least as good as the minimum."""
        return self._at_least_as_good(value, self.minimum)

    def meets_target(self, value: float) -> bool:
        """Whether ``value`` reaches what the business hopes for."""
        return self._at_least_as_good(value, self.target)


def _number(raw: dict[str, Any], key: str, path: Path) -> float:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{path}: `{key}` must be a number, got {value!r}")
    return float(value)


def load_success_criteria(path: str | Path = SUCCESS_CRITERIA_FILE) -> SuccessCriteria:
    """Read and check the phase-1 success criteria file."""
    path = resolve(path)
    raw = _read_yaml_mapping(path)
    metric = raw.get("metric")
    if metric not in METRIC_DIRECTIONS:
        known = ", ".join(METRIC_DIRECTIONS)
        raise ConfigError(f"{path}: `metric` must be one of {known}; got {metric!r}")
    direction = raw.get("direction")
    if direction not in DIRECTIONS:
        raise ConfigError(f"{path}: `direction` must be maximize or minimize; got {direction!r}")
    if direction != METRIC_DIRECTIONS[metric]:
        raise ConfigError(
            f"{path}: {metric} improves when it goes the other way; "
            f"set `direction: {METRIC_DIRECTIONS[metric]}`"
        )
    target = _number(raw, "target", path)
    minimum = _number(raw, "minimum", path)
    decide_on = raw.get("decide_on", POINT)
    if decide_on not in DECIDE_ON:
        raise ConfigError(
            f"{path}: `decide_on` must be lower_bound (the pessimistic end of the confidence "
            f"interval) or point (the point estimate); got {decide_on!r}"
        )
    criteria = SuccessCriteria(metric, direction, target, minimum, decide_on)
    if criteria.is_better(minimum, target):
        raise ConfigError(
            f"{path}: the minimum ({minimum}) is better than the target ({target}) for a metric "
            f"to {direction}; the minimum is the worst acceptable value"
        )
    if metric in UNIT_INTERVAL_METRICS and not (0 <= minimum <= 1 and 0 <= target <= 1):
        raise ConfigError(f"{path}: {metric} lies between 0 and 1; set target and minimum there")
    return criteria
