"""Tracking: where MLflow runs go and how they are tied to code and data versions."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from crisp_ml.runtime.pipeline import StageError
from crisp_ml.runtime.tracking import (
    CLEAN,
    DIRTY,
    HTTP_BUDGET,
    MODEL_SHA256_TAG,
    NO_GIT,
    UNCOMMITTED,
    GitState,
    changed_paths,
    check_server_reachable,
    data_versions,
    file_sha256,
    flatten,
    git_state,
    public_uri,
    run_tags,
    start_run,
    tracking_root,
    tracking_uri,
    train_run_tags,
    untraceable_warning,
)


def test_the_embedded_store_is_an_absolute_sqlite_file_at_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = tracking_uri(tmp_path, {"mlflow": {"tracking_uri": None}})
    assert uri == f"sqlite:///{tmp_path.resolve()}/mlflow.db"


def test_the_environment_overrides_params_which_override_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    params = {"mlflow": {"tracking_uri": "http://mlflow.example:5000"}}
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(tmp_path, params) == "http://mlflow.example:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/mlflow.db")
    assert tracking_uri(tmp_path, params) == "sqlite:////elsewhere/mlflow.db"


def test_dvc_temporary_experiments_log_to_the_real_project(tmp_path: Path) -> None:
    copy = tmp_path / ".dvc" / "tmp" / "exps" / "tmp1a2b"
    assert tracking_root(copy) == tmp_path.resolve()
    assert tracking_root(tmp_path) == tmp_path.resolve()


def test_data_versions_come_from_dvc_lock(tmp_path: Path) -> None:
    (tmp_path / "dvc.lock").write_text(
        "schema: '2.0'\n"
        "stages:\n"
        "  ingest:\n"
        "    outs:\n"
        "    - path: data/raw\n"
        "      md5: aaa.dir\n"
        "  prepare:\n"
        "    outs:\n"
        "    - path: data/prepared\n"
        "      md5: bbb.dir\n"
    )
    assert data_versions(tmp_path) == {"raw": "aaa.dir", "dataset": "bbb.dir"}
    assert data_versions(tmp_path / "nowhere") == {}


def test_nested_settings_become_dotted_params() -> None:
    assert flatten({"a": {"b": 1, "c": {"d": "x"}}, "e": 2}) == {"a.b": 1, "a.c.d": "x", "e": 2}


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_tracking_server_that_does_not_answer_fails_in_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for scheme in ("http", "https", "all"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)
    uri = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(StageError, match=f"cannot reach the MLflow tracking server {uri}"):
        check_server_reachable(uri)
    assert time.monotonic() - started < 5


def test_only_tracking_servers_are_probed(tmp_path: Path) -> None:
    check_server_reachable(f"sqlite:///{tmp_path / 'mlflow.db'}")
    check_server_reachable("databricks")


def test_a_server_behind_a_proxy_is_probed_through_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Like MLflow's own requests: the proxy named by http_proxy carries the probe.
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(StageError, match="cannot reach the MLflow tracking server"):
        check_server_reachable("http://tracking.example.invalid:5000")


GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
        env={**os.environ, **GIT_IDENTITY},
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a pipeline whose train stage writes models/ and a report."""
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n"
        "  train:\n"
        "    cmd: python -m train\n"
        "    outs:\n"
        "      - models\n"
        "      - reports/train/run.json:\n"
        "          cache: false\n"
        "    metrics:\n"
        "      - reports/train/metrics.json:\n"
        "          cache: false\n"
    )
    for name in ("dvc.lock", "README.md", "reports/train/run.json", "reports/train/metrics.json"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("v1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    return tmp_path


def test_before_the_first_commit_a_run_is_uncommitted_and_says_so(repo: Path) -> None:
    state = git_state(repo)
    assert state == GitState(UNCOMMITTED)
    assert run_tags(repo, "train", state)["crisp.git.state"] == "uncommitted"
    assert "mlflow.source.git.commit" not in run_tags(repo, "train", state)
    warning = untraceable_warning("train", state)
    assert warning is not None and warning.startswith("train: no git commit yet")
    assert "`dvc repro --force train`" in warning


def test_outside_git_a_run_is_tagged_no_git(tmp_path: Path) -> None:
    if subprocess.run(["git", "rev-parse"], cwd=tmp_path, capture_output=True).returncode == 0:
        pytest.skip("the temporary folder lies inside a git work tree")
    assert git_state(tmp_path).state == NO_GIT


def test_pipeline_outputs_and_dvc_lock_do_not_make_the_code_dirty(repo: Path) -> None:
    git(repo, "commit", "-q", "-m", "first")
    for name in ("dvc.lock", "reports/train/run.json", "reports/train/metrics.json"):
        (repo / name).write_text("v2\n")
    state = git_state(repo)
    assert state.state == CLEAN
    assert state.commit is not None and len(state.commit) >= 40
    assert untraceable_warning("train", state) is None


def test_changes_to_tracked_code_make_it_dirty_and_are_listed(repo: Path) -> None:
    git(repo, "commit", "-q", "-m", "first")
    (repo / "README.md").write_text("v2\n")
    (repo / "untracked.py").write_text("ignored: git does not track it\n")
    state = git_state(repo)
    assert (state.state, state.changes) == (DIRTY, ("README.md",))
    tags = run_tags(repo, "train", state)
    assert tags["crisp.git.state"] == "dirty"
    assert tags["crisp.git.changes"] == "README.md"
    assert tags["mlflow.source.git.commit"] == state.commit


def test_a_dvc_experiment_copy_reports_its_own_git_state(repo: Path) -> None:
    """`dvc exp run --temp` works in a repository of its own under .dvc/tmp/exps/."""
    git(repo, "commit", "-q", "-m", "first")
    copy = repo / ".dvc" / "tmp" / "exps" / "standalone" / "tmp1a2b"
    copy.mkdir(parents=True)
    (copy / "params.yaml").write_text("seed: 1\n")
    git(copy, "init", "-q")
    git(copy, "add", "-A")
    assert git_state(copy).state == UNCOMMITTED  # not the parent project's clean state
    assert tracking_root(copy) == repo.resolve()


def test_porcelain_renames_name_both_paths() -> None:
    assert changed_paths(" M a.py\0R  new.py\0old.py\0") == ["a.py", "new.py", "old.py"]


def test_committed_files_name_the_store_without_secrets_or_local_paths(tmp_path: Path) -> None:
    embedded = f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert public_uri(embedded, tmp_path) == "sqlite:///mlflow.db"
    copy = tmp_path / ".dvc" / "tmp" / "exps" / "tmp1a2b"
    assert public_uri(embedded, copy) == "sqlite:///mlflow.db"
    # Outside the project: only the path params.yaml already names is written as it is.
    assert public_uri("sqlite:////home/ana/x.db", tmp_path) == "sqlite:///<machine-local>/x.db"
    (tmp_path / "params.yaml").write_text("mlflow:\n  tracking_uri: sqlite:////srv/mlflow.db\n")
    assert public_uri("sqlite:////srv/mlflow.db", tmp_path) == "sqlite:////srv/mlflow.db"
    inside = f"sqlite:///{tmp_path.resolve()}/stores/team.db?timeout=5"
    assert public_uri(inside, tmp_path) == "sqlite:///stores/team.db"
    assert public_uri(f"file://{tmp_path.resolve()}/mlruns", tmp_path) == "file:mlruns"
    # crisp-lint: ignore[GEN013] a made-up password, which public_uri must strip
    assert public_uri("https://bob:s3cret@mlflow.example:5000/x", tmp_path) == (
        "https://mlflow.example:5000/x"
    )
    assert public_uri("http://mlflow.example", tmp_path) == "http://mlflow.example"
    # A token in the query string is a credential too.
    assert public_uri("https://mlflow.example/?token=abc#x", tmp_path) == "https://mlflow.example/"
    assert public_uri("postgresql://ml@db.example:5432/mlflow", tmp_path) == (
        "postgresql://db.example:5432/mlflow"
    )


def test_a_model_file_is_identified_by_its_sha256(tmp_path: Path) -> None:
    (tmp_path / "model.joblib").write_bytes(b"model")
    assert file_sha256(tmp_path / "model.joblib") == hashlib.sha256(b"model").hexdigest()


def test_the_train_run_of_a_model_is_found_by_its_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = {"mlflow": {"experiment": "linking"}}
    with start_run(tmp_path, params, "train", tags={MODEL_SHA256_TAG: "aaa"}):
        pass
    with start_run(tmp_path, params, "train", tags={MODEL_SHA256_TAG: "bbb"}) as mlflow:
        newest = mlflow.active_run().info.run_id
    with start_run(tmp_path, params, "evaluate") as mlflow:
        assert train_run_tags(mlflow, "evaluate", "bbb") == {"train_run_id": newest}
        missing = train_run_tags(mlflow, "evaluate", "ccc")
    assert set(missing) == {"crisp.warning"}


# A failing stage ends its run FAILED ------------------------------------------------------


def stage_runs(tmp_path: Path) -> list[tuple[str, str]]:
    """(run name, status) of every run in the embedded store of tmp_path."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments)
    return [(run.info.run_name, run.info.status) for run in runs]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return {"mlflow": {"experiment": "failing"}}


@pytest.mark.slow  # a fresh MLflow SQLite store takes seconds to create
def test_a_run_whose_body_raises_ends_failed_not_running(
    tmp_path: Path, store: dict[str, object]
) -> None:
    with (
        pytest.raises(ValueError, match="bad data"),
        start_run(tmp_path, store, "train") as mlflow,
    ):
        raise ValueError("bad data")
    assert mlflow.active_run() is None
    assert stage_runs(tmp_path) == [("train", "FAILED")]
    with start_run(tmp_path, store, "evaluate"):
        pass
    assert ("evaluate", "FINISHED") in stage_runs(tmp_path)


@pytest.mark.slow  # a fresh MLflow SQLite store takes seconds to create
def test_an_interrupted_or_terminated_run_ends_failed(
    tmp_path: Path, store: dict[str, object]
) -> None:
    with pytest.raises(KeyboardInterrupt), start_run(tmp_path, store, "train"):
        raise KeyboardInterrupt
    with pytest.raises(SystemExit) as stopped, start_run(tmp_path, store, "evaluate"):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert stopped.value.code == 128 + signal.SIGTERM
    assert sorted(stage_runs(tmp_path)) == [("evaluate", "FAILED"), ("train", "FAILED")]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back


@pytest.mark.slow  # a fresh MLflow SQLite store takes seconds to create
def test_a_logged_model_left_pending_by_a_failed_run_is_marked_failed(
    tmp_path: Path, store: dict[str, object]
) -> None:
    with pytest.raises(RuntimeError), start_run(tmp_path, store, "train") as mlflow:
        model = mlflow.initialize_logged_model(name="model")  # PENDING until finalized
        raise RuntimeError("artifact store hung mid-upload")
    assert str(mlflow.get_logged_model(model.model_id).status) in (
        "FAILED",
        "LoggedModelStatus.FAILED",
    )


@pytest.mark.slow  # a fresh MLflow SQLite store takes seconds to create
def test_the_http_budget_is_set_unless_the_user_set_it(
    tmp_path: Path, store: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in HTTP_BUDGET:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    with start_run(tmp_path, store, "train"):
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "300"
        assert (
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
            == HTTP_BUDGET["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
        )
        assert os.environ["MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"] == "false"


def test_a_stage_facing_a_hung_server_fails_in_seconds_and_logs_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for scheme in ("http", "all"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)
    with socket.socket() as listener:  # accepts (the kernel's backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{listener.getsockname()[1]}")
        started = time.monotonic()
        with (
            pytest.raises(StageError, match="did not answer /health"),
            start_run(tmp_path, {}, "train"),
        ):
            pytest.fail("the body must not run")
        assert time.monotonic() - started < 10
