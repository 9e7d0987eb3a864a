"""Run a command, capture what it prints, give up after a timeout: without ``subprocess``.

crisp-lint runs ``git ls-files`` on every commit, and importing subprocess (with threading,
selectors, signal and locale) costs a tenth of a run whose cache is warm. Where the platform
has ``posix_spawnp`` this module spawns the command itself, reads both pipes with ``poll``
until a deadline, and kills the command when it passes; elsewhere it is subprocess.
"""

from __future__ import annotations

import contextlib  # typing, which every run imports, imports it already
import os
import time
from collections.abc import Mapping, Sequence
from typing import NamedTuple

_CHUNK = 65536
_SIGKILL = 9


class Completed(NamedTuple):
    returncode: int
    stdout: bytes
    stderr: bytes


class Timeout(Exception):
    """The command was still running at the deadline; it has been killed."""


def run(args: Sequence[str], timeout: float, env: Mapping[str, str] | None = None) -> Completed:
    """Run ``args`` (looked up on PATH) with no standard input, in this environment or
    ``env``; OSError when it cannot start (``FileNotFoundError`` for a missing program),
    Timeout after ``timeout`` s."""
    if not hasattr(os, "posix_spawnp"):
        return _run_subprocess(args, timeout, env)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        pid = os.posix_spawnp(
            args[0],
            list(args),
            os.environ if env is None else env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_DUP2, out_write, 1),
                (os.POSIX_SPAWN_DUP2, err_write, 2),
            ],
        )
    except BaseException:
        for fd in (out_read, err_read):
            os.close(fd)
        raise
    finally:
        os.close(out_write)  # the child holds its own copies; EOF comes when it exits
        os.close(err_write)
    try:
        output = _read_until_eof((out_read, err_read), time.monotonic() + timeout)
    except BaseException:  # the deadline, or Ctrl-C: the command goes too
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile: reaped below
            os.kill(pid, _SIGKILL)
        raise
    finally:
        os.close(out_read)
        os.close(err_read)
        status = os.waitpid(pid, 0)[1]  # never leaves a zombie, even when killed
    return Completed(os.waitstatus_to_exitcode(status), output[out_read], output[err_read])


def _read_until_eof(fds: tuple[int, ...], deadline: float) -> dict[int, bytes]:
    import select

    chunks: dict[int, list[bytes]] = {fd: [] for fd in fds}
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    open_fds = set(fds)
    while open_fds:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout
        for fd, _ in poller.poll(left * 1000):
            data = os.read(fd, _CHUNK)
            if data:
                chunks[fd].append(data)
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
    return {fd: b"".join(parts) for fd, parts in chunks.items()}


def _run_subprocess(
    args: Sequence[str], timeout: float, env: Mapping[str, str] | None
) -> Completed:
    import subprocess

    try:
        done = subprocess.run(
            list(args), capture_output=True, stdin=subprocess.DEVNULL, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        raise Timeout from None
    return Completed(done.returncode, done.stdout, done.stderr)
