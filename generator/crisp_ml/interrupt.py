"""Stop cleanly on SIGTERM or SIGINT: child processes end, temporary worktrees go.

``crisp-ml update`` runs its updates in worker threads, and signals reach only the main
thread. So a signal does not raise there; it *cancels*: the flag below is set, every child
process started through :func:`run_process` is terminated (its whole process group: Copier
runs git itself), and each worker, finding its child gone or the flag set, raises
:class:`Interrupted`. The worker's ``finally`` blocks then remove what it created, and the
fleet report lists the interrupted repositories.

Children run in their own session, so a Ctrl-C typed in the terminal reaches crisp-ml only:
crisp-ml decides what stops, and a ``git merge`` that moves the user's branch is never cut in
half (it runs :func:`shielded`: not killed, and allowed to finish).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from types import FrameType

_cancelled = threading.Event()
_received: list[int] = []  # the signals that cancelled this run
_lock = threading.RLock()  # re-entrant: the signal handler may interrupt a holder
_running: set[subprocess.Popen[str]] = set()
_local = threading.local()


class Interrupted(Exception):
    """The run was cancelled by a signal; what this worker created must be removed."""

    def __str__(self) -> str:
        return f"interrupted by {signal_name()}"


def cancelled() -> bool:
    return _cancelled.is_set()


def signal_name() -> str:
    return signal.Signals(_received[0]).name if _received else "a signal"


def received_signal() -> int | None:
    return _received[0] if _received else None


def check() -> None:
    """Raise Interrupted once the run is cancelled (called between the steps of an update)."""
    if _cancelled.is_set() and not getattr(_local, "shielded", False):
        raise Interrupted


def sleep(seconds: float) -> None:
    """Wait, but wake up (and raise Interrupted) as soon as the run is cancelled."""
    _cancelled.wait(seconds)
    check()


def cancel(signum: int | None = None) -> None:
    """Cancel the run: set the flag and terminate every child that is not shielded."""
    with _lock:
        if signum is not None and not _received:
            _received.append(signum)
        _cancelled.set()
        victims = list(_running)
    for process in victims:
        with suppress(OSError):  # already gone
            os.killpg(process.pid, signal.SIGTERM)


def reset() -> None:
    """Forget a cancellation (tests run several fleets in one process)."""
    with _lock:
        _cancelled.clear()
        _received.clear()


@contextmanager
def shielded() -> Iterator[None]:
    """Steps that must run even after a cancel (cleanup) or must not be cut (the merge)."""
    previous = getattr(_local, "shielded", False)
    _local.shielded = True
    try:
        yield
    finally:
        _local.shielded = previous


@contextmanager
def children_hold(descriptor: int | None) -> Iterator[None]:
    """Children this thread starts inherit ``descriptor`` (a lock), so the lock outlives a
    killed crisp-ml for as long as a child it left behind still runs."""
    previous = getattr(_local, "hold", ())
    _local.hold = (*previous, descriptor) if descriptor is not None else previous
    try:
        yield
    finally:
        _local.hold = previous


@contextmanager
def cancel_on_signals(signums: Sequence[int] = (signal.SIGTERM, signal.SIGINT)) -> Iterator[None]:
    """Turn the given signals into :func:`cancel` while the block runs (main thread only)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        cancel(signum)

    previous = {signum: signal.signal(signum, handler) for signum in signums}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


def run_process(
    command: Sequence[str],
    *,
    timeout: float,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(command, capture_output=True, text=True, timeout=...)``, cancellable.

    Raises subprocess.TimeoutExpired (the child killed) like subprocess.run, OSError when
    the command cannot start, and Interrupted when the run is cancelled before or while the
    child runs (unless the caller is shielded).
    """
    shield = getattr(_local, "shielded", False)
    with _lock:
        if _cancelled.is_set() and not shield:
            raise Interrupted
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            pass_fds=getattr(_local, "hold", ()),
        )
        if not shield:
            _running.add(process)
    try:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            raise
        except BaseException:
            _kill_group(process)
            process.wait()
            raise
    finally:
        with _lock:
            _running.discard(process)
    if _cancelled.is_set() and not shield and process.returncode != 0:
        raise Interrupted
    return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        with suppress(OSError):
            process.kill()
