"""SARIF 2.1.0, the format GitHub code scanning (and most CI dashboards) ingest."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from crisp_lint import __version__
from crisp_lint.engine import Report
from crisp_lint.model import Finding, Rule, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
RULES_URI = "https://github.com/crisp-ml/crisp-ml/blob/main/docs/rules.md"


def render(report: Report) -> str:
    rules = list(report.rules.values())
    index = {rule.code: i for i, rule in enumerate(rules)}
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "crisp-lint",
                        "version": __version__,
                        "informationUri": RULES_URI,
                        "rules": [_rule(rule) for rule in rules],
                    }
                },
                # No "uri": SARIF allows a relative one only against another base, and the
                # root's absolute path differs per checkout (GitHub resolves to the repo).
                "originalUriBaseIds": {
                    SRCROOT: {"description": {"text": "The root of the checked repository."}}
                },
                "results": [_result(f, index.get(f.code)) for f in report.findings],
                "properties": {"phase": report.phase.value},
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.title,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.rationale},
        "help": {"text": rule.fix, "markdown": f"**How to fix:** {rule.fix}"},
        "helpUri": f"{RULES_URI}#{rule.code.lower()}",
        "properties": {"phase": rule.phase.value},
    }


def _result(finding: Finding, rule_index: int | None) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": artifact_location(finding.path)}
    if finding.line is not None and finding.line >= 1:
        location["region"] = {"startLine": finding.line}
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": location}],
        "properties": {"phase": finding.phase.value},
    }
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    return result


def artifact_location(path: str) -> dict[str, str]:
    """A URI reference for ``path``: percent-encoded (a space is not valid in a URI), relative
    to %SRCROOT% inside the repository, an absolute ``file:`` URI outside it (a --config
    file elsewhere), since SARIF allows a base only for a relative reference."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": SRCROOT}
