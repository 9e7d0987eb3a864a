"""``crisp-lint --report ml-test-score``: the ML Test Score as text, JSON or Markdown.

Markdown is for a pull-request comment or a GitHub job summary ($GITHUB_STEP_SUMMARY);
JSON's shape is a contract for other tools: sections, tests, final_score.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from crisp_lint import __version__
from crisp_lint.ml_test_score import TESTS_PER_SECTION, How, Result, Score

FORMATS = ("text", "json", "markdown")
CITATION = (
    "Breck et al., 2017, The ML Test Score: A Rubric for ML Production Readiness and"
    " Technical Debt Reduction"
)
SCORING = (
    "0.5 a test done by hand and documented, 1 automated; a section is the sum of its"
    f" {TESTS_PER_SECTION} tests, the final score the lowest section's"
)


def renderer(name: str) -> Callable[[Score], str]:
    if name not in FORMATS:
        raise ValueError(f"unknown ML Test Score format {name!r}")
    return {"text": render_text, "json": render_json, "markdown": render_markdown}[name]


def render_text(score: Score) -> str:
    lines = [f"ML Test Score: {_points(score.final)} (the lowest section; {SCORING})", ""]
    width = max(len(s.section.title) for s in score.sections)
    lines += [
        f"  {s.section.title:<{width}}  {_points(s.score):>4} / {TESTS_PER_SECTION}"
        for s in score.sections
    ]
    for section in score.sections:
        lines += ["", f"{section.section.title} ({_points(section.score)})"]
        for result in section.results:
            lines += _text_test(result)
    lines += _not_adopted(score)
    return "\n".join(lines) + "\n"


def _text_test(result: Result) -> list[str]:
    test = result.test
    lines = [f"  {test.label:<9} {_points(result.score):>3}  {result.how.value:<15} {test.title}"]
    indent = " " * 17
    if result.evidence:
        lines.append(f"{indent}evidence: {', '.join(result.evidence)}")
    if test.rules:
        lines.append(f"{indent}rules: {', '.join(test.rules)}")
    lines.append(f"{indent}why: {result.reason}")
    if result.unchecked:
        lines.append(f"{indent}unchecked (needs --with): {', '.join(result.unchecked)}")
    return lines


def render_json(score: Score) -> str:
    document = {
        "version": __version__,
        "report": "ml-test-score",
        "final_score": score.final,
        "max_score": TESTS_PER_SECTION,
        "adopted": score.adopted,
        "sections": [
            {
                "id": s.section.value,
                "title": s.section.title,
                "score": s.score,
                "max_score": TESTS_PER_SECTION,
                "tests": [r.test.id for r in s.results],
            }
            for s in score.sections
        ],
        "tests": [result_dict(r) for r in score.results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def result_dict(result: Result) -> dict[str, Any]:
    test = result.test
    return {
        "id": test.id,
        "label": test.label,
        "section": test.section.value,
        "title": test.title,
        "score": result.score,
        "how": result.how.value,
        "evidence": list(result.evidence),
        "rules": list(test.rules),
        "steps": list(test.steps),
        "unchecked_rules": list(result.unchecked),
        "reason": result.reason,
    }


def render_markdown(score: Score) -> str:
    parts = [
        f"## ML Test Score: {_points(score.final)} / {TESTS_PER_SECTION}\n\n",
        f"The lowest of the four section scores ({CITATION}). Scoring: {SCORING}.\n\n",
        "| Section | Score |\n|---------|------:|\n",
        *(f"| {s.section.title} | {_points(s.score)} |\n" for s in score.sections),
    ]
    for section in score.sections:
        parts.append(f"\n### {section.section.title}: {_points(section.score)}\n\n")
        parts.append("| Test | Score | How | Evidence | Rules | Why |\n")
        parts.append("|------|------:|-----|----------|-------|-----|\n")
        parts.extend(_markdown_row(r) for r in section.results)
    parts.extend(f"\n{line}\n" for line in _not_adopted(score))
    return "".join(parts)


def _markdown_row(result: Result) -> str:
    test = result.test
    evidence = "<br>".join(f"`{_cell(e)}`" for e in result.evidence) or "-"
    rules = ", ".join(test.rules) or "-"
    mark = {How.AUTOMATED: "✅", How.MANUAL: "🟡", How.NONE: "❌", How.NOT_OBSERVABLE: "⚪"}
    how = f"{mark[result.how]} {result.how.value}"
    return (
        f"| {test.label}: {_cell(test.title)} | {_points(result.score)} | {how} | {evidence}"
        f" | {rules} | {_cell(result.reason)} |\n"
    )


def _not_adopted(score: Score) -> list[str]:
    if score.adopted:
        return []
    return [
        "Not a CRISP-ML project: the phase rules did not run, so the tests they back score 0"
        " (run `crisp-ml adopt`)."
    ]


def _points(value: float) -> str:
    """0, 0.5, 1, 6.5: halves without trailing zeros."""
    return f"{value:g}"


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks."""
    return text.replace("|", "\\|").replace("\n", " ")
