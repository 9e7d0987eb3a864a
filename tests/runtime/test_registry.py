"""Registry: train registers each model once per model file; serving loads it by alias."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from crisp_ml.runtime.registry import (
    CHALLENGER,
    CHAMPION,
    RegistryError,
    load,
    register,
    registered_model_name,
)
from crisp_ml.runtime.tracking import MODEL_SHA256_TAG

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Importing MLflow and logging the module's model take about 20 seconds.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A real SQLite store holding one run with a tiny logged scikit-learn model.

    Logged once for the module (logging a model takes seconds); each test registers it under
    a name of its own, so tests do not see one another's versions.
    """
    import mlflow

    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("registry", artifact_location=(folder / "art").as_uri())
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    with mlflow.start_run(experiment_id=experiment) as run:
        info = mlflow.sklearn.log_model(model, name="model")
    # set_tracking_uri exports MLFLOW_TRACKING_URI: leave the environment as it was.
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous
    return {"uri": uri, "run_id": run.info.run_id, "model_uri": info.model_uri}


@pytest.fixture
def project(tmp_path: Path, logged: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose params.yaml names the shared store and a registered model of its own."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", logged["uri"])
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", logged["uri"])
    name = f"model-{tmp_path.name}"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"mlflow": {"registered_model": name}}))
    return tmp_path


@pytest.fixture
def mlflow_settings() -> Iterator[None]:
    """MLflow's process-wide tracking and registry URIs, put back after the test exactly as
    they were (the raw settings: get_*_uri() resolve defaults, and pinning a resolved default
    would itself leak into later tests). The variables set_*_uri exports are monkeypatch's."""
    from mlflow.tracking._model_registry import utils as registry_settings
    from mlflow.tracking._tracking_service import utils as tracking_settings

    saved = tracking_settings._tracking_uri, registry_settings._registry_uri
    yield
    tracking_settings._tracking_uri, registry_settings._registry_uri = saved


def _client(logged: dict[str, str]) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=logged["uri"], registry_uri=logged["uri"])


def _name(project: Path) -> str:
    return registered_model_name(project, yaml.safe_load((project / "params.yaml").read_text()))


def test_the_registered_model_is_named_in_params_else_after_the_experiment(
    tmp_path: Path,
) -> None:
    assert registered_model_name(tmp_path, {"mlflow": {"registered_model": "churn"}}) == "churn"
    assert registered_model_name(tmp_path, {"mlflow": {"experiment": "exp"}}) == "exp"
    assert registered_model_name(tmp_path, {}) == tmp_path.resolve().name


def test_registering_creates_the_model_and_a_tagged_version(
    project: Path, logged: dict[str, str]
) -> None:
    client = _client(logged)
    name = _name(project)
    version = register(client, logged["run_id"], logged["model_uri"], name, {MODEL_SHA256_TAG: "a"})
    assert version == "1"
    registered = client.get_model_version(name, version)
    assert registered.tags[MODEL_SHA256_TAG] == "a"
    assert registered.run_id == logged["run_id"]


def test_the_same_model_file_keeps_its_version_and_a_new_one_gets_the_next(
    project: Path, logged: dict[str, str]
) -> None:
    client = _client(logged)
    name = _name(project)
    args = (client, logged["run_id"], logged["model_uri"], name)
    first = register(*args, {MODEL_SHA256_TAG: "same"})
    assert register(*args, {MODEL_SHA256_TAG: "same"}) == first
    other = register(*args, {MODEL_SHA256_TAG: "other"})
    assert int(other) == int(first) + 1
    assert register(*args, {MODEL_SHA256_TAG: "same"}) == first


def test_the_mlflow_module_and_an_artifact_path_work_too(
    project: Path, logged: dict[str, str]
) -> None:
    import mlflow

    mlflow.set_tracking_uri(logged["uri"])
    version = register(mlflow, logged["run_id"], "model", _name(project), {})
    assert (
        _client(logged).get_model_version(_name(project), version).source.startswith("models:/m-")
    )


def test_an_artifact_path_the_run_did_not_log_is_a_clear_error(
    project: Path, logged: dict[str, str]
) -> None:
    with pytest.raises(RegistryError, match="logged no model named 'nope'"):
        register(_client(logged), logged["run_id"], "nope", _name(project), {})


def test_serving_loads_a_version_by_alias_with_predict_proba(
    project: Path, logged: dict[str, str]
) -> None:
    client = _client(logged)
    name = _name(project)
    version = register(client, logged["run_id"], logged["model_uri"], name, {MODEL_SHA256_TAG: "h"})
    client.set_registered_model_alias(name, CHAMPION, version)
    loaded = load(project, CHAMPION)
    assert (loaded.name, loaded.version, loaded.alias, loaded.model_sha256) == (
        name,
        version,
        CHAMPION,
        "h",
    )
    assert loaded.model.predict_proba(np.array([[3.0]]))[0][1] > 0.5


def test_a_missing_alias_names_the_store_and_the_next_step(
    project: Path, logged: dict[str, str]
) -> None:
    name = _name(project)
    register(_client(logged), logged["run_id"], logged["model_uri"], name, {})
    with pytest.raises(RegistryError) as error:
        load(project, CHALLENGER)
    assert logged["uri"] in str(error.value)
    assert "make promote" in str(error.value)


def test_a_model_never_registered_is_a_clear_error_too(project: Path) -> None:
    with pytest.raises(RegistryError, match=f"{_name(project)!r} has no version with alias"):
        load(project, CHAMPION)


def test_loading_leaves_mlflow_process_wide_uris_as_the_caller_set_them(
    project: Path,
    logged: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mlflow_settings: None,
) -> None:
    import mlflow

    settings = yaml.safe_load((project / "params.yaml").read_text())
    settings["mlflow"]["tracking_uri"] = logged["uri"]
    (project / "params.yaml").write_text(yaml.safe_dump(settings))
    client = _client(logged)
    name = _name(project)
    # Registering as train does, on the project's store: MLflow's SQLite registry looks the
    # logged model up through the process-wide tracking URI.
    mlflow.set_tracking_uri(logged["uri"])
    version = register(client, logged["run_id"], logged["model_uri"], name, {})
    client.set_registered_model_alias(name, CHAMPION, version)
    # Then the caller's own MLflow points elsewhere; the project names its store in params.
    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    mlflow.set_tracking_uri(elsewhere)
    mlflow.set_registry_uri(elsewhere)
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI")

    loaded = load(project, CHAMPION)

    assert loaded.version == version
    assert loaded.model.predict(np.array([[0.0]]))[0] == 0
    assert (mlflow.get_tracking_uri(), mlflow.get_registry_uri()) == (elsewhere, elsewhere)
    assert "MLFLOW_TRACKING_URI" not in os.environ and "MLFLOW_REGISTRY_URI" not in os.environ
