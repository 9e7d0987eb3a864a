"""Human-readable output, one finding a line (``path:line: CODE [severity] message``) so
editors and terminals can jump to it, then what it means for the phase."""

from __future__ import annotations

from crisp_lint.engine import NOT_SELECTED, Report
from crisp_lint.model import Finding, Severity


def render(report: Report) -> str:
    lines = [format_finding(f) for f in report.findings]
    if lines:
        lines.append("")
    lines.extend(unclean_phases(report))
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def unclean_phases(report: Report) -> list[str]:
    """One line per phase before the current one that still has findings."""
    lines = []
    for phase, found in report.unclean_earlier_phases():
        codes = ", ".join(sorted({f.code for f in found}))
        items = "item" if len(found) == 1 else "items"
        lines.append(
            f"phase {phase.value} is not clean: {len(found)} {items} missing ({codes}); "
            f"finish it before working in {report.phase.value}"
        )
    return lines


def format_finding(finding: Finding) -> str:
    where = finding.path if finding.line is None else f"{finding.path}:{finding.line}"
    return f"{where}: {finding.code} [{finding.severity.value}] {finding.message}"


def summary(report: Report) -> str:
    phase = report.phase.value
    if not report.phase_declared:
        phase += ' (assumed: declare it with `phase = "..."` in [tool.crisp-lint])'
    errors, warnings = report.count(Severity.ERROR), report.count(Severity.WARNING)
    infos = report.count(Severity.INFO)
    if not report.ran:
        return _nothing_ran(report, phase)
    if not report.adopted:
        total = len(report.findings)
        return (
            f"Not a CRISP-ML project: the phase rules did not run; {total}"
            f" {_plural(total, 'finding')} (GEN006 says how to adopt it)."
        )
    if not report.findings:
        return f"All checks passed in phase {phase}."
    counts = [f"{errors} {_plural(errors, 'error')}", f"{warnings} {_plural(warnings, 'warning')}"]
    if infos:
        counts.append(f"{infos} info about later phases")
    verdict = "fails" if errors else "passes (warnings are the current phase's to-do list)"
    return f"Found {', '.join(counts)} in phase {phase}: the check {verdict}."


def _nothing_ran(report: Report, phase: str) -> str:
    """Why no selected rule ran (a later phase, an input not given): "all checks passed"
    would claim a check that never happened."""
    why: dict[str, list[str]] = {}
    for code, reason in report.skipped.items():
        if reason != NOT_SELECTED:
            why.setdefault(reason, []).append(code)
    if not why:
        return f"No rule ran in phase {phase}: the selection matches none."
    reasons = "; ".join(f"{', '.join(codes)}: {reason}" for reason, codes in why.items())
    return f"No rule ran in phase {phase}. {reasons}."


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
