"""Request bodies of the serving app and the check of their feature values.

The shape of a body is pydantic's job (FastAPI answers 422 with pydantic's detail). The
values are checked against the data catalog by ``crisp_ml.runtime.schema.check_records``,
the same schema that validates the raw data and each monitoring window. A project whose
catalog file is missing falls back on what the model itself declares
(:func:`check_features`): every feature it was fitted on is present, none is unknown, and
each value is a number (or null, to impute).
Every violation names the row, the column and the rule, so a caller can fix its request.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field, model_validator

MAX_BATCH = 1000  # one request may not hold more rows: it bounds the time of one answer


class PredictRequest(BaseModel):
    """One row in ``features``, or a batch in ``instances``; ``key`` makes routing sticky."""

    features: dict[str, Any] | None = None
    instances: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)
    key: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _one_of(self) -> PredictRequest:
        if (self.features is None) == (self.instances is None):
            raise ValueError("give either `features` (one row) or `instances` (a list of rows)")
        return self

    @property
    def records(self) -> list[dict[str, Any]]:
        return [self.features] if self.features is not None else list(self.instances or [])


class FeedbackRequest(BaseModel):
    """The outcome of an earlier prediction: its true ``label``, or a ``reward`` in [0, 1]."""

    id: str = Field(min_length=1, max_length=64)
    label: Any = None
    reward: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _one_of(self) -> FeedbackRequest:
        if (self.label is None) == (self.reward is None):
            raise ValueError("give either `label` (the true outcome) or `reward` (0 to 1)")
        return self


def violation(row: int, column: str, check: str, message: str) -> dict[str, Any]:
    return {"row": row, "column": column, "check": check, "message": message}


class Validator:
    """Checks request rows against the data catalog, or the model's own features without one."""

    def __init__(self, root: Path, features: list[str] | None) -> None:
        from .config import ConfigError
        from .schema import CATALOG_FILE, load_catalog

        self.features = features
        self.catalog = load_catalog(root) if (root / CATALOG_FILE).is_file() else None
        if self.catalog is None or features is None:
            return
        known = {column.name for column in self.catalog.features}
        if unknown := [name for name in features if name not in known]:
            raise ConfigError(
                f"{self.catalog.path}: the champion takes feature(s) the catalog does not "
                f"declare: {', '.join(unknown)}; add them to a source's `columns:`"
            )

    def check(self, records: list[dict[str, Any]]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
        """The rows as a frame in the model's column order, and what is wrong with them."""
        if self.catalog is None:
            return check_features(records, self.features)
        from .schema import check_records

        frame, violations = check_records(self.catalog, records)
        if violations:
            return frame, [v.to_dict() for v in violations]
        # The catalog may declare features the model does not use (prepare dropped them).
        return (frame if self.features is None else frame[self.features]), []


def check_features(
    records: list[dict[str, Any]], features: list[str] | None
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """The interim check: the model's own feature names, and numbers for values."""
    expected = features or sorted({name for record in records for name in record})
    violations: list[dict[str, Any]] = []
    for row, record in enumerate(records):
        for column in expected:
            if column not in record:
                violations.append(violation(row, column, "present", f"missing feature `{column}`"))
            elif not _is_number(record[column]):
                violations.append(
                    violation(
                        row,
                        column,
                        "number",
                        f"`{column}` must be a number or null, got {record[column]!r}",
                    )
                )
        for column in sorted(set(record) - set(expected)):
            violations.append(
                violation(
                    row,
                    column,
                    "known",
                    f"unknown feature `{column}`; the model takes {', '.join(expected)}",
                )
            )
    if violations:
        return pd.DataFrame(), violations
    frame = pd.DataFrame.from_records(records, columns=expected).astype(float)
    return frame, []


def _is_number(value: Any) -> bool:
    if value is None:
        return True  # missing: the model's imputer fills it in
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)
