"""The models the serving app answers with: champion and challenger, loaded by registry alias.

Serving never reads a model file: it asks the MLflow registry for ``models:/<name>@champion``
and ``@challenger`` (``crisp_ml.runtime.registry.load``), so promoting a model is an alias
move and a restart, not a deployment of files. With no distinct challenger the champion
serves alone; with no champion there is nothing to serve and the app refuses to start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ConfigError
from .registry import LoadedModel
from .router import CHALLENGER, CHAMPION


class ServingError(ConfigError):
    """The app cannot serve: the message names what is missing and how to fix it."""


@dataclass(frozen=True)
class Scored:
    """One arm's answer to a batch: labels or values, and class probabilities if any."""

    predictions: list[Any]
    probabilities: list[dict[str, float]] | None


class Scorer:
    """Wraps a loaded model so the router's one ``predict`` call yields probabilities too."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.model = loaded.model
        self.classes = [_plain(c) for c in getattr(self.model, "classes_", [])]

    @property
    def is_classifier(self) -> bool:
        return bool(self.classes) and hasattr(self.model, "predict_proba")

    @property
    def features(self) -> list[str] | None:
        names = getattr(self.model, "feature_names_in_", None)
        return None if names is None else [str(name) for name in names]

    def predict(self, frame: pd.DataFrame) -> Scored:
        if not self.is_classifier:
            return Scored([_plain(value) for value in self.model.predict(frame)], None)
        # One pass through the model: a classifier's answer is its most probable class (as
        # scikit-learn's forests, boosting and linear models decide), so predict_proba alone
        # gives both, at half the cost of calling predict as well.
        rows = self.model.predict_proba(frame)
        predictions = [self.classes[index] for index in rows.argmax(axis=1)]
        labels = [str(c) for c in self.classes]
        probabilities = [dict(zip(labels, map(float, row), strict=True)) for row in rows]
        return Scored(predictions, probabilities)


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON can carry."""
    return value.item() if hasattr(value, "item") else value


def load_arms(
    root: Path, params: dict[str, Any], tracking: str
) -> tuple[LoadedModel, LoadedModel | None]:
    """The champion, and the challenger when it is a different version (else None)."""
    try:
        champion = load_alias(root, params, CHAMPION)
        challenger = load_alias(root, params, CHALLENGER)
    except ServingError:
        raise
    except Exception as error:  # MLflow and the registry raise many kinds: all fatal here
        raise ServingError(f"cannot load the models from {tracking}: {error}") from error
    if champion is None:
        raise ServingError(f"no model has the alias champion in {tracking}: run `make promote`")
    if challenger is not None and challenger.version == champion.version:
        challenger = None
    return champion, challenger


def load_alias(root: Path, params: dict[str, Any], alias: str) -> LoadedModel | None:
    """The model version with ``alias``; None when no version has it."""
    # Asked first, so that "no such alias" (None) differs from "the store is unusable".
    from . import registry

    mlflow_client, _ = registry.client(root, params)
    name = registry.registered_model_name(root, params)
    if registry.version_by_alias(mlflow_client, name, alias) is None:
        return None
    return registry.load(root, alias)
