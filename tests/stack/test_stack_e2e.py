"""End to end on the shared stack: PostgreSQL, moto's S3 and mlflow server, all real.

A project generated with ``mlflow_tracking=server`` and ``dvc_remote=s3`` runs ``make
repro`` against the stack (timed against the same project on the SQLite default), ``make
promote``, the serving app with its prediction log on PostgreSQL, ``dvc push``, and a fresh
clone's ``dvc pull`` and no-op ``dvc repro``; no stack secret reaches git. Then the faults
the shared setup must survive: each command ends within 30 s with a message that names the
broken component and the next step.

The project is not installed: its stages run with this environment's python on PATH and
``PYTHONPATH=src`` (crisp-ml itself is installed editable here), which is what ``make
setup`` would give, minus a minute of pip. Its answers hold no password: the prediction
log's comes from ``CRISP_PREDICTION_LOG_URL`` and the S3 keys from ``.dvc/config.local``.
The client environment holds nothing else of the stack's, so the test also proves what a
team's clients need: the tracking URI, the prediction log URL, DVC's remote settings.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Stack

from crisp_ml.runtime import stack as stack_module

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
FAULT_SECONDS = 30  # the bound on every fault case
COMMAND_SECONDS = 600
IDENTITY = {
    "GIT_AUTHOR_NAME": "crisp-ml tests",
    "GIT_AUTHOR_EMAIL": "tests@crisp-ml.invalid",
    "GIT_COMMITTER_NAME": "crisp-ml tests",
    "GIT_COMMITTER_EMAIL": "tests@crisp-ml.invalid",
}
TIMINGS_FILE = REPO_ROOT / "build" / "stack-e2e-timings.json"
TIMINGS: dict[str, float] = {}


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    remote: str


def client_env(extra: dict[str, str]) -> dict[str, str]:
    """Our environment without any stack or cloud settings, plus ``extra``."""
    prefixes = ("MLFLOW_", "AWS_", "CRISP_", "PG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(IDENTITY)
    env.update(DVC_NO_ANALYTICS="1", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    env.update(PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}", PYTHONPATH="src")
    env.update(extra)
    return env


def run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float = COMMAND_SECONDS
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run a command to completion (bounded); returns it and how long it took."""
    start = time.monotonic()
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as expired:
        out = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else ""
        pytest.fail(f"{' '.join(argv)} did not end within {timeout:.0f} s:\n{out[-3000:]}")
    return done, time.monotonic() - start


def ok(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    done, seconds = run(argv, cwd, env)
    assert done.returncode == 0, (
        f"{' '.join(argv)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    )
    return seconds


def generate(dest: Path, answers: dict[str, str]) -> Path:
    data = [arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")]
    crisp_ml = str(VENV_BIN / "crisp-ml")
    env = client_env({})
    ok([crisp_ml, "new", str(dest), "--defaults", "--quiet", "--no-git", *data], dest.parent, env)
    ok(["git", "init", "--quiet", "--initial-branch=main"], dest, env)
    commit(dest, env, "generated")
    return dest


def commit(root: Path, env: dict[str, str], message: str) -> None:
    ok(["git", "add", "-A"], root, env)
    ok(["git", "commit", "--quiet", "--allow-empty", "--no-verify", "-m", message], root, env)


def make(root: Path, env: dict[str, str], *targets: str) -> float:
    return ok(["make", *targets, f"PYTHON={sys.executable}"], root, env)


def configure_remote(
    root: Path, env: dict[str, str], shared: Stack, secret: str | None = None
) -> str:
    """DVC's endpoint and keys in .dvc/config.local (never committed), as the docs say."""
    done, _ = run(["dvc", "remote", "default"], root, env, 30)
    remote = done.stdout.strip()
    assert remote, f"the project has no default DVC remote:\n{done.stderr}"
    settings = {
        "endpointurl": shared.env["AWS_ENDPOINT_URL"],
        "access_key_id": shared.env["AWS_ACCESS_KEY_ID"],
        "secret_access_key": secret or shared.env["AWS_SECRET_ACCESS_KEY"],
        "region": shared.env["AWS_DEFAULT_REGION"],
    }
    for key, value in settings.items():
        ok(["dvc", "remote", "modify", "--local", remote, key, value], root, env)
    return remote


def stack_client_env(shared: Stack) -> dict[str, str]:
    return client_env(
        {
            "CRISP_PREDICTION_LOG_URL": shared.env["CRISP_PREDICTION_LOG_URL"],
            "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
        }
    )


@pytest.fixture(scope="module")
def project(shared_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A stack project after `make repro`, committed, with the same project on SQLite timed."""
    pg_port = shared_stack.env["CRISP_STACK_POSTGRES_PORT"]
    bucket = shared_stack.env["CRISP_STACK_BUCKET"]
    answers = {
        "project_name": "Stack E2E",
        "mlflow_tracking": "server",
        "mlflow_tracking_uri": shared_stack.env["MLFLOW_TRACKING_URI"],
        "dvc_remote": "s3",
        "dvc_remote_url": f"s3://{bucket}/dvc",
        "prediction_log_url": f"postgresql+psycopg2://{stack_module.DB_USER}@127.0.0.1:{pg_port}/predictions",
    }
    root = generate(tmp_path_factory.mktemp("stack") / "stack-e2e", answers)
    env = stack_client_env(shared_stack)
    remote = configure_remote(root, env, shared_stack)
    TIMINGS["repro_stack_seconds"] = make(root, env, "repro")
    commit(root, env, "first run on the shared stack")

    sqlite_root = generate(
        tmp_path_factory.mktemp("sqlite") / "sqlite-e2e", {"project_name": "SQLite E2E"}
    )
    TIMINGS["repro_sqlite_seconds"] = make(sqlite_root, client_env({}), "repro")
    TIMINGS["repro_ratio"] = TIMINGS["repro_stack_seconds"] / TIMINGS["repro_sqlite_seconds"]
    yield Project(root, env, remote)
    TIMINGS_FILE.parent.mkdir(exist_ok=True)
    TIMINGS_FILE.write_text(json.dumps(TIMINGS, indent=2) + "\n", encoding="utf-8")


def mlflow_client(shared: Stack):
    from mlflow.tracking import MlflowClient

    # Both stores explicit: an earlier test in this process may have set MLflow's global
    # registry URI (crisp_ml.runtime.registry.load does, for the serving process).
    uri = shared.env["MLFLOW_TRACKING_URI"]
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def s3_keys(shared: Stack, prefix: str) -> list[str]:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=shared.env["AWS_ENDPOINT_URL"],
        region_name=shared.env["AWS_DEFAULT_REGION"],
        aws_access_key_id=shared.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=shared.env["AWS_SECRET_ACCESS_KEY"],
    )
    listing = s3.list_objects_v2(Bucket=shared.env["CRISP_STACK_BUCKET"], Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def pg_count(shared: Stack, table: str) -> int:
    import psycopg2

    url = shared.env["CRISP_PREDICTION_LOG_URL"].replace("+psycopg2", "")
    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")  # a fixed table name, not input
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


# ---------------------------------------------------------------- the happy path


def test_make_repro_on_the_stack_tracks_the_run_on_the_server_and_its_model_in_s3(
    project: Project, shared_stack: Stack
) -> None:
    run_json = json.loads((project.root / "reports/train/run.json").read_text(encoding="utf-8"))
    assert run_json["tracking_uri"] == shared_stack.env["MLFLOW_TRACKING_URI"]
    client = mlflow_client(shared_stack)
    registered = run_json["registered_model"]
    version = client.get_model_version(registered["name"], registered["version"])
    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith("mlflow-artifacts:"), "artifacts go through the proxy"
    assert s3_keys(shared_stack, "mlflow/"), "the model's files reached the bucket"


def test_make_promote_then_serving_logs_predictions_and_feedback_in_postgresql(
    project: Project, shared_stack: Stack
) -> None:
    make(project.root, project.env, "promote")
    before = pg_count(shared_stack, "predictions") if _has_table(shared_stack) else 0
    port = stack_module.free_port()
    log = project.root.parent / "serving.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "crisp_ml.runtime.serving", "--port", str(port)],
            cwd=project.root, env=project.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: stack_module.http_ok(f"{base}/health"), 90, f"serving ({log})")
        rows = test_rows(project.root, 3)
        for features, label in rows:
            answer = post(f"{base}/predict", {"features": features})
            prediction_id = answer["ids"][0]
            assert (
                post(f"{base}/feedback", {"id": prediction_id, "label": label})["status"]
                == "recorded"
            )
        wait_for(
            lambda: pg_count(shared_stack, "predictions") >= before + 3, 20, "predictions rows"
        )
        assert pg_count(shared_stack, "feedback") >= 3
    finally:
        stack_module.stop_pid(server.pid)
        server.wait(timeout=30)


def test_dvc_push_then_a_fresh_clone_pulls_everything_and_reruns_nothing(
    project: Project, shared_stack: Stack, tmp_path: Path
) -> None:
    ok(["dvc", "push"], project.root, project.env)
    assert s3_keys(shared_stack, "dvc/"), "dvc push wrote to s3://<bucket>/dvc"
    clone = tmp_path / "clone"
    ok(["git", "clone", "--quiet", str(project.root), str(clone)], tmp_path, project.env)
    configure_remote(clone, project.env, shared_stack)
    ok(["dvc", "pull"], clone, project.env)
    done, _ = run(["dvc", "repro"], clone, project.env)
    assert done.returncode == 0, done.stderr
    assert "Running stage" not in done.stdout, f"a clean clone reran a stage:\n{done.stdout}"


def test_no_stack_secret_reaches_git(project: Project, shared_stack: Stack) -> None:
    commit(project.root, project.env, "after promote, serving and push")
    secrets = [shared_stack.password, shared_stack.env["AWS_SECRET_ACCESS_KEY"]]
    revisions = run(["git", "rev-list", "--all"], project.root, project.env, 30)[0].stdout.split()
    for secret in secrets:
        found, _ = run(
            ["git", "grep", "-F", "-l", secret, *revisions], project.root, project.env, 60
        )
        assert found.returncode == 1, f"a stack secret is committed in:\n{found.stdout}"


# ---------------------------------------------------------------- the faults


def assert_fast_and_clear(
    done: subprocess.CompletedProcess[str], seconds: float, component: str, next_step: str
) -> None:
    output = done.stdout + done.stderr
    assert done.returncode != 0, f"the command succeeded despite the fault:\n{output[-2000:]}"
    assert seconds < FAULT_SECONDS, (
        f"took {seconds:.0f} s to fail (bound {FAULT_SECONDS} s):\n{output[-3000:]}"
    )
    assert re.search(component, output), f"the message does not name {component}:\n{output[-3000:]}"
    assert re.search(next_step, output), f"no next step ({next_step}) in:\n{output[-3000:]}"


def assert_no_run_left_running(shared: Stack) -> None:
    client = mlflow_client(shared)
    experiments = client.search_experiments()
    runs = client.search_runs(
        [e.experiment_id for e in experiments], "attributes.status = 'RUNNING'"
    )
    assert not runs, f"runs left RUNNING: {[r.info.run_id for r in runs]}"


def test_postgresql_down_behind_a_healthy_mlflow_server_fails_within_30_s(
    project: Project, shared_stack: Stack
) -> None:
    stack_module.stop_pid(shared_stack.pid("postgres"), signal.SIGINT)
    try:
        assert stack_module.http_ok(shared_stack.env["MLFLOW_TRACKING_URI"] + "/health")
        done, seconds = run(["dvc", "repro", "--force", "train"], project.root, project.env, 120)
        TIMINGS["fault_postgres_down_seconds"] = seconds
        assert_fast_and_clear(
            done,
            seconds,
            r"(?i)(tracking|mlflow).*(server|store)",
            r"(?i)database|backend|postgres",
        )
    finally:
        stack_module.up(shared_stack.layout, {})
    assert_no_run_left_running(shared_stack)


def test_s3_server_stopped_fails_within_30_s(project: Project, shared_stack: Stack) -> None:
    moto = shared_stack.pid("moto")
    os.killpg(moto, signal.SIGSTOP)
    try:
        done, seconds = run(["dvc", "repro", "--force", "train"], project.root, project.env, 120)
        TIMINGS["fault_s3_stopped_seconds"] = seconds
        assert_fast_and_clear(
            done, seconds, r"(?i)artifact|s3", r"(?i)(check|start|reach|endpoint|retry|rerun)"
        )
    finally:
        os.killpg(moto, signal.SIGCONT)
    assert_no_run_left_running(shared_stack)


def test_wrong_s3_credentials_for_the_push_fail_within_30_s_naming_the_credentials(
    project: Project, shared_stack: Stack
) -> None:
    """DVC's own `dvc push` says only `403 Forbidden`; the project's push (the one `make
    tags`, the hooks and CI use) says which remote refused and where the keys go."""
    configure_remote(project.root, project.env, shared_stack, secret="not-the-secret")
    try:
        raw, _ = run(["dvc", "push"], project.root, project.env, 120)
        assert raw.returncode != 0, "DVC pushed with a wrong secret"
        push = [sys.executable, "-m", "crisp_ml.runtime.tags", "--push-only"]
        done, seconds = run(push, project.root, project.env, 120)
        TIMINGS["fault_wrong_credentials_seconds"] = seconds
        assert_fast_and_clear(done, seconds, r"(?i)refused the credentials", r"config\.local")
    finally:
        configure_remote(project.root, project.env, shared_stack)


# ---------------------------------------------------------------- helpers


def _has_table(shared: Stack) -> bool:
    try:
        pg_count(shared, "predictions")
    except Exception:  # the serving app creates the tables on its first start
        return False
    return True


def wait_for(ready, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    pytest.fail(f"{what} not ready within {seconds:.0f} s")


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_rows(root: Path, count: int) -> list[tuple[dict, object]]:
    """A few prepared rows with their labels, as a client would send them."""
    import pandas as pd

    schema = json.loads((root / "data/prepared/schema.json").read_text(encoding="utf-8"))
    frame = pd.read_csv(root / "data/prepared/dataset.csv").head(count)
    rows = json.loads(frame.to_json(orient="records"))
    return [({f: row[f] for f in schema["features"]}, row[schema["target"]]) for row in rows]


test_rows.__test__ = False  # a helper, not a test
