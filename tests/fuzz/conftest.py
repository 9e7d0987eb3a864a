"""Fixtures for the fuzz suite: a valid project (the rule tests' fixture) to break, one file
at a time, and a record of every case's wall time, written at the end of the session."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
for folder in (TESTS / "lint", TESTS / "lint" / "rules"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from fuzzlib import CASES  # noqa: E402
from rule_fixture import build_valid_project  # noqa: E402


@pytest.fixture(scope="session")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_valid_project(tmp_path_factory.mktemp("fuzz") / "project").root


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if not CASES:
        return
    worst = max(CASES, key=lambda case: case[1])
    summary = {
        "cases": len(CASES),
        "max_seconds": round(worst[1], 4),
        "slowest": worst[0],
        "by_target": {},
    }
    for target, seconds in CASES:
        entry = summary["by_target"].setdefault(target, {"cases": 0, "max_seconds": 0.0})
        entry["cases"] += 1
        entry["max_seconds"] = round(max(entry["max_seconds"], seconds), 4)
    out = TESTS.parent / "build" / "fuzz-stats.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    terminalreporter.write_line(
        f"fuzz: {summary['cases']} cases, max {summary['max_seconds']} s ({worst[0]});"
        f" details in {out.relative_to(TESTS.parent)}"
    )
