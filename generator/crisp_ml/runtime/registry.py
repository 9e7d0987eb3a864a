"""The MLflow Model Registry (CRISP-ML steps 5.5 and 7.3): versions of the project's model and
the aliases that say which one serves.

The train stage registers every model it logs under the project's registered-model name
(params.yaml ``mlflow.registered_model``, default the experiment name) and records the
version in ``reports/train/run.json``. Serving never loads a file: it asks for an alias,

- ``challenger``: set by ``make promote`` when the evaluation gate said go;
- ``champion``: set by ``python -m crisp_ml.runtime.promote champion --reason ...`` (the
  first go version becomes champion too: there is nothing to compare it with);
- ``previous-champion``: the champion before the last promotion, so rollback is one command.

Registration is deterministic, because run.json is committed and an unchanged rerun must
leave it byte for byte the same: a model whose file hash (tag ``model.sha256``) is already
registered under the name reuses that version instead of creating a new number. A version
number is meaningful in its own store: with the embedded store (``mlflow.db``, gitignored)
each clone numbers its own versions.

Works on any store MLflow's registry supports, the embedded SQLite one included. MLflow is
imported only inside the functions that need it (it is slow to import).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import load_params
from .pipeline import StageError
from .probe import probe_artifacts
from .tracking import (
    MODEL_SHA256_TAG,
    bound_boto,
    check_server_reachable,
    experiment_name,
    tracking_uri,
)

CHAMPION, CHALLENGER, PREVIOUS_CHAMPION = "champion", "challenger", "previous-champion"
ALIASES = (CHAMPION, CHALLENGER, PREVIOUS_CHAMPION)
# Where run.json records the version train registered.
RUN_RECORD_KEY = "registered_model"
# MLflow answers these error codes when a registered model, version or alias does not exist.
NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE")
ALREADY_EXISTS_CODES = ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS")


class RegistryError(StageError):
    """The registry cannot give what was asked; the message names the store and the fix."""


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded from the registry by alias, with what identifies it in the logs."""

    model: Any  # the scikit-learn estimator: predict and predict_proba
    name: str
    version: str
    alias: str
    model_sha256: str | None


def registered_model_name(root: Path, params: dict[str, Any]) -> str:
    """params.yaml's ``mlflow.registered_model``, else the experiment name."""
    settings = params.get("mlflow") or {}
    return str(settings.get("registered_model") or experiment_name(root, params))


def client(root: Path, params: dict[str, Any]) -> tuple[Any, str]:
    """An ``MlflowClient`` on the project's store (tracking and registry), and its URI."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    uri = tracking_uri(root, params)
    check_server_reachable(uri)  # fails in seconds rather than after MLflow's retries
    return MlflowClient(tracking_uri=uri, registry_uri=uri), uri


def _client_of(mlflow_or_client: Any) -> Any:
    """A client from the ``mlflow`` module (on its current store) or a client itself."""
    if hasattr(mlflow_or_client, "MlflowClient"):
        uri = mlflow_or_client.get_tracking_uri()
        return mlflow_or_client.MlflowClient(tracking_uri=uri, registry_uri=uri)
    return mlflow_or_client


def error_code(error: Exception) -> str:
    """MLflow's error code for ``error`` ("" for other exceptions)."""
    return str(getattr(error, "error_code", ""))


def _logged_model_id(mlflow_client: Any, run_id: str, model: str) -> str:
    """The id of the model logged by the run under ``model``: a ``models:/<id>`` URI (what
    ``log_model`` returns) or the artifact path (``name=`` of ``log_model``)."""
    if model.startswith("models:/"):
        return model.removeprefix("models:/").split("/")[0]
    outputs = mlflow_client.get_run(run_id).outputs
    for output in outputs.model_outputs if outputs else ():
        if mlflow_client.get_logged_model(output.model_id).name == model:
            return output.model_id
    raise RegistryError(f"run {run_id} logged no model named {model!r}; log it first")


def find_version(mlflow_client: Any, name: str, model_sha256: str) -> str | None:
    """The oldest version of ``name`` registered for the model file with that hash."""
    versions = mlflow_client.search_model_versions(
        f"name = '{_quoted(name)}' and tags.`{MODEL_SHA256_TAG}` = '{_quoted(model_sha256)}'"
    )
    numbers = sorted(int(version.version) for version in versions)
    return str(numbers[0]) if numbers else None


def _quoted(value: str) -> str:
    """``value`` inside a single-quoted MLflow filter string."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def register(
    mlflow_or_client: Any, run_id: str, model: str, name: str, tags: dict[str, str]
) -> str:
    """Register the model ``run_id`` logged (``model``: its ``models:/<id>`` URI or artifact
    path) as a version of ``name``, tagged ``tags``; returns the version number.

    When ``tags`` has ``model.sha256`` and a version with that hash exists, that version is
    returned instead: the same model file keeps its version number (see the module's
    docstring). The registered model is created on first use.
    """
    from mlflow.exceptions import MlflowException

    mlflow_client = _client_of(mlflow_or_client)
    try:
        mlflow_client.create_registered_model(name)
    except MlflowException as error:
        if error_code(error) not in ALREADY_EXISTS_CODES:
            raise RegistryError(
                f"cannot register {name!r} in the MLflow registry at "
                f"{mlflow_client.tracking_uri} ({error}); the store must support the Model "
                "Registry (the embedded sqlite:///mlflow.db or a tracking server do)"
            ) from error
    sha256 = tags.get(MODEL_SHA256_TAG)
    if sha256 and (existing := find_version(mlflow_client, name, sha256)):
        return existing
    model_id = _logged_model_id(mlflow_client, run_id, model)
    version = mlflow_client.create_model_version(
        name, source=f"models:/{model_id}", run_id=run_id, tags=tags, model_id=model_id
    )
    return str(version.version)


def version_by_alias(mlflow_client: Any, name: str, alias: str) -> Any | None:
    """The ``ModelVersion`` of ``name`` that has ``alias``; None when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        return mlflow_client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error_code(error) in NOT_FOUND_CODES:
            return None
        raise


def load(root: Path, alias: str) -> LoadedModel:
    """The model version of the project's registered model that has ``alias``, loaded with
    MLflow's scikit-learn flavour (so ``predict_proba`` is there).

    The alias is resolved once and the version loaded by number, so the model and the
    version it reports always agree. Every call goes through a client on the project's
    store: MLflow's process-wide tracking and registry URIs are left as they were (a
    library call must not redirect its caller's later ``MlflowClient()``). A missing model,
    alias or artifact is a :class:`RegistryError` naming the store and the command that
    fixes it.
    """
    params = load_params(root / "params.yaml")
    name = registered_model_name(root, params)
    mlflow_client, uri = client(root, params)
    try:
        version = version_by_alias(mlflow_client, name, alias)
    except Exception as error:  # MLflow raises many kinds; all mean "store unusable"
        raise RegistryError(f"cannot read the MLflow registry at {uri} ({error})") from error
    if version is None:
        raise RegistryError(
            f"registered model {name!r} has no version with alias {alias!r} in the MLflow "
            f"registry at {uri}; {_how_to_set(alias)}"
        )
    probe_version_artifacts(mlflow_client, version, uri)
    return LoadedModel(
        model=_load_version(mlflow_client, uri, name, str(version.version)),
        name=name,
        version=str(version.version),
        alias=alias,
        model_sha256=(version.tags or {}).get(MODEL_SHA256_TAG),
    )


def probe_version_artifacts(mlflow_client: Any, version: Any, uri: str) -> None:
    """Probe the artifact store holding a version's files before loading them: a hung
    store is then named in seconds rather than after MLflow's download retries."""
    try:
        location = mlflow_client.get_logged_model(version.model_id).artifact_location
    except Exception:  # an older version without a logged model: MLflow's errors apply
        return
    if str(location).startswith(("s3:", "s3a:")):
        bound_boto()
    probe_artifacts(str(location), uri)


def _how_to_set(alias: str) -> str:
    if alias == CHAMPION:
        return "run `make promote` (the first go version becomes champion)"
    if alias == CHALLENGER:
        return "run `dvc repro`, then `make promote` once the gate says go"
    return f"set it with `python -m crisp_ml.runtime.promote` (aliases: {', '.join(ALIASES)})"


def _load_version(mlflow_client: Any, uri: str, name: str, version: str) -> Any:
    import mlflow.artifacts
    import mlflow.sklearn

    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=_download_uri(mlflow_client, name, version),
            tracking_uri=uri,
            registry_uri=uri,
        )
        # A local folder: the flavour reads its files without asking any store.
        return mlflow.sklearn.load_model(local)
    except Exception as error:  # missing artifacts, wrong flavour, unpicklable: all fatal
        raise RegistryError(
            f"cannot load version {version} of {name!r} from the MLflow registry at {uri}"
            f" ({error}); were its artifacts (mlartifacts/) deleted? `dvc repro --force train`"
            " registers the model again"
        ) from error


def _download_uri(mlflow_client: Any, name: str, version: str) -> str:
    """Where the files of version ``version`` of ``name`` are, asked of ``mlflow_client``.

    Not ``models:/name/version`` handed to MLflow's loaders: those resolve it with the
    process-wide registry URI, whatever store the client is on.
    """
    location = str(mlflow_client.get_model_version_download_uri(name, version))
    if location.startswith("models:/"):  # a logged model's id (``models:/m-...``)
        model_id = location.removeprefix("models:/").split("/")[0]
        location = str(mlflow_client.get_logged_model(model_id).artifact_location)
    return location
