"""Traffic for a fresh project: replay held-out and shifted rows through the running server.

``python -m crisp_ml.runtime.simulate --url http://127.0.0.1:8000 [--rows N] [--shift S]
[--shifted-features a,b] [--seed N] [--part held-out|shifted|both]`` (``make simulate``)
sends the test split's rows (held out from training, so the model has not seen them) one
by one to ``POST /predict``, then the same rows with a covariate shift of ``shift``
training standard deviations on ``shifted_features``, and posts each row's true label to
``POST /feedback``. The serving app logs all of it, so ``make monitor`` then sees a healthy
window and a drifted one: serve, log, monitor, alert, retrain, end to end, without real
users. Defaults come from the ``simulate:`` section of params.yaml.

Standard library HTTP (urllib) with a timeout on every call; no server is a clear error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ConfigError, load_params, project_root
from .datasets import load_part
from .pipeline import StageError

DEFAULT_URL = "http://127.0.0.1:8000"
TIMEOUT = 10.0  # seconds per request: a stuck server must not hang the replay
WAIT_FOR_SERVER = 60.0  # seconds for `make serve &` to load MLflow and the models
MAX_CONSECUTIVE_FAILURES = 20  # then the server is broken, not one row
PARTS = ("held-out", "shifted")


class SimulateError(RuntimeError):
    """The replay cannot go on (no server, a broken one); the message says what to do."""


@dataclass(frozen=True)
class SimulateSettings:
    """The ``simulate:`` section of params.yaml (command-line flags override it)."""

    rows: int | None = None  # None: every test row
    shift: float = 1.5  # in training standard deviations
    shifted_features: tuple[str, ...] | None = None  # None: every numeric feature
    seed: int = 0

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SimulateSettings:
        section = params.get("simulate") or {}
        if not isinstance(section, dict):
            raise ConfigError("params.yaml simulate: expected a mapping of settings")
        unknown = sorted(set(section) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                f"params.yaml simulate: unknown setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(cls.__dataclass_fields__))}"
            )
        shifted = section.get("shifted_features")
        if shifted is not None and (
            not isinstance(shifted, list) or not all(isinstance(f, str) for f in shifted)
        ):
            raise ConfigError(
                "params.yaml simulate.shifted_features must be a list of feature names, "
                "or null for every numeric feature"
            )
        settings = cls(
            rows=section.get("rows"),
            shift=section.get("shift", cls.shift),
            shifted_features=None if shifted is None else tuple(shifted),
            seed=section.get("seed", cls.seed),
        )
        settings.check("params.yaml simulate")
        return settings

    def check(self, source: str) -> None:
        if self.rows is not None and (
            isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 1
        ):
            raise ConfigError(f"{source}: rows must be a whole number of at least 1, or null")
        if (
            isinstance(self.shift, bool)
            or not isinstance(self.shift, int | float)
            or not math.isfinite(self.shift)
        ):
            raise ConfigError(f"{source}: shift must be a number, e.g. 1.5")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ConfigError(f"{source}: seed must be a whole number")


# Rows to replay ----------------------------------------------------------------------------


def replay_rows(held_out: pd.DataFrame, rows: int | None, seed: int) -> pd.DataFrame:
    """A seeded order of the held-out rows, at most ``rows`` of them, none twice."""
    shuffled = held_out.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return shuffled if rows is None else shuffled.head(rows)


def shifted_rows(
    rows: pd.DataFrame, reference: pd.DataFrame, features: Sequence[str], shift: float
) -> pd.DataFrame:
    """``rows`` with each of ``features`` moved by ``shift`` of its training standard
    deviation: a covariate shift of known size, the labels unchanged."""
    moved = rows.copy()
    for name in features:
        if not pd.api.types.is_numeric_dtype(reference[name]):
            raise ConfigError(f"simulate.shifted_features: {name} is not numeric; shift numbers")
        moved[name] = moved[name] + shift * float(reference[name].std(ddof=0))
    return moved


def choose_shifted(
    reference: pd.DataFrame, features: Sequence[str], wanted: Sequence[str] | None
) -> list[str]:
    """The features to shift: ``wanted``, checked, or every numeric feature."""
    if wanted is None:
        return [name for name in features if pd.api.types.is_numeric_dtype(reference[name])]
    unknown = sorted(set(wanted) - set(features))
    if unknown:
        raise ConfigError(
            f"simulate.shifted_features: {', '.join(unknown)} not among the features "
            f"({', '.join(features)})"
        )
    return list(wanted)


def plain(value: Any) -> Any:
    """A cell as JSON: numpy scalars as Python numbers, missing values as null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# HTTP --------------------------------------------------------------------------------------


def post(url: str, body: dict[str, Any], timeout: float = TIMEOUT) -> tuple[int, Any]:
    """POST ``body`` as JSON; (status, decoded answer). Refused connections raise URLError."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            return error.code, json.loads(text)
        except json.JSONDecodeError:
            return error.code, text


def prediction_of(answer: Any) -> tuple[str, Any, str]:
    """(id, prediction, arm) of a one-row answer of ``POST /predict``.

    Reads the serving app's ``{"ids", "predictions", "arm"}`` and the per-row form
    ``{"predictions": [{"id", "prediction", "arm"}]}``.
    """
    try:
        if "ids" in answer:
            return str(answer["ids"][0]), answer["predictions"][0], str(answer.get("arm"))
        first = answer["predictions"][0]
        return str(first["id"]), first.get("prediction"), str(first.get("arm"))
    except (KeyError, IndexError, TypeError):
        raise SimulateError(
            f"POST /predict answered {str(answer)[:200]!r}, not predictions with ids; is "
            "this the project's serving app (`make serve`)?"
        ) from None


@dataclass
class Replay:
    """What one part of the replay did."""

    part: str
    sent: int = 0
    predicted: int = 0
    refused: int = 0
    labelled: int = 0
    right: int = 0
    arms: Counter[str] = field(default_factory=Counter)
    first_error: str | None = None

    def summary(self, task: str) -> str:
        arms = ", ".join(f"{arm} {count}" for arm, count in sorted(self.arms.items()))
        text = (
            f"simulate: {self.part}: {self.sent} rows sent, {self.predicted} answered "
            f"({arms or 'no arm'}), {self.labelled} labelled"
        )
        if task == "classification" and self.predicted:
            text += f", {self.right / self.predicted:.1%} answered right"
        if self.refused:
            text += f"; {self.refused} refused, first: {self.first_error}"
        return text


def replay(
    base: str,
    part: str,
    rows: pd.DataFrame,
    features: Sequence[str],
    target: str,
    key: str,
    timeout: float = TIMEOUT,
) -> Replay:
    """Send every row to ``/predict`` and its true label to ``/feedback``."""
    done = Replay(part)
    failures = 0
    for record in rows.to_dict("records"):
        done.sent += 1
        body = {
            "features": {name: plain(record[name]) for name in features},
            "key": f"{part}-{plain(record[key])}",
        }
        status, answer = _call(base, "/predict", body, timeout)
        if status != 200:
            done.refused += 1
            failures += 1
            done.first_error = done.first_error or f"HTTP {status}: {str(answer)[:200]}"
            if failures >= MAX_CONSECUTIVE_FAILURES:
                raise SimulateError(
                    f"{base}/predict refused {failures} rows in a row ({done.first_error}); "
                    "check the server's log"
                )
            continue
        failures = 0
        pid, prediction, arm = prediction_of(answer)
        done.predicted += 1
        done.arms[arm] += 1
        label = plain(record[target])
        done.right += prediction == label
        status, answer = _call(base, "/feedback", {"id": pid, "label": label}, timeout)
        if status == 200:
            done.labelled += 1
    return done


def _call(base: str, path: str, body: dict[str, Any], timeout: float) -> tuple[int, Any]:
    try:
        return post(base + path, body, timeout)
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise SimulateError(
            f"no serving app answers at {base} ({reason}); start it with `make serve` "
            "(in another terminal), or pass --url"
        ) from None


def wait_until_serving(base: str, wait: float, poll: float = 0.5) -> None:
    """Wait (at most ``wait`` seconds) for ``GET /health`` to answer at all.

    `make serve &` followed by `make simulate` is the README's own sequence, and the app
    needs a few seconds to load MLflow and both models. Any HTTP answer means it is up (a
    degraded log answers 503, and its predictions still count); a refused connection past
    the deadline is the clear error of :func:`_call`.
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=min(5.0, max(wait, 0.1))):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            if time.monotonic() >= deadline:
                reason = getattr(error, "reason", error)
                raise SimulateError(
                    f"no serving app answered at {base} within {wait:g} s ({reason}); start"
                    " it with `make serve` (in another terminal), or pass --url"
                ) from None
        time.sleep(poll)


# The command -------------------------------------------------------------------------------


def run(root: Path, params: dict[str, Any], args: argparse.Namespace) -> list[Replay]:
    """Replay the held-out rows, then their shifted copy; one :class:`Replay` per part."""
    settings = SimulateSettings.from_params(params)
    settings = SimulateSettings(
        rows=args.rows if args.rows is not None else settings.rows,
        shift=args.shift if args.shift is not None else settings.shift,
        shifted_features=(
            tuple(f.strip() for f in args.shifted_features.split(",") if f.strip())
            if args.shifted_features
            else settings.shifted_features
        ),
        seed=args.seed if args.seed is not None else settings.seed,
    )
    settings.check("simulate")
    train, test = load_part(root, "train"), load_part(root, "test")
    rows = replay_rows(test.frame, settings.rows, settings.seed)
    moved = choose_shifted(train.X, train.features, settings.shifted_features)
    parts = PARTS if args.part == "both" else (args.part,)
    base = args.url.rstrip("/")
    wait_until_serving(base, args.wait)
    done = []
    for part in parts:
        data = rows if part == "held-out" else shifted_rows(rows, train.X, moved, settings.shift)
        result = replay(base, part, data, train.features, train.target, train.key, args.timeout)
        print(result.summary(train.task))
        done.append(result)
    if "shifted" in parts:
        named = ", ".join(moved) if len(moved) <= 5 else f"all {len(moved)} numeric features"
        print(
            f"simulate: shifted {named} by {settings.shift:g} training standard "
            "deviation(s); run `make monitor` to score the traffic"
        )
    return done


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m crisp_ml.runtime.simulate",
        description="Replay held-out and shifted rows, with feedback, through the server.",
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the server (default {DEFAULT_URL})")
    parser.add_argument("--rows", type=int, help="rows per part (default: every test row)")
    parser.add_argument("--shift", type=float, help="shift in training standard deviations")
    parser.add_argument("--shifted-features", help="comma-separated features to shift")
    parser.add_argument("--seed", type=int, help="order of the replayed rows")
    parser.add_argument("--part", choices=[*PARTS, "both"], default="both")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per request")
    parser.add_argument(
        "--wait",
        type=float,
        default=WAIT_FOR_SERVER,
        help=f"seconds to wait for the server to come up (default {WAIT_FOR_SERVER:g})",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = project_root()
    try:
        run(root, load_params(root / "params.yaml"), args)
    except (ConfigError, StageError, SimulateError) as error:
        print(f"simulate: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
