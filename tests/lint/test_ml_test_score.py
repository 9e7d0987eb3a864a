"""``crisp-lint --report ml-test-score``: the ML Test Score (Breck et al., 2017) of a
repository, computed from crisp-lint's rules and the artefacts they read."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lint_helpers import RepoMaker, git

from crisp_lint.cli import run
from crisp_lint.docs import render
from crisp_lint.ml_test_score import (
    NOT_OBSERVABLE,
    TESTS,
    How,
    Result,
    Score,
    Section,
    SectionResult,
)
from crisp_lint.model import LIFECYCLE
from crisp_lint.registry import load_registry

REPORT = ("--report", "ml-test-score")
SECTIONS = ["data", "model", "infrastructure", "monitoring"]
TEST_KEYS = {"id", "section", "title", "score", "how", "evidence", "rules", "reason"}
NOT_OBSERVABLE_TESTS = {"data-3", "data-6", "monitoring-3", "monitoring-5", "monitoring-6"}
HEAVY = ("dvc", "mlflow", "pandas", "numpy", "sklearn", "copier", "jinja2")


def report(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    """The JSON report of ``path``; the run must exit 0 (a report, not a gate)."""
    assert run([str(path), *REPORT, "--output-format", "json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def by_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {test["id"]: test for test in document["tests"]}


@pytest.fixture
def editable_project(generated_project: Path, tmp_path: Path) -> Path:
    """A copy of the generated project (with its git history) that a test may change."""
    return Path(shutil.copytree(generated_project, tmp_path / "project", symlinks=True))


# The rubric itself


def test_the_table_has_the_papers_28_tests_seven_per_section() -> None:
    assert len(TESTS) == 28
    assert [t.section for t in TESTS] == [s for s in Section for _ in range(7)]
    assert [t.number for t in TESTS] == list(range(1, 8)) * 4
    titles = {t.label: t.title for t in TESTS}
    assert titles["Data 1"] == "Feature expectations are captured in a schema"
    assert titles["Model 1"] == "Model specs are reviewed and submitted"
    assert titles["Infra 1"] == "Training is reproducible"
    assert titles["Monitor 1"] == "Dependency changes result in notification"


def test_every_rule_the_table_names_exists_in_the_registry() -> None:
    known = set(load_registry())
    assert sorted({code for t in TESTS for code in t.rules} - known) == []


def test_every_checklist_step_the_table_names_is_a_step_of_a_generated_project(
    generated_project: Path,
) -> None:
    text = "".join(
        (generated_project / phase.folder / "CHECKLIST.md").read_text(encoding="utf-8")
        for phase in LIFECYCLE
    )
    steps = set(re.findall(r"^\| (\d\.\d+) \|", text, flags=re.MULTILINE))
    assert sorted({step for t in TESTS for step in t.steps} - steps) == []


def test_a_test_crisp_lint_cannot_see_has_no_rules_and_says_why() -> None:
    hidden = [t for t in TESTS if not t.observable]
    assert {t.id for t in hidden} == NOT_OBSERVABLE_TESTS
    assert all(not t.rules and not t.steps and not t.automated_by and t.note for t in hidden)


def test_the_final_score_is_the_lowest_sections_sum() -> None:
    def section(section: Section, *points: float) -> SectionResult:
        tests = [t for t in TESTS if t.section is section]
        results = [Result(t, p, How.MANUAL, "") for t, p in zip(tests, points, strict=False)]
        return SectionResult(section, tuple(results))

    score = Score(
        (
            section(Section.DATA, 1, 1, 0.5),
            section(Section.MODEL, 0.5, 0.5),
            section(Section.INFRASTRUCTURE, 1, 1, 1),
            section(Section.MONITORING, 1, 0.5, 0.5, 0.5),
        )
    )
    assert [s.score for s in score.sections] == [2.5, 1.0, 3.0, 2.5]
    assert score.final == 1.0


# A freshly generated project


def test_a_generated_project_lists_every_test_with_its_score_and_evidence(
    generated_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = report(generated_project, capsys)
    assert [s["id"] for s in document["sections"]] == SECTIONS
    assert [t["id"] for t in document["tests"]] == [t.id for t in TESTS]
    assert all(set(t) >= TEST_KEYS for t in document["tests"])
    for section in document["sections"]:
        tests = [t for t in document["tests"] if t["section"] == section["id"]]
        assert section["tests"] == [t["id"] for t in tests]
        assert section["score"] == sum(t["score"] for t in tests)
    assert document["final_score"] == min(s["score"] for s in document["sections"])
    assert {t["score"] for t in document["tests"]} <= {0, 0.5, 1}


def test_a_generated_project_gets_credit_for_what_its_ci_runs(
    generated_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = by_id(report(generated_project, capsys))
    # The monitor stage is in dvc.yaml and CI reproduces the pipeline.
    monitor = tests["monitoring-2"]
    assert (monitor["score"], monitor["how"]) == (1, "automated")
    assert "dvc.yaml (stage monitor)" in monitor["evidence"]
    assert any(e.startswith(".github/workflows/") for e in monitor["evidence"])
    # crisp-lint's own privacy rules run in CI and as a pre-commit hook.
    assert tests["data-5"]["how"] == "automated"


def test_a_generated_project_is_not_credited_for_template_placeholders(
    generated_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = report(generated_project, capsys)
    tests = by_id(document)
    # Every model test waits for a phase document or a checklist step still to be done.
    assert [s["score"] for s in document["sections"] if s["id"] == "model"] == [0]
    assert document["final_score"] == 0
    assert tests["model-5"]["reason"].startswith("MO003 fails: phases/05-modelling/baseline.md")
    assert tests["model-5"]["evidence"] == []
    # No dvc.lock until the pipeline has run: training is not reproducible yet.
    assert tests["infrastructure-1"]["reason"].startswith("MO008 fails: dvc.lock")


def test_tests_crisp_lint_cannot_observe_score_0_with_the_reason(
    generated_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = by_id(report(generated_project, capsys))
    hidden = {i: t for i, t in tests.items() if t["how"] == "not observable"}
    assert set(hidden) == NOT_OBSERVABLE_TESTS
    assert all(t["score"] == 0 and t["reason"].startswith(NOT_OBSERVABLE) for t in hidden.values())


def test_the_report_judges_every_phase_whatever_phase_the_project_declares(
    generated_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The generated project is in business-understanding: monitoring rules still count.
    assert "business-understanding" in (generated_project / "pyproject.toml").read_text()
    tests = by_id(report(generated_project, capsys))
    assert tests["monitoring-7"]["reason"].startswith("MN001 fails")


def test_a_failing_rule_makes_its_test_unmet(
    editable_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = by_id(report(editable_project, capsys))["monitoring-2"]
    assert before["score"] == 1
    dvc_yaml = editable_project / "dvc.yaml"
    text = dvc_yaml.read_text(encoding="utf-8")
    # The monitor stage without its retraining trigger: MN005 fails.
    dvc_yaml.write_text(text.replace("reports/monitoring/retrain.json", "reports/x.json"))
    after = by_id(report(editable_project, capsys))["monitoring-2"]
    assert (after["score"], after["how"]) == (0, "none")
    assert after["reason"].startswith("MN005 fails: dvc.yaml")


def test_a_test_whose_rule_did_not_run_is_not_credited(
    generated_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = by_id(report(generated_project, capsys, "--ignore", "MN005"))
    assert tests["monitoring-2"]["score"] == 0
    assert "MN005 did not run (not selected)" in tests["monitoring-2"]["reason"]


# Small repositories


def adopted(make_repo: RepoMaker, files: dict[str, str]) -> Path:
    pyproject = '[project]\nname = "demo"\n\n[tool.crisp-lint]\nphase = "monitoring"\n'
    return make_repo({"pyproject.toml": pyproject, **files}, commit=True)


CHECKLIST_HEADER = (
    "| ID | Step | Status | Evidence | Signed off by | Date | Notes |\n"
    "|----|------|--------|----------|---------------|------|-------|\n"
)


def test_a_step_done_and_documented_by_hand_scores_half(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = "phases/07-deployment/production-evaluation.md"
    root = adopted(
        make_repo,
        {
            evidence: "# Evaluation in production\n\nShadow traffic for two weeks: F1 0.91.\n",
            "phases/07-deployment/CHECKLIST.md": CHECKLIST_HEADER
            + f"| 7.1 | Evaluate in production | done | {evidence} | Ada | 2026-01-05 | |\n",
        },
    )
    test = by_id(report(root, capsys))["model-2"]
    assert (test["score"], test["how"], test["evidence"]) == (0.5, "manual", [evidence])
    assert test["rules"] == ["DE005"]


def test_an_open_step_scores_0_and_names_it(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    evidence = "phases/07-deployment/production-evaluation.md"
    root = adopted(
        make_repo,
        {
            evidence: "# Evaluation in production\n\nNot yet.\n",
            "phases/07-deployment/CHECKLIST.md": CHECKLIST_HEADER
            + f"| 7.1 | Evaluate in production | open | {evidence} | | | |\n",
        },
    )
    test = by_id(report(root, capsys))["model-2"]
    assert (test["score"], test["how"]) == (0, "none")
    assert "7.1 is open" in test["reason"]


def test_dependabot_makes_dependency_notification_automated(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    without = by_id(report(adopted(make_repo, {}), capsys))["monitoring-1"]
    assert without["score"] == 0
    root = adopted(make_repo, {".github/dependabot.yml": "version: 2\nupdates: []\n"})
    test = by_id(report(root, capsys))["monitoring-1"]
    assert (test["score"], test["how"]) == (1, "automated")
    assert test["evidence"] == [".github/dependabot.yml"]


def test_retraining_counts_as_automated_only_on_a_schedule(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    def workflow(trigger: str) -> str:
        return (
            f"on:\n{trigger}\njobs:\n  retrain:\n    runs-on: ubuntu-latest\n"
            "    steps:\n      - run: dvc repro --force\n"
        )

    files = {
        "phases/08-monitoring/retraining-policy.md": "# Retraining\n\nWeekly.\n",
        "dvc.yaml": "stages:\n  monitor:\n    cmd: python monitor.py\n"
        "    deps:\n      - phases/01-business-understanding/success-criteria.yaml\n"
        "    outs:\n      - reports/monitoring/dashboard.html\n"
        "      - reports/monitoring/retrain.json\n",
    }
    on_demand = {**files, ".github/workflows/retrain.yml": workflow("  workflow_dispatch:")}
    test = by_id(report(adopted(make_repo, on_demand), capsys))["monitoring-4"]
    assert (test["score"], test["how"]) == (0, "none")
    assert test["reason"].startswith("no automation found"), test["reason"]
    schedule = "  schedule:\n    - cron: 1 * * * *"
    scheduled = {**files, ".github/workflows/retrain.yml": workflow(schedule)}
    test = by_id(report(adopted(make_repo, scheduled), capsys))["monitoring-4"]
    assert (test["score"], test["how"]) == (1, "automated"), test["reason"]
    assert test["evidence"] == [".github/workflows/retrain.yml (job retrain)"]


def test_an_empty_repository_scores_0_and_still_lists_every_test(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo({"README.md": "# nothing here\n"}, commit=True)
    document = report(root, capsys)
    assert document["final_score"] == 0
    assert document["adopted"] is False
    assert len(document["tests"]) == 28
    assert all(t["score"] == 0 for t in document["tests"])
    assert all(s["score"] == 0 for s in document["sections"])


# Output formats


def test_markdown_is_a_summary_table_and_one_table_per_section(
    generated_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([str(generated_project), *REPORT, "--output-format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("## ML Test Score: 0 / 7\n")
    assert "| Tests for features and data |" in text
    assert text.count("\n### ") == 4
    rows = [
        line for line in text.splitlines() if re.match(r"\| (Data|Model|Infra|Monitor) \d", line)
    ]
    assert [row.split(":", 1)[0].removeprefix("| ") for row in rows] == [t.label for t in TESTS]
    # Every row has its six cells: a pipe inside a reason would break the table.
    assert {len(re.findall(r"(?<!\\)\|", row)) for row in rows} == {7}


def test_text_shows_the_final_score_each_section_and_each_test(
    generated_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([str(generated_project), *REPORT]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ML Test Score: 0 (the lowest section")
    assert re.search(r"Tests for model development\s+0 / 7", text)
    assert all(f"  {t.label} " in text for t in TESTS)
    assert "why: MO003 fails" in text


def test_the_report_goes_to_the_output_file(generated_project: Path, tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    args = [str(generated_project), *REPORT, "--output-format", "markdown", "-o", str(target)]
    assert run(args) == 0
    assert target.read_text(encoding="utf-8").startswith("## ML Test Score:")


# Exit codes and usage errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([*REPORT, "--output-format", "sarif"], "--report ml-test-score writes"),
        (["--output-format", "markdown"], "works only with --report ml-test-score"),
        (["--fail-under", "1"], "--fail-under works only with --report"),
        ([*REPORT, "--statistics"], "--statistics does not apply"),
        ([*REPORT, "--phase", "modelling"], "--phase does not apply"),
    ],
)
def test_an_option_that_does_not_apply_is_a_usage_error(
    generated_project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run([str(generated_project), *args]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("args", [[*REPORT, "--fail-under", "8"], ["--report", "test-score"]])
def test_a_bad_report_or_score_is_rejected_by_the_parser(args: list[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        run(args)
    assert stop.value.code == 2


@pytest.mark.parametrize(("threshold", "code"), [("0", 0), ("0.5", 1), ("7", 1)])
def test_fail_under_exits_1_when_the_final_score_is_below_it(
    generated_project: Path, capsys: pytest.CaptureFixture[str], threshold: str, code: int
) -> None:
    # A generated project scores 0: not below 0, below anything more.
    assert run([str(generated_project), *REPORT, "--fail-under", threshold]) == code
    assert "ML Test Score: 0" in capsys.readouterr().out


# Documentation and cost


def test_the_rule_reference_documents_the_mapping_of_every_test() -> None:
    text = render(load_registry())
    mapping = text.split("\n## ML Test Score mapping\n", 1)[1]
    for test in TESTS:
        row = next(line for line in mapping.splitlines() if line.startswith(f"| {test.label}:"))
        assert test.title in row
        assert all(f"[{code}](#{code.lower()})" in row for code in test.rules)
        if not test.observable:
            assert NOT_OBSERVABLE in row


PROBE = """
import sys
from crisp_lint.cli import run
code = run([sys.argv[1], "--report", "ml-test-score", "--output-format", "json", "-o", sys.argv[2]])
print(code, " ".join(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_the_report_imports_no_heavy_library(generated_project: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(generated_project), str(tmp_path / "score.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    code, modules = done.stdout.split(" ", 1)
    assert code == "0"
    assert sorted(set(modules.split()).intersection(HEAVY)) == []


def test_a_report_of_a_git_repository_needs_no_commit_of_the_changes(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    # Files added after the last commit count, as they do for every rule.
    root = adopted(make_repo, {})
    (root / ".github").mkdir()
    (root / ".github" / "dependabot.yml").write_text("version: 2\n", encoding="utf-8")
    git(root, "add", ".github/dependabot.yml")
    assert by_id(report(root, capsys))["monitoring-1"]["score"] == 1
