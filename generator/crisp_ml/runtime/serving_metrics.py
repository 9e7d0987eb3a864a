"""The serving app's ``/metrics``, in the Prometheus text exposition format (version 0.0.4).

Hand-written, so serving needs no client library: a handful of counters and gauges, each
with its ``# HELP`` and ``# TYPE`` lines. Request counts and latency are per arm; the
prediction log's written, spilled and failed counts and the router's per-arm statistics
are read when scraped.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

PREFIX = "crisp_serving"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServingMetrics:
    """Counters the endpoints update; thread-safe, as FastAPI runs them on a thread pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[str, int] = defaultdict(int)  # by arm
        self.rows: dict[str, int] = defaultdict(int)  # predicted rows, by arm
        self.latency_sum: dict[str, float] = defaultdict(float)  # seconds, by arm
        self.rejected = 0  # payloads refused with 422
        self.feedback: dict[str, int] = defaultdict(int)  # by outcome

    def observe(self, arm: str, rows: int, seconds: float) -> None:
        with self._lock:
            self.requests[arm] += 1
            self.rows[arm] += rows
            self.latency_sum[arm] += seconds

    def reject(self) -> None:
        with self._lock:
            self.rejected += 1

    def count_feedback(self, outcome: str) -> None:
        with self._lock:
            self.feedback[outcome] += 1

    def render(self, router: Mapping[str, Any], log: Mapping[str, Any]) -> str:
        """The exposition text, with ``router`` = Router.summary(), ``log`` = log.metrics()."""
        with self._lock:
            lines = [
                *_family(
                    "requests_total",
                    "counter",
                    "predict requests answered, by arm",
                    _by("arm", self.requests),
                ),
                *_family(
                    "predicted_rows_total",
                    "counter",
                    "rows predicted, by arm",
                    _by("arm", self.rows),
                ),
                *_family(
                    "request_latency_seconds_sum",
                    "counter",
                    "time spent answering predict requests, by arm",
                    _by("arm", self.latency_sum),
                ),
                *_family(
                    "request_latency_seconds_count",
                    "counter",
                    "predict requests timed, by arm",
                    _by("arm", self.requests),
                ),
                *_family(
                    "rejected_requests_total",
                    "counter",
                    "predict payloads refused with 422",
                    [({}, self.rejected)],
                ),
                *_family(
                    "feedback_total",
                    "counter",
                    "feedback received, by outcome",
                    _by("outcome", self.feedback),
                ),
            ]
        lines += _family(
            "log_records_total",
            "counter",
            "prediction log records, by fate (written, spilled, failed)",
            [({"fate": k}, v) for k, v in sorted(log.items()) if isinstance(v, int | float)],
        )
        lines += _router_lines(router)
        return "\n".join(lines) + "\n"


def _router_lines(summary: Mapping[str, Any]) -> list[str]:
    arms = summary.get("arms") or {}
    lines: list[str] = []
    for stat in ("served", "shadowed", "errors", "rewards", "reward_sum", "mean_reward"):
        samples = [
            ({"arm": arm, "strategy": str(summary.get("strategy"))}, values.get(stat))
            for arm, values in sorted(arms.items())
            if values.get(stat) is not None
        ]
        lines += _family(f"router_{stat}", "gauge", f"router statistic {stat}, by arm", samples)
    if "rolled_back" in summary:
        lines += _family(
            "router_rolled_back",
            "gauge",
            "1 once the canary rolled back",
            [({}, int(bool(summary["rolled_back"])))],
        )
    return lines


def _by(label: str, values: Mapping[str, float]) -> list[tuple[dict[str, str], float]]:
    return [({label: key}, value) for key, value in sorted(values.items())]


def _family(
    name: str, kind: str, help_text: str, samples: Iterable[tuple[dict[str, str], Any]]
) -> list[str]:
    full = f"{PREFIX}_{name}"
    lines = [f"# HELP {full} {help_text}", f"# TYPE {full} {kind}"]
    for labels, value in samples:
        lines.append(f"{full}{_labels(labels)} {_number(value)}")
    return lines


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    escaped = (
        f'{key}="{str(value).replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for key, value in labels.items()
    )
    return "{" + ",".join(escaped) + "}"


def _number(value: Any) -> str:
    number = float(value)
    if math.isnan(number):
        return "NaN"
    return repr(number) if not number.is_integer() else str(int(number))
