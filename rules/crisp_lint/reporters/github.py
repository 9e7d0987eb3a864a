"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request."""

from __future__ import annotations

from crisp_lint.engine import Report
from crisp_lint.model import Finding, Severity
from crisp_lint.reporters.text import unclean_phases

COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report) -> str:
    lines = [format_finding(f) for f in report.findings]
    # The reason a phase move fails, as one annotation on the run itself.
    lines.extend(f"::error title=crisp-lint::{_data(line)}" for line in unclean_phases(report))
    return "".join(line + "\n" for line in lines)


def format_finding(finding: Finding) -> str:
    properties = [f"file={_property(finding.path)}"]
    if finding.line is not None:
        properties.append(f"line={finding.line}")
    properties.append(f"title={_property(finding.code)}")
    message = _data(finding.message)
    return f"::{COMMAND[finding.severity]} {','.join(properties)}::{message}"


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")
