"""Phase gating: earlier phases must be clean, the current one is a to-do list, later ones
wait. Exit codes follow from the severities."""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_helpers import RepoMaker, make_rule, rule_set

from crisp_lint.config import Config, ConfigError
from crisp_lint.engine import Options, Report, grade, lint
from crisp_lint.model import Phase, Problem, Severity
from crisp_lint.repo import RepoView
from crisp_lint.reporters.text import render

BU, DU, DP, MO = (
    Phase.BUSINESS_UNDERSTANDING,
    Phase.DATA_UNDERSTANDING,
    Phase.DATA_PREPARATION,
    Phase.MODELLING,
)


@pytest.mark.parametrize(
    ("rule_phase", "strict", "all_phases", "expected"),
    [
        (BU, False, False, Severity.ERROR),  # earlier: error
        (BU, True, True, Severity.ERROR),
        (DU, False, False, Severity.WARNING),  # current: warning ...
        (DU, True, False, Severity.ERROR),  # ... error with --strict
        (DP, False, False, None),  # later: not judged ...
        (DP, False, True, Severity.INFO),  # ... info with --all-phases
        (MO, True, True, Severity.INFO),
        (Phase.GENERAL, False, False, Severity.ERROR),  # general: the rule's own severity
        (Phase.GENERAL, True, True, Severity.ERROR),
    ],
)
def test_gating_matrix(
    rule_phase: Phase, strict: bool, all_phases: bool, expected: Severity | None
) -> None:
    rule = make_rule(f"{rule_phase.prefix}101", rule_phase)
    assert grade(rule, DU, strict=strict, all_phases=all_phases) is expected


def test_a_general_rule_may_declare_a_lower_severity() -> None:
    rule = make_rule("GEN101", Phase.GENERAL, severity=Severity.WARNING)
    assert grade(rule, DU, strict=True, all_phases=False) is Severity.WARNING


def one_finding_per_phase() -> dict:
    return rule_set(
        make_rule("BU101", BU, [Problem("phases/01-business-understanding/CHECKLIST.md", "a", 7)]),
        make_rule("BU102", BU, [Problem("phases/01-business-understanding/x.md", "b")]),
        make_rule("DU101", DU, [Problem("dvc.yaml", "c", 3)]),
        make_rule("DP101", DP, [Problem("params.yaml", "d")]),
        make_rule("GEN101", Phase.GENERAL, [Problem(".", "e")], severity=Severity.WARNING),
    )


def run(root: Path, declared: Phase, **options: object) -> Report:
    repo = RepoView(root, Config(phase=declared))
    return lint(repo, Options(**options), one_finding_per_phase())


def test_the_current_phase_is_a_to_do_list_that_passes(tmp_path: Path) -> None:
    report = run(tmp_path, BU)
    assert [(f.code, f.severity) for f in report.findings] == [
        ("GEN101", Severity.WARNING),
        ("BU101", Severity.WARNING),
        ("BU102", Severity.WARNING),
    ]
    assert report.exit_code() == 0
    assert report.skipped["DU101"].startswith("a later phase")


def test_strict_makes_the_current_phase_fail(tmp_path: Path) -> None:
    assert run(tmp_path, BU, strict=True).exit_code() == 1


def test_moving_the_phase_forward_while_an_earlier_one_has_findings_fails(
    tmp_path: Path,
) -> None:
    report = run(tmp_path, DP)
    assert {f.code: f.severity for f in report.findings} == {
        "BU101": Severity.ERROR,
        "BU102": Severity.ERROR,
        "DU101": Severity.ERROR,
        "DP101": Severity.WARNING,
        "GEN101": Severity.WARNING,
    }
    assert report.exit_code() == 1
    assert report.exit_code(exit_zero=True) == 0
    text = render(report)
    assert (
        "phase business-understanding is not clean: 2 items missing (BU101, BU102); "
        "finish it before working in data-preparation" in text
    )
    assert "phase data-understanding is not clean: 1 item missing (DU101)" in text
    assert "phase literature-review" not in text  # clean phases are not mentioned


def test_each_finding_is_a_line_an_editor_can_jump_to(tmp_path: Path) -> None:
    text = render(run(tmp_path, DU))
    assert (
        "phases/01-business-understanding/CHECKLIST.md:7: BU101 [error] a\n"
        "phases/01-business-understanding/x.md: BU102 [error] b\n"
    ) in text
    assert text.endswith(
        "Found 2 errors, 2 warnings in phase data-understanding: the check fails.\n"
    )


def test_later_phases_are_reported_as_info_with_all_phases(tmp_path: Path) -> None:
    report = run(tmp_path, BU, all_phases=True)
    assert {f.code: f.severity for f in report.findings}["DP101"] is Severity.INFO
    assert report.exit_code() == 0


def test_the_option_phase_overrides_the_declared_one(tmp_path: Path) -> None:
    report = run(tmp_path, BU, phase=DU)
    assert report.phase is DU
    assert report.exit_code() == 1


def test_without_a_declared_phase_the_first_is_assumed_and_said(tmp_path: Path) -> None:
    report = lint(RepoView(tmp_path), rules=one_finding_per_phase())
    assert report.phase is BU and not report.phase_declared
    assert "(assumed: declare it with" in render(report)


def test_a_clean_run_says_so(tmp_path: Path) -> None:
    report = lint(RepoView(tmp_path, Config(phase=MO)), rules=rule_set(make_rule("BU101", BU)))
    assert render(report) == "All checks passed in phase modelling.\n"
    assert report.exit_code() == 0


def test_config_strict_acts_like_the_option(tmp_path: Path) -> None:
    repo = RepoView(tmp_path, Config(phase=BU, strict=True))
    assert lint(repo, rules=one_finding_per_phase()).exit_code() == 1


def test_selection_applies_before_rules_run(tmp_path: Path) -> None:
    ran: list[str] = []

    def check(repo: RepoView) -> list[Problem]:
        ran.append("BU102")
        return []

    rules = rule_set(make_rule("BU101", BU), make_rule("BU102", BU, check=check))
    report = lint(RepoView(tmp_path), Options(ignore=("BU102",)), rules)
    assert ran == [] and report.ran == ("BU101",)
    assert report.skipped["BU102"] == "not selected"


def test_config_and_options_combine_like_ruff(tmp_path: Path) -> None:
    config = Config(phase=BU, select=("BU",), ignore=())
    rules = one_finding_per_phase()
    report = lint(
        RepoView(tmp_path, config), Options(extend_select=("GEN",), ignore=("BU102",)), rules
    )
    assert report.ran == ("BU101", "GEN101")
    report = lint(RepoView(tmp_path, config), Options(select=("GEN",)), rules)
    assert report.ran == ("GEN101",)


def test_an_unknown_selector_is_a_config_error_naming_where(tmp_path: Path) -> None:
    config = Config(select=("BU999",), source="pyproject.toml")
    with pytest.raises(ConfigError, match=r"pyproject.toml: select: unknown rule `BU999`"):
        lint(RepoView(tmp_path, config), rules=one_finding_per_phase())
    with pytest.raises(ConfigError, match=r"--ignore: unknown rule `DU9`"):
        lint(RepoView(tmp_path), Options(ignore=("DU9",)), one_finding_per_phase())


def test_rules_that_need_more_input_run_only_when_allowed(tmp_path: Path) -> None:
    rules = rule_set(make_rule("BU101", BU, [Problem(".", "history")], needs="git-history"))
    assert lint(RepoView(tmp_path), rules=rules).findings == []
    report = lint(RepoView(tmp_path), Options(needs=frozenset({"git-history"})), rules)
    assert [f.message for f in report.findings] == ["history"]
    with pytest.raises(ConfigError, match="--with: unknown input `server`"):
        lint(RepoView(tmp_path), Options(needs=frozenset({"server"})), rules)


def test_a_crashing_rule_becomes_a_finding_and_the_others_still_run(tmp_path: Path) -> None:
    import crisp_lint.engine_rules as engine_rules
    from crisp_lint.model import REGISTRY

    def crash(repo: RepoView) -> list[Problem]:
        raise KeyError("stages")

    rules = rule_set(
        make_rule("BU101", BU, check=crash),
        make_rule("BU102", BU, [Problem("x.md", "still reported")]),
        REGISTRY[engine_rules.INTERNAL_ERROR],
    )
    report = lint(RepoView(tmp_path, Config(phase=DU)), rules=rules)
    assert [(f.code, f.path, f.message) for f in report.findings] == [
        ("GEN003", ".", "internal error in rule BU101: KeyError: 'stages'"),
        ("BU102", "x.md", "still reported"),
    ]


def test_excluded_paths_drop_their_findings(make_repo: RepoMaker) -> None:
    root = make_repo({})
    rules = rule_set(
        make_rule("BU101", BU, [Problem("scratch/a/b.md", "x"), Problem("./docs/c.md", "y")])
    )
    report = lint(RepoView(root, Config(exclude=("scratch",))), rules=rules)
    assert [f.path for f in report.findings] == ["docs/c.md"]
