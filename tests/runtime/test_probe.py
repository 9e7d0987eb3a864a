"""The probe fails within its deadline, naming the part of the MLflow store that is down."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crisp_ml.runtime.probe import (
    ARTIFACTS,
    DATABASE,
    TRACKING,
    ProbeError,
    mask,
    probe_artifacts,
    probe_tracking,
)

DEADLINE = 1.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    listener.close()


@contextmanager
def http_server(answers: dict[str, tuple[int, dict[str, object]] | None]) -> Iterator[str]:
    """An HTTP server answering each path prefix with (status, JSON), or never (None)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            for prefix, reply in answers.items():
                if self.path.startswith(prefix):
                    if reply is None:
                        time.sleep(DEADLINE * 3)
                        return
                    status, body = reply
                    data = json.dumps(body).encode()
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
            self.send_error(404)

        do_GET = do_POST = do_HEAD = answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


HEALTHY = {
    "/health": (200, {}),
    "/api/2.0/mlflow/experiments/search": (200, {"experiments": []}),
    "/api/2.0/mlflow-artifacts/artifacts": (200, {}),
}


def expect(component: str, match: str, call: object, limit: float = DEADLINE + 1) -> str:
    started = time.monotonic()
    with pytest.raises(ProbeError, match=match) as raised:
        call()  # type: ignore[operator]
    assert time.monotonic() - started < limit
    assert raised.value.component == component
    return str(raised.value)


def test_a_closed_port_is_an_unreachable_tracking_server() -> None:
    uri = f"http://127.0.0.1:{free_port()}"
    expect(TRACKING, f"cannot reach the MLflow tracking server {uri}", lambda: probe_tracking(uri))


def test_a_server_that_accepts_and_never_answers_fails_within_the_deadline(
    silent_server: str,
) -> None:
    message = expect(
        TRACKING, "did not answer /health", lambda: probe_tracking(silent_server, DEADLINE)
    )
    assert "MLFLOW_TRACKING_URI=sqlite" in message  # the way to keep working


def test_a_healthy_server_passes() -> None:
    with http_server(HEALTHY) as uri:
        probe_tracking(uri, DEADLINE)
        probe_artifacts("mlflow-artifacts:/1", uri, DEADLINE)


def test_a_500_from_the_api_behind_a_healthy_server_is_its_backend_database() -> None:
    answers = {
        **HEALTHY,
        "/api/2.0/mlflow/experiments/search": (503, {"error_code": "X", "message": "db"}),
    }
    with http_server(answers) as uri:
        message = expect(DATABASE, "backend database failed", lambda: probe_tracking(uri, DEADLINE))
        assert "HTTP 503, X: db" in message and "--backend-store-uri" in message


def test_an_api_that_hangs_behind_a_healthy_server_is_its_backend_database() -> None:
    with http_server({**HEALTHY, "/api/2.0/mlflow/experiments/search": None}) as uri:
        expect(DATABASE, "did not answer within", lambda: probe_tracking(uri, DEADLINE))


def test_a_server_without_the_mlflow_api_is_named_as_such() -> None:
    with http_server({"/health": (200, {})}) as uri:
        expect(TRACKING, "no MLflow REST API", lambda: probe_tracking(uri, DEADLINE))


def test_refused_credentials_name_the_variables_to_set() -> None:
    with http_server({"/health": (200, {}), "/api": (401, {})}) as uri:
        expect(TRACKING, "MLFLOW_TRACKING_USERNAME", lambda: probe_tracking(uri, DEADLINE))


def test_an_error_on_health_names_the_status_and_the_server_s_own_message() -> None:
    with http_server({"/health": (500, {"error_code": "E", "message": "boom\nmore"})}) as uri:
        message = expect(TRACKING, "answered HTTP 500 on /health", lambda: probe_tracking(uri))
        assert "(E: boom)" in message and "names an MLflow server" in message


def test_the_artifact_proxy_refusing_the_credentials_names_the_variables_to_set() -> None:
    with http_server({**HEALTHY, "/api/2.0/mlflow-artifacts/artifacts": (403, {})}) as uri:
        expect(
            TRACKING,
            r"refused the credentials \(HTTP 403\).*MLFLOW_TRACKING_USERNAME",
            lambda: probe_artifacts("mlflow-artifacts:/", uri, DEADLINE),
        )


def test_a_password_in_the_uri_is_never_printed(silent_server: str) -> None:
    uri = silent_server.replace("://", "://alice:s3cret@")
    message = expect(TRACKING, "did not answer", lambda: probe_tracking(uri, DEADLINE))
    assert "s3cret" not in message and "alice:***@" in message
    assert mask("postgresql://u:pw@db/x") == "postgresql://u:***@db/x"


def test_the_artifact_proxy_failing_or_hanging_is_the_artifact_store() -> None:
    failing = {**HEALTHY, "/api/2.0/mlflow-artifacts/artifacts": (500, {"message": "NoSuchBucket"})}
    with http_server(failing) as uri:
        probe_tracking(uri, DEADLINE)  # tracking itself is fine
        expect(
            ARTIFACTS,
            "artifact store behind",
            lambda: probe_artifacts("mlflow-artifacts:/", uri, DEADLINE),
        )
    with http_server({**HEALTHY, "/api/2.0/mlflow-artifacts/artifacts": None}) as uri:
        expect(
            ARTIFACTS,
            "did not answer within",
            lambda: probe_artifacts("mlflow-artifacts:/", uri, DEADLINE),
        )


def test_local_stores_are_not_probed(tmp_path: Path) -> None:
    probe_tracking(f"sqlite:///{tmp_path / 'mlflow.db'}")
    probe_artifacts(tmp_path.as_uri(), None)


def test_an_unreachable_s3_endpoint_is_named_with_the_variable_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("boto3")
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    message = expect(
        ARTIFACTS,
        "cannot reach the S3 endpoint",
        lambda: probe_artifacts("s3://b/x", None, DEADLINE),
    )
    assert endpoint in message and "MLFLOW_S3_ENDPOINT_URL" in message
    assert "testing" not in message


def test_a_hung_s3_endpoint_fails_within_the_deadline(
    silent_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("boto3")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", silent_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    expect(ARTIFACTS, "s3://b", lambda: probe_artifacts("s3://b/x", None, DEADLINE))


def test_s3_refusing_the_credentials_says_where_they_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An S3 stand-in answering 403 AccessDenied as S3 does to a HEAD with bad keys.
    pytest.importorskip("boto3")
    with http_server({"/": (403, {})}) as endpoint:
        monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wrong")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        message = expect(
            ARTIFACTS, "refused the credentials", lambda: probe_artifacts("s3://b", None, DEADLINE)
        )
        assert (
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" in message
            and "credentials from env" in message
        )
        assert "wrong-secret" not in message


# A real mlflow server --------------------------------------------------------------------

LEAN = {
    **os.environ,
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
}


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``mlflow server`` on a SQLite backend in tmp_path, stopped by its process group."""
    database = tmp_path / "backend.db"
    port = free_port()
    mlflow = Path(sys.executable).with_name("mlflow")
    process = subprocess.Popen(
        [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{database}",
         "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1"],
        env=LEAN, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(uri + "/health", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail("mlflow server exited at start")
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start within 90 s")
        yield uri, database
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@pytest.mark.slow
def test_a_real_server_whose_database_is_locked_or_corrupt_names_the_database(
    mlflow_server: tuple[str, Path],
) -> None:
    uri, database = mlflow_server
    probe_tracking(uri, DEADLINE * 2)
    probe_artifacts("mlflow-artifacts:/", uri, DEADLINE * 2)
    # Locked: MLflow waits on SQLite's busy timeout (~20 s) while /health says OK.
    lock = sqlite3.connect(database, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        expect(DATABASE, "did not answer within", lambda: probe_tracking(uri, 3), limit=5)
    finally:
        lock.close()
    # Corrupt: MLflow answers 400 "file is not a database" at once.
    with database.open("r+b") as file:
        file.write(b"not a database" * 64)
    message = expect(DATABASE, "backend database failed", lambda: probe_tracking(uri, 3), limit=5)
    assert "HTTP 400" in message
