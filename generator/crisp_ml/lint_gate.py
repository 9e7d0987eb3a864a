"""Run crisp-lint on a checkout and tell whether an update made it worse."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from crisp_ml.interrupt import run_process

LINT_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class LintSummary:
    """crisp-lint's verdict on one checkout. ``errors`` are the (code, path, message) of
    every error finding, so two summaries can be compared finding by finding."""

    exit_code: int
    errors: frozenset[tuple[str, str, str]]
    warnings: int

    def to_json(self) -> dict[str, int]:
        return {"exit_code": self.exit_code, "errors": len(self.errors), "warnings": self.warnings}


def crisp_lint_command() -> list[str] | None:
    """crisp-lint from the same environment as this crisp-ml, else from PATH."""
    beside = Path(sys.executable).parent / "crisp-lint"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which("crisp-lint")
    return [found] if found else None


def run_crisp_lint(root: Path, timeout: float = LINT_TIMEOUT_SECONDS) -> LintSummary | None:
    """crisp-lint's JSON findings for ``root``; None when crisp-lint is missing or broken.

    Exit codes 0 (clean) and 1 (findings) carry a report; anything else (2: usage or config
    error, a crash) means there is no verdict to compare, which must not block an update.
    """
    command = crisp_lint_command()
    if command is None:
        return None
    try:
        done = run_process([*command, "--output-format", "json"], cwd=root, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode not in (0, 1):
        return None
    try:
        report = json.loads(done.stdout)
        findings = report["findings"]
        errors = frozenset(
            (f["code"], f["path"], f["message"]) for f in findings if f["severity"] == "error"
        )
        warnings = sum(1 for f in findings if f["severity"] == "warning")
    except (ValueError, KeyError, TypeError):
        return None
    return LintSummary(done.returncode, errors, warnings)


def new_errors(before: LintSummary | None, after: LintSummary | None) -> list[tuple[str, str]]:
    """(code, path) of error findings present after the update and not before it."""
    if before is None or after is None:
        return []
    return sorted((code, path) for code, path, _ in after.errors - before.errors)
