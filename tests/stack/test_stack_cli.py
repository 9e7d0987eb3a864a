"""`python -m crisp_ml.runtime.stack`: bad input and stale state get a clear message, fast.

These need no PostgreSQL: each case is refused before anything starts.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from crisp_ml.runtime import stack


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "crisp_ml.runtime.stack", *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_a_port_in_use_is_refused_naming_the_component_and_the_option(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = cli("up", "--dir", str(tmp_path / "s"), "--ports", f"postgres={port}", cwd=tmp_path)
    assert done.returncode == 1
    assert f"postgres: port {port} is in use" in done.stderr
    assert "--ports postgres=PORT" in done.stderr
    assert "Traceback" not in done.stderr


def test_env_before_any_up_says_to_start_the_stack(tmp_path: Path) -> None:
    done = cli("env", "--dir", str(tmp_path / "none"), cwd=tmp_path)
    assert done.returncode == 1
    assert "run `make stack` first" in done.stderr
    assert not done.stdout


@pytest.mark.parametrize("ports", ["postgres", "redis=1", "mlflow=abc"])
def test_a_malformed_ports_option_is_explained(tmp_path: Path, ports: str) -> None:
    done = cli("up", "--dir", str(tmp_path / "s"), "--ports", ports, cwd=tmp_path)
    assert done.returncode == 1
    assert "is not NAME=PORT" in done.stderr


def test_down_signals_no_process_whose_pid_file_is_stale(tmp_path: Path) -> None:
    layout = stack.Layout(tmp_path)
    layout.pid_file("moto").parent.mkdir()
    # This test's own PID: alive, but not running moto_server, so it must not be signalled.
    layout.pid_file("moto").write_text(f"{_own_pid()}\n", encoding="utf-8")
    assert stack.down(layout) == ["moto: not running (stale pid file removed)"]
    assert not layout.pid_file("moto").exists()


def test_status_reports_each_component_and_fails_when_one_is_down(tmp_path: Path) -> None:
    healthy, lines = stack.status(stack.Layout(tmp_path))
    assert not healthy
    assert lines == ["postgres: stopped", "moto: stopped", "mlflow: stopped"]


def test_credentials_are_written_for_their_owner_only(tmp_path: Path) -> None:
    layout = stack.Layout(tmp_path)
    stack.write_credentials(layout, {"POSTGRES_PASSWORD": "p a$s'word"})
    assert layout.credentials.stat().st_mode & 0o777 == 0o600
    assert stack.read_credentials(layout) == {"POSTGRES_PASSWORD": "p a$s'word"}


def _own_pid() -> int:
    import os

    return os.getpid()
