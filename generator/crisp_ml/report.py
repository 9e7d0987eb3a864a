"""How ``crisp-ml update`` reports a fleet: a table for people, JSON for tools.

The JSON document is a contract (docs/updating.md): ``version`` of the format, a
``summary`` with a count per status, and ``repos`` with one object per repository in the
order given.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from crisp_ml.fleet import FleetRun
from crisp_ml.repo_update import RepoResult, Status

FORMAT_VERSION = 1


def fleet_json(run: FleetRun) -> str:
    counts = Counter(result.status for result in run.results)
    document: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "summary": {
            "total": len(run.results),
            **{status.value: counts.get(status, 0) for status in Status},
            "needs_human": sum(1 for r in run.results if r.status.needs_human),
            "duration_seconds": round(run.duration, 2),
            "repos_per_minute": round(run.repos_per_minute, 1),
        },
        "repos": [result.to_json() for result in run.results],
    }
    return json.dumps(document, indent=2)


def fleet_table(run: FleetRun) -> str:
    """A plain-text table, one row per repo, then a totals line."""
    header = ("REPO", "STATUS", "FROM", "TO", "DETAIL")
    rows = [header] + [_row(result) for result in run.results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        + "  "
        + row[-1]
        for row in rows
    ]
    notes = [(r.repo, note) for r in run.results for note in r.migration_notes]
    if notes:
        lines.append("")
        lines.append("The template's migrations said:")
        lines.extend(f"  {repo}: {note}" for repo, note in notes)
    counts = Counter(result.status for result in run.results)
    totals = ", ".join(f"{counts[s]} {s.value}" for s in Status if counts.get(s))
    count = len(run.results)
    lines.append("")
    lines.append(
        f"{count} {'repo' if count == 1 else 'repos'} in {run.duration:.1f} s "
        f"({run.repos_per_minute:.1f} repos/min): {totals or 'nothing to do'}"
    )
    return "\n".join(lines)


def _row(result: RepoResult) -> tuple[str, str, str, str, str]:
    detail = result.message
    if result.kept_deleted:
        detail += f" (kept deleted: {', '.join(result.kept_deleted)})"
    if result.removed:
        detail += f" (template removed: {', '.join(result.removed)})"
    return (
        result.repo,
        result.status.value,
        result.from_version or "-",
        result.to_version or "-",
        detail,
    )
