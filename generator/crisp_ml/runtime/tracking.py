"""MLflow experiment tracking (CRISP-ML step 5.1): where runs go and what identifies them.

By default runs go to an embedded store: the SQLite file ``mlflow.db`` and the folder
``mlartifacts/`` at the project root (both gitignored). ``mlflow.tracking_uri`` in
params.yaml names a tracking server instead, and the ``MLFLOW_TRACKING_URI`` environment
variable overrides both. Every run is tagged with the git commit and the DVC data versions
(the hashes ``dvc.lock`` records for the raw data, the prepared dataset and the split), so a
run can always be traced back to exact code and data.

Every run also carries ``crisp.git.state``, saying how far that commit describes its code:

- ``clean``: the code is exactly the commit (changes to pipeline outputs aside);
- ``dirty``: tracked files had uncommitted changes (listed in ``crisp.git.changes``);
- ``uncommitted``: the repository has no commit yet (``copier copy`` makes none);
- ``no-git``: not in a git repository, or git could not answer.

Anything but ``clean`` is printed as one line on stderr: commit, then rerun the stage with
``dvc repro --force <stage>``. DVC experiments queued or run with ``--temp`` work in a copy
of the repository under ``.dvc/tmp/exps/``, a git repository of its own at the experiment's
baseline commit plus its changes; git is asked there, so the tags describe that copy.

MLflow is imported only inside :func:`start_run`: it is slow to import and most stages never
need it. Telemetry is switched off before the import; nothing here calls the network unless
a tracking server is configured.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .pipeline import PREPARED_DIR, RAW_DIR, SPLIT_FILE, StageError
from .probe import mask, probe_artifacts, probe_tracking

DATABASE_FILE = "mlflow.db"
ARTIFACTS_DIR = "mlartifacts"
# How files committed to git name the embedded store: the same on every machine and copy.
EMBEDDED_STORE = f"sqlite:///{DATABASE_FILE}"
# Stores that are files on one machine, and how a committed file names one outside the
# project that params.yaml does not name (its real path would say whose machine it is).
LOCAL_SCHEMES = ("sqlite", "file")
MACHINE_LOCAL = "<machine-local>"
# The DVC outputs that identify a run's data, by tag name.
DATA_OUTPUTS = {"raw": RAW_DIR, "dataset": PREPARED_DIR, "split": SPLIT_FILE}
# `dvc exp run --queue/--temp` works in a copy of the repo under this folder; runs must still
# land in the real project's store.
DVC_TEMP_EXPERIMENTS = (".dvc", "tmp", "exps")
# MLflow's defaults retry a failing server for about four minutes, 120 s per attempt; with
# these, a hung server fails a call in ~26 s (12 s, a 1-1.5 s pause, 12 s). A larger model
# upload through the artifact proxy may need more: set MLFLOW_HTTP_REQUEST_TIMEOUT.
HTTP_BUDGET = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "12",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    # On, a failing multipart download through the proxy retried for over 400 s.
    "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
    "AWS_MAX_ATTEMPTS": "2",
    "AWS_RETRY_MODE": "standard",
}
S3_CONNECT_SECONDS, S3_READ_SECONDS = 5, 20
# Ending a failed run must not wait on a server that is gone: one short attempt per call.
CLEANUP_BUDGET = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "3", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
FAILED, PENDING = "FAILED", "PENDING"
GIT_TIMEOUT_SECONDS = 10

GIT_COMMIT_TAG = "mlflow.source.git.commit"  # the tag MLflow's UI shows
GIT_STATE_TAG = "crisp.git.state"
GIT_CHANGES_TAG = "crisp.git.changes"
MODEL_SHA256_TAG = "model.sha256"
WARNING_TAG = "crisp.warning"
CLEAN, DIRTY, UNCOMMITTED, NO_GIT = "clean", "dirty", "uncommitted", "no-git"
# Enough changed paths to see what was going on, well under MLflow's tag length limit.
MAX_LISTED_CHANGES = 20
# `dvc repro` itself rewrites these while the stages run: changes to them are not code.
LOCK_FILE = "dvc.lock"
OUTPUT_KINDS = ("outs", "metrics", "plots")


@dataclass(frozen=True)
class GitState:
    """How a run's code relates to git: ``state`` is clean, dirty, uncommitted or no-git."""

    state: str
    commit: str | None = None
    changes: tuple[str, ...] = ()


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


def public_uri(uri: str, root: Path) -> str:
    """``uri`` fit for a committed file (run.json, the audit trail, the monitoring history):
    where the model lives, without what is secret or true on one machine only.

    - no ``user:password@`` and no query string or fragment (tokens travel there);
    - the embedded store as ``sqlite:///mlflow.db`` and any other store file inside the
      project as a project-relative path, the same on every clone;
    - a store file elsewhere only as params.yaml's ``mlflow.tracking_uri`` names it (already
      committed, so a shared mount the team chose); any other outside path (a
      ``MLFLOW_TRACKING_URI`` pointing into someone's home) as ``<machine-local>/<file>``.
    """
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme in LOCAL_SCHEMES:
        return _public_local(uri, parts, root)
    host = parts.netloc.rpartition("@")[2]  # userinfo ends at the last @
    return urllib.parse.urlunsplit(parts._replace(netloc=host, query="", fragment=""))


def _public_local(uri: str, parts: urllib.parse.SplitResult, root: Path) -> str:
    """A ``sqlite:`` or ``file:`` store as :func:`public_uri` writes it. SQLAlchemy writes an
    absolute path with four slashes (``sqlite:////srv/x.db``), a file URI with three."""
    if parts.scheme == "sqlite":
        prefix, path = "sqlite:///", uri.removeprefix("sqlite:///").split("?", 1)[0]
    else:
        prefix, path = "file:", parts.path
    if not Path(path).is_absolute():
        return prefix + path  # relative to the working directory: nothing of this machine
    project = tracking_root(root)
    store = Path(path).resolve()
    if store == (project / DATABASE_FILE).resolve():
        return EMBEDDED_STORE
    if store.is_relative_to(project):
        return prefix + store.relative_to(project).as_posix()
    if uri == _configured_uri(root):
        return uri
    return f"{prefix}{MACHINE_LOCAL}/{store.name}"


def _configured_uri(root: Path) -> str | None:
    """params.yaml's ``mlflow.tracking_uri`` as written, or None (unset or unreadable)."""
    try:
        params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    section = params.get("mlflow") if isinstance(params, dict) else None
    uri = section.get("tracking_uri") if isinstance(section, dict) else None
    return uri if isinstance(uri, str) else None


def experiment_name(root: Path, params: dict[str, Any]) -> str:
    """params.yaml's ``mlflow.experiment``, else the project folder's name."""
    settings = params.get("mlflow") or {}
    return str(settings.get("experiment") or tracking_root(root).name)


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes: what ties a model file to the run that trained it."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _git(root: Path, *args: str) -> str | None:
    """git's output for ``args`` in ``root``; None when git is missing, fails or hangs."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def git_commit(root: Path) -> str | None:
    """The checked-out commit, or None before the first commit, outside git or without git."""
    out = _git(root, "rev-parse", "--verify", "--quiet", "HEAD")
    return (out or "").strip() or None


def git_state(root: Path) -> GitState:
    """What git says about the code in ``root`` (see the module's docstring)."""
    # The prefix of root inside its repository ("" at the top): status names paths from
    # the top, dvc.yaml names them from root.
    prefix = _git(root, "rev-parse", "--show-prefix")
    if prefix is None:
        return GitState(NO_GIT)
    commit = git_commit(root)
    if commit is None:
        return GitState(UNCOMMITTED)
    # --no-optional-locks: a status running beside the user's own git commands must not
    # take the index lock from them.
    status = _git(
        root,
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=no",
    )
    if status is None:
        return GitState(NO_GIT)
    outputs = [prefix.strip() + path for path in pipeline_outputs(root)]
    changes = tuple(path for path in changed_paths(status) if not _covered(path, outputs))
    return GitState(DIRTY if changes else CLEAN, commit, changes)


def changed_paths(porcelain: str) -> list[str]:
    """The paths of ``git status --porcelain=v1 -z``: ``XY path``, and for a rename or copy
    one more entry, its source path."""
    entries = porcelain.split("\0")
    paths: list[str] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            paths.append(entries[index])
            index += 1
    return [path for path in paths if path]


def pipeline_outputs(root: Path) -> list[str]:
    """dvc.lock and every path dvc.yaml declares as an output, metric or plot (relative to
    ``root``): ``dvc repro`` changes them while it runs, so they do not make code dirty."""
    try:
        pipeline = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        pipeline = {}
    if not isinstance(pipeline, dict):
        pipeline = {}
    paths = [LOCK_FILE, *_declared_paths(pipeline, "")]
    stages = pipeline.get("stages")
    for stage in stages.values() if isinstance(stages, dict) else ():
        if isinstance(stage, dict):
            wdir = stage.get("wdir") if isinstance(stage.get("wdir"), str) else ""
            paths.extend(_declared_paths(stage, wdir))
    return paths


def _declared_paths(section: dict[str, Any], wdir: str) -> Iterator[str]:
    """The paths of a stage's (or the top level's) outs, metrics and plots lists, each entry
    a path or a one-key mapping ``{path: options}``."""
    for kind in OUTPUT_KINDS:
        entries = section.get(kind)
        for entry in entries if isinstance(entries, list) else ():
            names = [entry] if isinstance(entry, str) else entry if isinstance(entry, dict) else []
            for name in names:
                if isinstance(name, str) and "${" not in name:
                    yield os.path.normpath(os.path.join(wdir, name)).replace(os.sep, "/")


def _covered(path: str, outputs: list[str]) -> bool:
    return any(path == output or path.startswith(output.rstrip("/") + "/") for output in outputs)


def untraceable_warning(stage: str, git: GitState) -> str | None:
    """The line a stage prints when its run cannot be traced to a commit; None when clean."""
    rerun = f"commit, then `dvc repro --force {stage}`"
    if git.state == UNCOMMITTED:
        return f"{stage}: no git commit yet; this run is tagged uncommitted: {rerun}"
    if git.state == NO_GIT:
        return f"{stage}: not in a git repository (or git failed); this run is tagged no-git"
    if git.state == DIRTY:
        shown = ", ".join(git.changes[:3]) + (", ..." if len(git.changes) > 3 else "")
        return (
            f"{stage}: uncommitted changes to {len(git.changes)} tracked file(s) ({shown});"
            f" this run is tagged dirty: {rerun}"
        )
    return None


def data_versions(root: Path) -> dict[str, str]:
    """DVC's hash of each data output, by name, as recorded in ``dvc.lock``.

    DVC writes each stage's entry as soon as the stage finishes, so during ``dvc repro`` the
    entries of upstream stages are current. Outputs not in the lock file are left out.
    """
    try:
        lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    stages = lock.get("stages") if isinstance(lock, dict) else None
    hashes: dict[str, str] = {}
    for stage in stages.values() if isinstance(stages, dict) else ():
        outs = stage.get("outs") if isinstance(stage, dict) else None
        for out in outs if isinstance(outs, list) else ():
            if isinstance(out, dict):
                hashes[str(out.get("path"))] = str(out.get("md5") or out.get("etag") or "")
    return {name: hashes[str(path)] for name, path in DATA_OUTPUTS.items() if hashes.get(str(path))}


def run_tags(root: Path, stage: str, git: GitState | None = None) -> dict[str, str]:
    """Tags that tie a run to its stage, code and data."""
    git = git or git_state(root)
    tags = {"stage": stage, GIT_STATE_TAG: git.state}
    if git.commit:
        tags[GIT_COMMIT_TAG] = git.commit
    if git.changes:
        listed = git.changes[:MAX_LISTED_CHANGES]
        more = len(git.changes) - len(listed)
        tags[GIT_CHANGES_TAG] = ", ".join(listed) + (f" and {more} more" if more else "")
    for name, version in data_versions(root).items():
        tags[f"dvc.{name}.md5"] = version
    if "dvc.dataset.md5" in tags:
        tags["data_version"] = tags["dvc.dataset.md5"]
    return tags


def set_http_budget() -> None:
    """MLflow's and boto's timeouts and retries, where the user has not set them: a hung
    server then fails a call in about 30 s instead of MLflow's ~4 minutes (7 retries of up
    to 120 s each). MLflow reads these variables at every request."""
    for name, value in HTTP_BUDGET.items():
        os.environ.setdefault(name, value)


def bound_boto() -> None:
    """Connect and read timeouts for the boto3 clients MLflow creates for ``s3://``
    artifacts: boto has no environment variable for them and waits 60 s per read."""
    try:
        import boto3
        import botocore.session
        from botocore.config import Config
    except ImportError:  # no S3 client to bound; probe_artifacts says what to install
        return
    if boto3.DEFAULT_SESSION is not None:  # the user set one up: theirs to configure
        return
    session = botocore.session.get_session()
    session.set_default_client_config(
        Config(connect_timeout=S3_CONNECT_SECONDS, read_timeout=S3_READ_SECONDS)
    )
    boto3.setup_default_session(botocore_session=session)


def check_server_reachable(uri: str, *, artifacts: bool = False) -> None:
    """A :class:`~crisp_ml.runtime.probe.ProbeError` (a StageError) within seconds when the
    tracking server at ``uri`` or its backend database does not answer (and, with
    ``artifacts``, the artifact store behind its proxy). Sets the HTTP budget first.

    Other stores (the embedded SQLite one) pass; MLflow's own errors still apply to them.
    """
    set_http_budget()
    probe_tracking(uri)
    if artifacts:
        probe_artifacts("mlflow-artifacts:/", uri)


def _experiment(mlflow: Any, name: str, uri: str, root: Path) -> Any:
    """The experiment ``name``, created on first use."""
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment
    if uri.startswith("sqlite:"):
        # Keep artifacts beside the embedded database, whatever the working directory.
        artifacts = (tracking_root(root) / ARTIFACTS_DIR).as_uri()
        return mlflow.get_experiment(mlflow.create_experiment(name, artifact_location=artifacts))
    return mlflow.get_experiment(mlflow.create_experiment(name))


def _experiment_id(mlflow: Any, name: str, uri: str, root: Path) -> str:
    return _experiment(mlflow, name, uri, root).experiment_id


def probe_experiment_artifacts(experiment: Any, uri: str) -> None:
    """Probe the store the run's artifacts will go to, before the stage spends its time."""
    location = str(experiment.artifact_location or "")
    if location.startswith(("s3:", "s3a:")):
        bound_boto()
    probe_artifacts(location, uri)


@contextmanager
def _budget(settings: dict[str, str]) -> Iterator[None]:
    """``settings`` in the environment for a while (MLflow reads them at each request)."""
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def end_failed(mlflow: Any, run: Any, stage: str) -> None:
    """End ``run`` as FAILED, and its logged models still PENDING as FAILED too, with one
    short attempt per call: when the server is gone this gives up within seconds and says so
    rather than hang the failing stage (MLflow still drops the run as its active one)."""
    from mlflow.entities import LoggedModelStatus

    run_id = run.info.run_id
    with _budget(CLEANUP_BUDGET):
        try:
            client = mlflow.MlflowClient()
            # MLflow 3.17's search cannot filter on status (stored as a number): filter here.
            models = client.search_logged_models(
                experiment_ids=[run.info.experiment_id],
                filter_string=f"source_run_id = '{run_id}'",
            )
            for model in models:
                if str(getattr(model.status, "value", model.status)) == PENDING:
                    client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
        except Exception as error:  # the store is what failed: report, keep the real error
            print(
                f"{stage}: could not mark the run's logged models FAILED ({_short(error)})",
                file=sys.stderr,
            )
        try:
            mlflow.end_run(FAILED)
        except Exception as error:
            print(
                f"{stage}: could not mark MLflow run {run_id} FAILED ({_short(error)}): it may"
                " show as RUNNING until the tracking store is back",
                file=sys.stderr,
            )


def _short(error: Exception) -> str:
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__


class Terminated(SystemExit):
    """SIGTERM arrived during a run (``dvc`` stopping, a CI job cancelled)."""


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """SIGTERM as an exception inside the block, so the run is ended FAILED before exit;
    left alone off the main thread or when someone else already handles SIGTERM."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
    except ValueError:
        previous = None
    if previous is not signal.SIG_DFL:
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(128 + signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def start_run(
    root: Path,
    params: dict[str, Any],
    stage: str,
    *,
    tags: dict[str, str] | None = None,
    git: GitState | None = None,
) -> Iterator[Any]:
    """An active MLflow run for ``stage``, tagged with its code and data versions (and
    ``tags``). ``git`` is the code's state when the caller needs it too (train records it).

    Yields the ``mlflow`` module, so callers log without importing it themselves. The
    tracking server, its database and its artifact store are probed first (a
    :class:`~crisp_ml.runtime.probe.ProbeError` in seconds); a body that raises, or is
    interrupted (Ctrl-C, SIGTERM), ends the run FAILED.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    git = git or git_state(root)
    uri = tracking_uri(root, params)
    check_server_reachable(uri)
    mlflow.set_tracking_uri(uri)
    name = experiment_name(root, params)
    try:
        experiment = _experiment(mlflow, name, uri, root)
    except Exception as error:  # MLflow raises many kinds; all mean "store unusable"
        raise StageError(
            f"cannot use the MLflow tracking store {mask(uri)} ({_short(error)}); check "
            "MLFLOW_TRACKING_URI or mlflow.tracking_uri in params.yaml"
        ) from error
    probe_experiment_artifacts(experiment, uri)
    if warning := untraceable_warning(stage, git):
        print(warning, file=sys.stderr)
    all_tags = {**run_tags(root, stage, git), **(tags or {})}
    run = mlflow.start_run(experiment_id=experiment.experiment_id, run_name=stage, tags=all_tags)
    try:
        with sigterm_raises():
            yield mlflow
    except BaseException:  # an error, Ctrl-C or SIGTERM: the run failed, never RUNNING
        end_failed(mlflow, run, stage)
        raise
    mlflow.end_run()
    print(f"{stage}: logged MLflow run {run.info.run_id} to {mask(uri)}")


def find_train_run(mlflow: Any, experiment_id: str, model_sha256: str) -> Any | None:
    """The newest finished train run of the experiment that produced the model file with
    hash ``model_sha256``; None when there is none (e.g. the store was reset)."""
    runs = mlflow.search_runs(
        experiment_ids=[experiment_id],
        filter_string=(
            f"tags.stage = 'train' and tags.`{MODEL_SHA256_TAG}` = '{model_sha256}'"
            " and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
        output_format="list",
    )
    return runs[0] if runs else None


def train_run_tags(mlflow: Any, stage: str, model_sha256: str) -> dict[str, str]:
    """Tags linking the active run to the train run of its model: ``train_run_id`` and
    ``model_uri``; when there is none, a ``crisp.warning`` tag and a line on stderr."""
    experiment_id = mlflow.active_run().info.experiment_id
    train_run = find_train_run(mlflow, experiment_id, model_sha256)
    if train_run is None:
        warning = (
            f"no train run with {MODEL_SHA256_TAG} {model_sha256[:12]} in this experiment"
            " (tracking store reset or moved?); `dvc repro --force train` logs one"
        )
        print(f"{stage}: warning: {warning}", file=sys.stderr)
        return {WARNING_TAG: warning}
    tags = {"train_run_id": train_run.info.run_id}
    if model_uri := train_run.data.tags.get("model_uri"):
        tags["model_uri"] = model_uri
    return tags


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
