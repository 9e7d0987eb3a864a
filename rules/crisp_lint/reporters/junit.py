"""JUnit XML for CI test dashboards: one test case per rule, so a green row per met rule.

A rule with error findings fails; warnings and infos are listed in the case's output; rules
that did not run (later phases, not selected) are skipped, with the reason.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from crisp_lint.engine import Report
from crisp_lint.model import Severity
from crisp_lint.reporters.text import format_finding

# Characters XML 1.0 forbids even escaped; a message quoting a team's file may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def render(report: Report) -> str:
    suite = ElementTree.Element("testsuite", name="crisp-lint", tests=str(len(report.rules)))
    failures = skipped = 0
    for code, rule in report.rules.items():
        case = ElementTree.SubElement(
            suite,
            "testcase",
            classname=f"crisp-lint.{rule.phase.value}",
            name=f"{code} {rule.title}",
        )
        found = [f for f in report.findings if f.code == code]
        errors = [f for f in found if f.severity is Severity.ERROR]
        if code in report.skipped and code not in report.ran:
            skipped += 1
            ElementTree.SubElement(case, "skipped", message=report.skipped[code])
        elif errors:
            failures += 1
            failure = ElementTree.SubElement(
                case, "failure", message=f"{len(errors)} finding(s) of {code}", type=code
            )
            failure.text = _xml_text("\n".join(format_finding(f) for f in errors))
        others = [f for f in found if f.severity is not Severity.ERROR]
        if others:
            ElementTree.SubElement(case, "system-out").text = _xml_text(
                "\n".join(format_finding(f) for f in others)
            )
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    root = ElementTree.Element("testsuites", name="crisp-lint")
    root.append(suite)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _xml_text(text: str) -> str:
    """``text`` with each character XML cannot hold written as its escape (``\\x1b``)."""
    return _NOT_XML.sub(lambda match: ascii(match[0])[1:-1], text)
