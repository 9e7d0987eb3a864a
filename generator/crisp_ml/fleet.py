"""Update many repositories in parallel and show progress while they run.

Each update spends its time in child processes (git, Copier, crisp-lint), so threads are
enough to keep ``--jobs`` processes busy; nothing here changes the working directory.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from crisp_ml.repo_update import RepoResult, UpdateOptions, update_repo


@dataclass(frozen=True)
class FleetRun:
    results: list[RepoResult]  # in the order the repos were given
    duration: float

    @property
    def repos_per_minute(self) -> float:
        return 60.0 * len(self.results) / self.duration if self.duration > 0 else 0.0


class Progress:
    """One line per finished repo; on a terminal, a single line rewritten in place."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.live = stream.isatty()

    def finished(self, result: RepoResult) -> None:
        self.done += 1
        line = f"[{self.done}/{self.total}] {result.status.value:<14} {result.repo}"
        if self.live:
            self.stream.write("\r\033[K" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def update_fleet(
    repos: Sequence[Path],
    options: UpdateOptions,
    jobs: int,
    on_finished: Callable[[RepoResult], None] | None = None,
) -> FleetRun:
    """Update every repo with at most ``jobs`` updates running at once."""
    started = time.monotonic()
    results: dict[int, RepoResult] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {
            pool.submit(update_repo, repo, options): index for index, repo in enumerate(repos)
        }
        for future in as_completed(futures):
            result = future.result()
            results[futures[future]] = result
            if on_finished is not None:
                on_finished(result)
    ordered = [results[index] for index in range(len(repos))]
    return FleetRun(ordered, time.monotonic() - started)
