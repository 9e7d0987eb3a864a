"""One window of the prediction log, as monitoring reads it.

The prediction log belongs to :mod:`crisp_ml.runtime.predlog`; this module only asks it for
the rows of a window and the router's state, and shapes them the way monitoring needs:
served predictions (shadow answers are the challenger's rehearsal, not traffic, and are only
counted), the features as columns, the served answer split into ``prediction`` and
``probabilities`` (the serving app logs ``{"prediction", "probabilities"}``), times as UTC
timestamps, and the window ``[since, until)`` enforced here as well.

A missing SQLite file means "no traffic yet": it is not created, so a fresh project's
``dvc repro`` leaves no database behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from .pipeline import StageError
from .predlog import (
    PredictionLog,
    PredictionLogError,
    PredictionLogUnavailable,
    log_url,
    mask_url,
)

ROUTER_STATE = "router"  # the name the serving app saves the router's state under

# The columns of a window besides the features (predlog.WINDOW_COLUMNS, and probabilities).
LOG_COLUMNS = (
    "id",
    "time",
    "arm",
    "model_version",
    "shadow",
    "prediction",
    "probabilities",
    "label",
    "reward",
)
READ_TIMEOUT = 30.0  # seconds the database may take to answer before monitoring gives up


@dataclass(frozen=True)
class Window:
    """The served predictions of one window, and the router's state when it was read."""

    frame: pd.DataFrame
    router: dict[str, Any] | None = None
    shadowed: dict[str, int] = field(default_factory=dict)  # shadow predictions per arm


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database or an in-memory one)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    return None if parsed.database == ":memory:" else Path(parsed.database)


def prediction_log_url(root: Path, params: dict[str, Any]) -> str:
    """The log's URL as serving resolves it (environment, params.yaml, project default)."""
    try:
        return log_url(root, params)
    except PredictionLogError as error:
        raise StageError(str(error)) from None


def read_window(url: str, since: datetime | None, until: datetime) -> Window:
    """The window ``[since, until)`` of the log at ``url``; empty when the log has no file."""
    database = sqlite_file(url)
    if database is not None and not database.is_file():
        return Window(pd.DataFrame(columns=list(LOG_COLUMNS)))
    log = None
    try:
        log = PredictionLog(url, timeout=READ_TIMEOUT)
        frame = log.read_window(since, until, include_shadow=True)
        router = log.load_state(ROUTER_STATE)
    except (PredictionLogUnavailable, PredictionLogError, sa.exc.SQLAlchemyError) as error:
        raise StageError(
            f"prediction log {mask_url(url)}: cannot be read ({error}); check "
            "CRISP_PREDICTION_LOG_URL or serve.prediction_log in params.yaml"
        ) from None
    finally:
        if log is not None:
            log.close(timeout=5.0)
    return shape_window(frame, since, until, router)


def shape_window(
    frame: pd.DataFrame,
    since: datetime | None,
    until: datetime,
    router: dict[str, Any] | None = None,
) -> Window:
    """Served rows of ``frame`` inside ``(since, until]``, ordered by time."""
    frame = frame.copy()
    if frame.empty:
        return Window(frame, _state(router))
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="mixed")
    inside = frame["time"] < pd.Timestamp(until)
    if since is not None:
        inside &= frame["time"] >= pd.Timestamp(since)
    frame = frame[inside]
    shadow = frame["shadow"].fillna(False).astype(bool) if "shadow" in frame else None
    shadowed: dict[str, int] = {}
    if shadow is not None:
        shadowed = {str(k): int(v) for k, v in frame[shadow]["arm"].value_counts().items()}
        frame = frame[~shadow]
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    outputs = frame["prediction"] if "prediction" in frame else pd.Series(index=frame.index)
    frame["prediction"] = [_answer(output, "prediction", output) for output in outputs]
    frame["probabilities"] = [_answer(output, "probabilities", None) for output in outputs]
    return Window(frame, _state(router), shadowed)


def _answer(output: Any, part: str, default: Any) -> Any:
    """One part of a logged output: serving logs ``{"prediction", "probabilities"}``; any
    other output is the prediction itself."""
    if isinstance(output, dict) and "prediction" in output:
        return output.get(part, default)
    return default


def _state(router: Any) -> dict[str, Any] | None:
    """The router state as a mapping (it may be stored as JSON text)."""
    if isinstance(router, str):
        try:
            router = json.loads(router)
        except json.JSONDecodeError:
            return None
    return router if isinstance(router, dict) else None
