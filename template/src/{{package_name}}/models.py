"""Model construction (CRISP-ML steps 5.3 and 5.5): the baseline and the real model.

Both are scikit-learn pipelines whose first step applies the preprocessing the prepare stage
decided, so it is fitted on the training rows only and a saved model takes prepared features
as they are, which are the features a client sends: numeric features go through log1p when
prepare says so (``log_transform``), then are imputed and standardised; categorical ones
(the data catalog's categorical, boolean and string columns) are put in their canonical
text, given a ``missing`` category and one-hot encoded, ignoring categories training never
saw.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from crisp_ml.runtime.config import ConfigError
from crisp_ml.runtime.schema import as_category_text
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

ESTIMATORS: dict[str, dict[str, Any]] = {
    "classification": {
        "random_forest": RandomForestClassifier,
        "gradient_boosting": GradientBoostingClassifier,
        "logistic_regression": LogisticRegression,
    },
    "regression": {
        "random_forest": RandomForestRegressor,
        "gradient_boosting": GradientBoostingRegressor,
        "ridge": Ridge,
    },
}
BASELINE_STRATEGIES = {
    "classification": ("most_frequent", "prior", "stratified", "uniform"),
    "regression": ("mean", "median"),
}


MISSING_CATEGORY = "(missing)"


def numeric_preprocessing(decisions: dict[str, Any], *, log1p: bool = False) -> Pipeline:
    """log1p if asked, then imputation and, if decided, standardisation of numeric features."""
    steps: list[tuple[str, Any]] = []
    if log1p:  # before imputing: a missing value stays missing, then gets the logged median
        steps.append(("log1p", FunctionTransformer(np.log1p, feature_names_out="one-to-one")))
    steps.append(("impute", SimpleImputer(strategy=decisions["imputation"])))
    if decisions.get("standardize"):
        steps.append(("scale", StandardScaler()))
    return Pipeline(steps)


def categorical_preprocessing() -> Pipeline:
    """Canonical text, a category for missing values, then one column per category."""
    return Pipeline(
        [
            ("text", FunctionTransformer(as_category_text, feature_names_out="one-to-one")),
            ("impute", SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY)),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )


def preprocessing(decisions: dict[str, Any]) -> list[tuple[str, Any]]:
    """The pipeline step for the prepare stage's ``model_preprocessing`` decisions: the
    categorical features (``categorical``) encoded, the ``log1p`` ones logged, every other
    feature numeric."""
    categorical = list(decisions.get("categorical") or [])
    logged = [name for name in decisions.get("log1p") or [] if name not in categorical]
    parts: list[tuple[str, Any, list[str]]] = [
        ("categorical", categorical_preprocessing(), categorical)
    ]
    if logged:
        parts.append(("logged", numeric_preprocessing(decisions, log1p=True), logged))
    transformer = ColumnTransformer(
        parts,
        remainder=numeric_preprocessing(decisions),
        verbose_feature_names_out=False,
    )
    return [("preprocess", transformer)]


def build_model(task: str, settings: dict[str, Any], decisions: dict[str, Any]) -> Pipeline:
    """The model named by ``train.model`` with its hyperparameters from ``train.<model>``."""
    name = settings.get("model")
    choices = ESTIMATORS[task]
    if name not in choices:
        raise ConfigError(
            f"params.yaml: train.model must be one of {', '.join(choices)} for {task}; got {name!r}"
        )
    hyperparameters = dict(settings.get(name) or {})
    if task == "classification" and name != "gradient_boosting":
        hyperparameters.setdefault("class_weight", settings.get("class_weight"))
    try:
        estimator = choices[name](**hyperparameters)
    except TypeError as error:
        raise ConfigError(f"params.yaml: train.{name} has a bad setting: {error}") from error
    return Pipeline([*preprocessing(decisions), ("model", estimator)])


def build_baseline(task: str, strategy: str, decisions: dict[str, Any], seed: int) -> Pipeline:
    """A model that ignores the features: the bar every real model must clear."""
    if strategy not in BASELINE_STRATEGIES[task]:
        choices = ", ".join(BASELINE_STRATEGIES[task])
        raise ConfigError(
            f"params.yaml: baseline.strategy must be one of {choices} for {task}; got {strategy!r}"
        )
    if task == "classification":
        estimator: Any = DummyClassifier(strategy=strategy, random_state=seed)
    else:
        estimator = DummyRegressor(strategy=strategy)
    return Pipeline([*preprocessing(decisions), ("model", estimator)])


def hyperparameters(model: Pipeline) -> dict[str, Any]:
    """The final estimator's parameters, for logging (simple values only)."""
    params = model.named_steps["model"].get_params()
    return {key: value for key, value in params.items() if isinstance(value, str | int | float)}


def predictions(model: Any, features: Any, task: str) -> tuple[Any, Any, Any]:
    """Predicted values and, for classifiers, the class probabilities and the class of each
    probability column (None and None for regressors): the arguments of ``compute_all``."""
    if task != "classification":
        return model.predict(features), None, None
    return model.predict(features), model.predict_proba(features), model.classes_
