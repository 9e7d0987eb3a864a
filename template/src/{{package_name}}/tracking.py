"""MLflow experiment tracking (CRISP-ML step 5.1): where runs go and what identifies them.

By default runs go to an embedded store: the SQLite file ``mlflow.db`` and the folder
``mlartifacts/`` at the project root (both gitignored). ``mlflow.tracking_uri`` in
params.yaml names a tracking server instead, and the ``MLFLOW_TRACKING_URI`` environment
variable overrides both. Every run is tagged with the git commit and the DVC data versions
(the hashes ``dvc.lock`` records for the raw data, the prepared dataset and the split), so a
run can always be traced back to exact code and data.

MLflow is imported only inside :func:`start_run`: it is slow to import and most stages never
need it. Telemetry is switched off before the import; nothing here calls the network unless
a tracking server is configured.
"""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from .pipeline import PREPARED_DIR, RAW_DIR, SPLIT_FILE, StageError

DATABASE_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"
# The DVC outputs that identify a run's data, by tag name.
DATA_OUTPUTS = {"raw": RAW_DIR, "dataset": PREPARED_DIR, "split": SPLIT_FILE}
# `dvc exp run --queue/--temp` works in a copy of the repo under this folder; runs must still
# land in the real project's store.
DVC_TEMP_EXPERIMENTS = (".dvc", "tmp", "exps")
# MLflow retries an unreachable server for about four minutes; a probe answers in seconds.
SERVER_PROBE_SECONDS = 10


def tracking_root(root: Path) -> Path:
    """The project that owns the embedded store, even from a DVC temporary experiment copy."""
    parts = root.resolve().parts
    for index in range(len(parts) - len(DVC_TEMP_EXPERIMENTS) + 1):
        if parts[index : index + len(DVC_TEMP_EXPERIMENTS)] == DVC_TEMP_EXPERIMENTS:
            return Path(*parts[:index])
    return root.resolve()


def tracking_uri(root: Path, params: dict[str, Any]) -> str:
    """Environment first, then params.yaml's ``mlflow.tracking_uri``, then the embedded store.

    The embedded store's URI is absolute: a relative one would follow the working directory.
    """
    if uri := os.environ.get("MLFLOW_TRACKING_URI"):
        return uri
    if uri := (params.get("mlflow") or {}).get("tracking_uri"):
        return str(uri)
    return f"sqlite:///{tracking_root(root) / DATABASE_FILE}"


def git_commit(root: Path) -> str | None:
    """The checked-out commit, or None outside a git repository (or without git)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def data_versions(root: Path) -> dict[str, str]:
    """DVC's hash of each data output, by name, as recorded in ``dvc.lock``.

    DVC writes each stage's entry as soon as the stage finishes, so during ``dvc repro`` the
    entries of upstream stages are current. Outputs not in the lock file are left out.
    """
    try:
        lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    hashes: dict[str, str] = {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            hashes[str(out.get("path"))] = str(out.get("md5") or out.get("etag") or "")
    return {name: hashes[str(path)] for name, path in DATA_OUTPUTS.items() if hashes.get(str(path))}


def run_tags(root: Path, stage: str) -> dict[str, str]:
    """Tags that tie a run to its stage, code and data."""
    tags = {"stage": stage}
    if commit := git_commit(root):
        tags["mlflow.source.git.commit"] = commit  # the tag MLflow's UI shows
    for name, version in data_versions(root).items():
        tags[f"dvc.{name}.md5"] = version
    if "dvc.dataset.md5" in tags:
        tags["data_version"] = tags["dvc.dataset.md5"]
    return tags


def check_server_reachable(uri: str) -> None:
    """A StageError at once when nothing answers at a tracking server's host and port.

    Skipped for other stores and when a proxy carries the traffic (only the proxy is
    reachable then); MLflow's own errors still apply.
    """
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    proxies = urllib.request.getproxies()
    if (parts.scheme in proxies or "all" in proxies) and not urllib.request.proxy_bypass(
        parts.hostname
    ):
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=SERVER_PROBE_SECONDS):
            pass
    except OSError as error:
        raise StageError(
            f"cannot reach the MLflow tracking server {uri} ({error}); start it or connect to "
            "its network, or track locally for now with "
            "MLFLOW_TRACKING_URI=sqlite:///$PWD/mlflow.db"
        ) from None


def _experiment_id(mlflow: Any, name: str, uri: str, root: Path) -> str:
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    if uri.startswith("sqlite:"):
        # Keep artifacts beside the embedded database, whatever the working directory.
        artifacts = (tracking_root(root) / ARTIFACTS_DIR).as_uri()
        return mlflow.create_experiment(name, artifact_location=artifacts)
    return mlflow.create_experiment(name)


@contextmanager
def start_run(root: Path, params: dict[str, Any], stage: str) -> Iterator[Any]:
    """An active MLflow run for ``stage``, tagged with its code and data versions.

    Yields the ``mlflow`` module, so callers log without importing it themselves.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    settings = params.get("mlflow") or {}
    uri = tracking_uri(root, params)
    check_server_reachable(uri)
    mlflow.set_tracking_uri(uri)
    name = str(settings.get("experiment") or tracking_root(root).name)
    try:
        experiment_id = _experiment_id(mlflow, name, uri, root)
    except Exception as error:  # MLflow raises many kinds; all mean "store unusable"
        raise StageError(
            f"cannot use the MLflow tracking store {uri} ({error}); check "
            "MLFLOW_TRACKING_URI or mlflow.tracking_uri in params.yaml"
        ) from error
    with mlflow.start_run(
        experiment_id=experiment_id, run_name=stage, tags=run_tags(root, stage)
    ) as run:
        yield mlflow
        print(f"{stage}: logged MLflow run {run.info.run_id} to {uri}")


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``: nested settings as MLflow params."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
