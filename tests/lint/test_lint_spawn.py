"""crisp_lint.spawn runs git without importing subprocess: output, exit status, a program
that is missing and one that never answers."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from crisp_lint import spawn


def test_it_captures_both_streams_and_the_exit_status() -> None:
    done = spawn.run(["sh", "-c", "printf 'out\\0put'; printf err >&2; exit 3"], timeout=30)
    assert done == spawn.Completed(3, b"out\0put", b"err")


def test_output_larger_than_a_pipe_is_read_whole() -> None:
    done = spawn.run(["sh", "-c", "head -c 1000000 /dev/zero; echo done >&2"], timeout=30)
    assert (len(done.stdout), done.stderr) == (1_000_000, b"done\n")


def test_the_command_reads_no_input() -> None:
    assert spawn.run(["cat"], timeout=30).stdout == b""


def test_the_environment_given_is_the_one_it_sees() -> None:
    done = spawn.run(["sh", "-c", "echo $CRISP_SPAWN_TEST"], 30, {"CRISP_SPAWN_TEST": "yes"})
    assert done.stdout == b"yes\n"


def test_a_missing_program_is_an_os_error() -> None:
    with pytest.raises(FileNotFoundError):
        spawn.run(["crisp-no-such-program"], timeout=30)


def test_a_command_past_its_deadline_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    start = time.monotonic()
    with pytest.raises(spawn.Timeout):
        spawn.run(["sh", "-c", f"echo $$ > {pid_file}; exec sleep 60"], timeout=1)
    assert time.monotonic() - start < 30
    with pytest.raises(ProcessLookupError):  # gone, and reaped: not even a zombie
        os.kill(int(pid_file.read_text()), 0)
