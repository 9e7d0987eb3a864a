"""``--statistics``: how many findings each rule has, most frequent first (like ruff)."""

from __future__ import annotations

import json
from collections import Counter

from crisp_lint.engine import Report


def render_statistics(report: Report, output_format: str) -> str:
    counts = Counter(f.code for f in report.findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    if output_format == "json":
        document = [
            {"code": code, "title": report.rules[code].title, "count": count}
            for code, count in rows
        ]
        return json.dumps(document, indent=2) + "\n"
    width = len(str(max(counts.values(), default=0)))
    return "".join(
        f"{count:>{width}}\t{code}\t{report.rules[code].title}\n" for code, count in rows
    )
