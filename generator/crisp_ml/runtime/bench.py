"""The serving benchmark: concurrent clients against a running server (CRISP-ML step 7.3).

``python -m crisp_ml.runtime.bench --url URL [--clients 8] [--requests 2000]
[--rows-from test] [--payload crisp|mlflow] [--json FILE]`` (``make bench-serve``, with
``make serve &`` running) posts real rows of the project's split, one row per request, from
``--clients`` threads, each with its own keep-alive connection, and reports requests per
second, p50 and p99 latency and errors.

- ``--payload crisp``: ``POST /predict`` ``{"features": {...}, "key": ...}`` to the
  project's serving app. Afterwards it waits (bounded) until the prediction log holds one
  new row per answered request and reports the rows lost: answered requests minus new rows
  (it must be 0). The count excludes shadow scores; other traffic at the same time would
  show up as extra rows.
- ``--payload mlflow``: MLflow's scoring-server format (``{"dataframe_split": {"columns",
  "data"}}`` to ``/invocations``), for ``mlflow models serve`` on the same model: what a team
  would run instead. MLflow keeps no prediction log, so no rows are counted.

Bodies are encoded before the clock starts and answers are not decoded (except the first,
to check it is the right server), so the figures are the server's, plus the client's HTTP.
Every request has a timeout, and so has every wait.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ConfigError, load_params, project_root
from .datasets import SPLITS, load_part
from .pipeline import StageError
from .predlog import PredictionLog, PredictionLogError, PredictionLogUnavailable, log_url
from .simulate import plain

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_CLIENTS, DEFAULT_REQUESTS, DEFAULT_WARMUP = 8, 2000, 20
TIMEOUT = 10.0  # seconds per request: a stuck server must not hang the benchmark
FLUSH_WAIT = 30.0  # seconds the log may take to hold every answered request
POLL = 0.2  # seconds between two counts of the log
MAX_CONSECUTIVE_FAILURES = 20  # per client: then the server is broken, not one request
PROBES = {"crisp": "/health", "mlflow": "/ping"}


class BenchError(RuntimeError):
    """The benchmark cannot run (no server, wrong server, no data); the message says why."""


# Payloads ----------------------------------------------------------------------------------


def crisp_body(record: dict[str, Any], features: Sequence[str], key: str) -> dict[str, Any]:
    """One row for the project's serving app: ``POST /predict``."""
    return {"features": {name: plain(record[name]) for name in features}, "key": key}


def mlflow_body(record: dict[str, Any], features: Sequence[str], _key: str) -> dict[str, Any]:
    """The same row in MLflow's scoring-server format: ``POST /invocations``."""
    return {
        "dataframe_split": {
            "columns": list(features),
            "data": [[plain(record[name]) for name in features]],
        }
    }


Builder = Callable[[dict[str, Any], Sequence[str], str], dict[str, Any]]
PAYLOADS: dict[str, tuple[str, Builder]] = {
    "crisp": ("/predict", crisp_body),
    "mlflow": ("/invocations", mlflow_body),
}


def bodies(
    rows: pd.DataFrame, features: Sequence[str], key: str, payload: str, count: int
) -> list[bytes]:
    """``count`` encoded request bodies, cycling through ``rows`` in order."""
    if rows.empty:
        raise BenchError("the split holds no rows to send; run `dvc repro split`")
    _path, build = PAYLOADS[payload]
    records = rows.to_dict("records")
    return [
        json.dumps(build(record, features, f"bench-{plain(record[key])}")).encode()
        for record in (records[i % len(records)] for i in range(count))
    ]


# Statistics --------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between the closest ranks
    (numpy's default), so p50 of an even count is the mean of the middle two."""
    if not samples:
        raise ValueError("no samples: a percentile needs at least one")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0-100, got {q}")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rows_lost(answered: int, before: int, after: int) -> tuple[int, int]:
    """(lost, extra): answered requests the log does not hold, and log rows no request
    of this run explains (a request that timed out on the client but was served, or
    other traffic)."""
    new = after - before
    return max(0, answered - new), max(0, new - answered)


@dataclass(frozen=True)
class Result:
    """One benchmark run: what was sent, how fast it was answered, what the log holds."""

    payload: str
    url: str
    clients: int
    requests: int
    answered: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    first_error: str | None = None
    log_rows_before: int | None = None
    log_rows_after: int | None = None
    rows_lost: int | None = None  # None: no prediction log to check (mlflow)
    rows_extra: int | None = None

    def summary(self) -> str:
        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f} ms"

        text = (
            f"bench: {self.payload} {self.url}: {self.requests} requests from {self.clients} "
            f"client(s) in {self.seconds:.2f} s: {self.requests_per_second:.1f} req/s, "
            f"p50 {ms(self.p50_ms)}, p99 {ms(self.p99_ms)}, {self.errors} error(s)"
        )
        if self.rows_lost is not None:
            text += f", {self.rows_lost} prediction log row(s) lost"
            if self.rows_extra:
                text += f" ({self.rows_extra} extra: other traffic or timed-out requests)"
        if self.first_error:
            text += f"; first error: {self.first_error}"
        return text


# HTTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where requests go: scheme, host, port and the server's base path."""

    scheme: str
    host: str
    port: int
    base: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BenchError(f"--url {url!r}: expected http://host:port, e.g. {DEFAULT_URL}")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise BenchError(f"--url {url!r}: the port is not a number") from None
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    def connect(self, timeout: float) -> http.client.HTTPConnection:
        kind = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return kind(self.host, self.port, timeout=timeout)


class Client:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, target: Target, timeout: float) -> None:
        self.target, self.timeout = target, timeout
        self.connection = target.connect(timeout)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        for attempt in (1, 2):
            try:
                self.connection.request(method, self.target.base + path, body, headers)
                response = self.connection.getresponse()
                return response.status, response.read()  # read all: the connection is reused
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                if attempt == 2:
                    raise
                self.connection = self.target.connect(self.timeout)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


def probe(target: Target, payload: str, url: str, timeout: float) -> None:
    """Fail fast, with the fix, when nothing (or the wrong server) answers at ``url``."""
    client = Client(target, timeout)
    try:
        status, _ = client.request("GET", PROBES[payload])
    except (OSError, http.client.HTTPException) as error:
        start = "start it with `make serve &`" if payload == "crisp" else "start the server"
        raise BenchError(f"no server answers at {url} ({error}); {start}, or pass --url") from None
    finally:
        client.close()
    if payload == "crisp" and status not in (200, 503):  # 503: up, its log degraded
        raise BenchError(
            f"GET {url}/health answered HTTP {status}: is this the project's serving app "
            "(`make serve`)? For `mlflow models serve` pass --payload mlflow"
        )


def check_answer(payload: str, status: int, answer: bytes) -> None:
    """The first answer: refuse to benchmark the wrong server or a payload it rejects."""
    if status != 200:
        raise BenchError(
            f"the server refused the first request with HTTP {status}: "
            f"{answer[:300].decode(errors='replace')}; check --payload and --rows-from"
        )
    try:
        decoded = json.loads(answer)
    except json.JSONDecodeError:
        decoded = None
    if payload == "crisp" and not (isinstance(decoded, dict) and "ids" in decoded):
        raise BenchError(
            f"POST /predict answered {answer[:200]!r}, not predictions with ids: is this "
            "the project's serving app? For `mlflow models serve` pass --payload mlflow"
        )


# The load ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one client thread saw."""

    latencies: list[float]
    errors: int = 0
    first_error: str | None = None


def client_loop(
    target: Target, path: str, work: Sequence[bytes], timeout: float, stop: threading.Event
) -> Tally:
    """Post ``work`` one by one over one connection, timing each answer."""
    tally = Tally(latencies=[])
    failures = 0
    client = Client(target, timeout)
    try:
        for body in work:
            if stop.is_set():
                break
            start = time.perf_counter()
            try:
                status, answer = client.request("POST", path, body)
            except (OSError, http.client.HTTPException) as error:
                status, answer = 0, f"{type(error).__name__}: {error}".encode()
                client.close()
                client = Client(target, timeout)
            elapsed = time.perf_counter() - start
            if status == 200:
                tally.latencies.append(elapsed)
                failures = 0
                continue
            tally.errors += 1
            failures += 1
            if tally.first_error is None:
                tally.first_error = f"HTTP {status}: {answer[:200].decode(errors='replace')}"
            if failures >= MAX_CONSECUTIVE_FAILURES:
                stop.set()  # the server is broken: every client stops
    finally:
        client.close()
    return tally


def drive(
    target: Target, path: str, work: Sequence[bytes], clients: int, timeout: float
) -> tuple[list[Tally], float]:
    """Run ``work`` from ``clients`` threads at once; the tallies and the wall time."""
    stop = threading.Event()
    tallies: list[Tally | None] = [None] * clients

    def run(index: int) -> None:
        share = work[index::clients]
        try:
            tallies[index] = client_loop(target, path, share, timeout, stop)
        except Exception as error:  # a client's own bug: its share counts as failed
            tallies[index] = Tally([], errors=len(share), first_error=repr(error))

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    # Each request is bounded by its timeout (twice, with the one reconnection).
    deadline = 2 * timeout * (len(work) // clients + 1) + 10
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - (time.perf_counter() - start)))
    seconds = time.perf_counter() - start
    if any(thread.is_alive() for thread in threads):
        stop.set()
        raise BenchError(f"the clients did not finish within {deadline:.0f} s")
    return [t for t in tallies if t is not None], seconds


# The prediction log ------------------------------------------------------------------------


class LogCounter:
    """Counts the project's prediction log, never writing to it or to its spill file."""

    def __init__(self, url: str) -> None:
        self.url = url
        sqlite = url.startswith("sqlite:///") and url != "sqlite:///:memory:"
        if sqlite and not Path(url.removeprefix("sqlite:///")).is_file():
            raise BenchError(
                f"no prediction log at {url}: the server writes it; is the server at --url "
                "this project's (`make serve` here)? Or set CRISP_PREDICTION_LOG_URL"
            )
        self._spill_dir = tempfile.TemporaryDirectory(prefix="crisp-bench-")
        # A spill folder of its own: this reader must not replay the server's spill file.
        self.log = PredictionLog(url, spill_dir=Path(self._spill_dir.name))

    def count(self) -> int:
        try:
            return self.log.count()
        except PredictionLogUnavailable as error:
            raise BenchError(f"cannot count the prediction log: {error}") from None

    def wait_for(self, rows: int, timeout: float) -> int:
        """Count until the log holds ``rows`` or ``timeout`` s passed; the last count."""
        deadline = time.monotonic() + timeout
        while True:
            counted = self.count()
            if counted >= rows or time.monotonic() >= deadline:
                return counted
            time.sleep(POLL)

    def close(self) -> None:
        self.log.close(timeout=1.0)
        self._spill_dir.cleanup()


# The run -----------------------------------------------------------------------------------


def benchmark(
    url: str,
    work: Sequence[bytes],
    payload: str,
    clients: int,
    counter: LogCounter | None = None,
    warmup: int = DEFAULT_WARMUP,
    timeout: float = TIMEOUT,
    flush_wait: float = FLUSH_WAIT,
) -> Result:
    """Warm up, then post ``work`` from ``clients`` threads; with ``counter``, check the
    log holds one new row per answered request (warm-up requests included)."""
    if clients < 1 or not work:
        raise BenchError("need at least one client and one request")
    target = Target.parse(url)
    path = PAYLOADS[payload][0]
    probe(target, payload, url, timeout)
    before = counter.count() if counter else None
    warmed = 0  # answered warm-up requests: the log holds them too
    client = Client(target, timeout)
    try:
        for index in range(max(1, warmup)):  # not timed: connections, caches, lazy imports
            status, answer = client.request("POST", path, work[index % len(work)])
            if index == 0:
                check_answer(payload, status, answer)
            warmed += status == 200
    except (OSError, http.client.HTTPException) as error:
        raise BenchError(f"the warm-up requests to {url} failed: {error}") from None
    finally:
        client.close()
    tallies, seconds = drive(target, path, work, clients, timeout)
    latencies = [s * 1000 for tally in tallies for s in tally.latencies]
    errors = sum(tally.errors for tally in tallies)
    lost = extra = after = None
    if counter is not None and before is not None:
        answered = warmed + len(latencies)
        after = counter.wait_for(before + answered, flush_wait)
        lost, extra = rows_lost(answered, before, after)
    return Result(
        payload=payload,
        url=url,
        clients=clients,
        requests=len(work),
        answered=len(latencies),
        errors=errors,
        seconds=round(seconds, 4),
        requests_per_second=round(len(latencies) / seconds, 2) if seconds else 0.0,
        p50_ms=round(percentile(latencies, 50), 3) if latencies else None,
        p99_ms=round(percentile(latencies, 99), 3) if latencies else None,
        mean_ms=round(sum(latencies) / len(latencies), 3) if latencies else None,
        first_error=next((t.first_error for t in tallies if t.first_error), None),
        log_rows_before=before,
        log_rows_after=after,
        rows_lost=lost,
        rows_extra=extra,
    )


def project_bodies(root: Path, part: str, payload: str, count: int) -> list[bytes]:
    """``count`` bodies from the rows of ``part`` of the project's split."""
    dataset = load_part(root, part)
    return bodies(dataset.frame, dataset.features, dataset.key, payload, count)


def open_counter(root: Path) -> LogCounter:
    """The counter of the project's prediction log (:func:`predlog.log_url`)."""
    return LogCounter(log_url(root, load_params(root / "params.yaml")))


def run(args: argparse.Namespace, root: Path) -> Result:
    work = project_bodies(root, args.rows_from, args.payload, args.requests)
    counter = open_counter(root) if args.payload == "crisp" else None
    try:
        result = benchmark(
            args.url.rstrip("/"),
            work,
            args.payload,
            args.clients,
            counter,
            warmup=args.warmup,
            timeout=args.timeout,
            flush_wait=args.flush_wait,
        )
    finally:
        if counter is not None:
            counter.close()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    return result


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m crisp_ml.runtime.bench",
        description="Concurrent clients against a running server: req/s, p50, p99, rows lost.",
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the server (default {DEFAULT_URL})")
    parser.add_argument("--clients", type=positive, default=DEFAULT_CLIENTS)
    parser.add_argument("--requests", type=positive, default=DEFAULT_REQUESTS)
    parser.add_argument("--rows-from", choices=SPLITS, default="test", help="split to send")
    parser.add_argument("--payload", choices=sorted(PAYLOADS), default="crisp")
    parser.add_argument("--json", type=Path, help="write the result to this JSON file")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP, help="untimed requests")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per request")
    parser.add_argument(
        "--flush-wait", type=float, default=FLUSH_WAIT, help="seconds to wait for the log"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = project_root()
    try:
        result = run(args, root)
    except (ConfigError, StageError, PredictionLogError, BenchError) as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    print(result.summary())
    return 1 if result.rows_lost else 0


if __name__ == "__main__":
    sys.exit(main())
