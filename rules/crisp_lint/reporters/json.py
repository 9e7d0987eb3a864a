"""The JSON contract of docs/architecture.md: other tools parse it, so its shape is fixed."""

from __future__ import annotations

import json
from typing import Any

from crisp_lint import __version__
from crisp_lint.engine import Report
from crisp_lint.model import Finding


def render(report: Report) -> str:
    document = {
        "version": __version__,
        "phase": report.phase.value,
        "findings": [finding_dict(f) for f in report.findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "phase": finding.phase.value,
        "severity": finding.severity.value,
        "path": finding.path,
        "line": finding.line,
        "message": finding.message,
    }
