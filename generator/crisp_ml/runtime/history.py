"""The monitoring history: one JSON object per monitoring run, one line each.

``reports/monitoring/history.jsonl`` is committed to git, so the trend survives every
machine and CI runner; the dashboard and the retraining trigger are functions of it alone.
Lines are appended, never rewritten: a monitoring run over a window without predictions
appends nothing, so a rerun leaves the file (and git) as it was.

Times are ISO 8601 in UTC (``2026-12-01T13:05:00.000000Z``); a window is the half-open
interval ``[since, until)``, as the prediction log reads it, so consecutive windows, each
starting at the previous ``until``, neither overlap nor leave a gap.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .pipeline import StageError, _finite

HISTORY_FILE = Path("reports/monitoring/history.jsonl")


def parse_time(text: str, source: str = "--since/--until") -> datetime:
    """An ISO 8601 time as an aware UTC datetime (a time without a zone is read as UTC)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise StageError(
            f"{source}: {text!r} is not an ISO 8601 time; write e.g. 2026-12-01T13:00:00Z"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """``moment`` as the history writes it: UTC, microseconds, a trailing Z (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every entry of the history file, oldest first; none when the file does not exist."""
    if not path.is_file():
        return []
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise StageError(
                f"{path}:{number}: not a JSON object ({error.msg}); fix or delete that line "
                "(git log -p shows what it was)"
            ) from None
        if not isinstance(entry, dict) or not isinstance(entry.get("until"), str):
            raise StageError(f"{path}:{number}: a history entry needs an `until` time")
        entries.append(entry)
    return entries


def append_entry(path: Path, entry: dict[str, Any]) -> None:
    """Append ``entry`` as one line of sorted-key JSON (NaN written as null)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(_finite(entry), sort_keys=True, allow_nan=False, separators=(",", ":"))
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")


def last_until(history: list[dict[str, Any]], path: Path = HISTORY_FILE) -> datetime | None:
    """Where the next default window starts: the ``until`` of the latest entry."""
    if not history:
        return None
    return parse_time(history[-1]["until"], source=f"{path}: the last entry's until")
