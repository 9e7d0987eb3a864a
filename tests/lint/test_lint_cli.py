"""The crisp-lint command: options, exit codes (0 clean, 1 failing findings, 2 usage or
configuration error) and the rule listing. The registry is replaced by test rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lint_helpers import RepoMaker, make_rule, rule_set

from crisp_lint import registry
from crisp_lint.cli import find_root, run
from crisp_lint.model import Phase, Problem, Rule

BU, DU = Phase.BUSINESS_UNDERSTANDING, Phase.DATA_UNDERSTANDING


def fake_registry() -> dict[str, Rule]:
    return rule_set(
        make_rule(
            "BU101", BU, [Problem("phases/01-business-understanding/CHECKLIST.md", "open", 7)]
        ),
        make_rule("DU101", DU, [Problem("dvc.yaml", "no ingest stage")]),
        make_rule(
            "MO101", Phase.MODELLING, [Problem("dvc.yaml", "no train stage")], needs="mlflow"
        ),
    )


@pytest.fixture(autouse=True)
def only_test_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "load_registry", fake_registry)


def project(make_repo: RepoMaker, phase: str = "business-understanding", extra: str = "") -> Path:
    return make_repo({"pyproject.toml": f'[tool.crisp-lint]\nphase = "{phase}"\n{extra}'})


def test_current_phase_findings_are_warnings_and_exit_0(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([str(project(make_repo))]) == 0
    out = capsys.readouterr().out
    assert "BU101 [warning] open" in out


def test_moving_the_phase_forward_fails_and_says_what_is_missing(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([str(project(make_repo, "data-understanding"))]) == 1
    out = capsys.readouterr().out
    assert "phase business-understanding is not clean: 1 item missing (BU101)" in out


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ([], 0),
        (["--strict"], 1),
        (["--strict", "--exit-zero"], 0),
        (["--phase", "data-understanding"], 1),
        (["--phase", "data-understanding", "--ignore", "BU"], 0),
        (["--phase", "data-understanding", "--select", "DU,MO"], 0),
        (["--phase", "data-understanding", "--select", "DU", "--extend-select", "BU101"], 1),
        (["--all-phases"], 0),
    ],
)
def test_exit_codes(make_repo: RepoMaker, args: list[str], code: int) -> None:
    assert run([str(project(make_repo)), *args]) == code


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--phase", "testing"], "--phase: unknown phase 'testing'"),
        (["--select", "BU999"], "--select: unknown rule `BU999`"),
        (["--ignore", "E501"], "--ignore: `E501` is not a rule code or prefix"),
        (["--with", "server"], "--with: unknown input `server` (known: mlflow)"),
        (["--explain", "XX101"], "--explain: unknown rule `XX101`"),
        (["--statistics", "--output-format", "sarif"], "--statistics works with"),
        (["--config", "missing.toml"], "missing.toml: no such configuration file"),
    ],
)
def test_usage_errors_exit_2_and_name_the_culprit(
    make_repo: RepoMaker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    root = project(make_repo)
    monkeypatch.chdir(root)
    assert run([str(root), *args]) == 2
    assert message in capsys.readouterr().err


def test_a_bad_key_in_pyproject_exits_2_naming_file_and_key(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(make_repo, extra="ignores = []\n")
    assert run([str(root)]) == 2
    err = capsys.readouterr().err
    assert "pyproject.toml: [tool.crisp-lint]: unknown key `ignores`" in err


def test_malformed_pyproject_exits_2_naming_file_and_line(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo({"pyproject.toml": "[tool.crisp-lint]\nphase = \n"})
    assert run([str(root)]) == 2
    assert "pyproject.toml: invalid TOML: Invalid value (at line 2, column 9)" in (
        capsys.readouterr().err
    )


def test_an_unknown_option_or_format_is_a_usage_error(make_repo: RepoMaker) -> None:
    for args in (["--no-such-option"], ["--output-format", "xml"]):
        with pytest.raises(SystemExit) as exited:
            run([str(project(make_repo)), *args])
        assert exited.value.code == 2


def test_a_path_that_is_not_a_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([str(tmp_path / "nowhere")]) == 2
    assert "nowhere: no such folder" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text("")
    assert run([str(tmp_path / "pyproject.toml")]) == 2
    assert "pyproject.toml: not a folder" in capsys.readouterr().err


def test_json_output_to_a_file(make_repo: RepoMaker, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    root = project(make_repo)
    assert run([str(root), "--output-format", "json", "--output-file", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["phase"] == "business-understanding"
    assert [f["code"] for f in document["findings"]] == ["BU101"]


def test_statistics(make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]) -> None:
    run([str(project(make_repo)), "--statistics", "--all-phases"])
    assert capsys.readouterr().out == "1\tBU101\ttest rule BU101\n1\tDU101\ttest rule DU101\n"


def test_rules_that_need_an_input_run_with_the_flag(
    make_repo: RepoMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    run([str(project(make_repo, "modelling")), "--with", "mlflow", "--output-format", "json"])
    codes = [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert sorted(codes) == ["BU101", "DU101", "MO101"]


def test_list_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--list-rules"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "BU101  business-understanding  test rule BU101",
        "DU101  data-understanding      test rule DU101",
        "MO101  modelling               test rule MO101 (needs --with mlflow)",
    ]
    assert run(["--list-rules", "--output-format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[2]["needs"] == "mlflow"


def test_explain(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--explain", "bu101"]) == 0
    assert capsys.readouterr().out == (
        "BU101: test rule BU101\n\nPhase: business-understanding\n"
        "Why: Step 0.0: a rule made by a test.\nHow to fix: Nothing to fix.\n"
    )


def test_the_command_offers_every_output_format_there_is() -> None:
    from crisp_lint import cli, reporters

    assert cli.FORMATS == reporters.FORMATS


def test_the_root_is_the_nearest_folder_with_pyproject_or_git(make_repo: RepoMaker) -> None:
    root = make_repo({"pyproject.toml": "", "phases/01-business-understanding/a.md": ""})
    assert find_root(root / "phases" / "01-business-understanding") == root


@pytest.mark.parametrize("argv", [[], ["some/project"], ["."]])
def test_the_hooks_call_skips_argparse_but_parses_alike(argv: list[str]) -> None:
    """The hook's call (none or one path) is read without argparse: into the same values."""
    from crisp_lint.cli import _common_call, _parser

    fast = _common_call(argv)
    assert fast is not None
    assert vars(fast) == vars(_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [["-h"], ["--version"], ["a", "b"], [""], ["-"], ["--phase"]])
def test_any_other_call_is_left_to_argparse(argv: list[str]) -> None:
    from crisp_lint.cli import _common_call

    assert _common_call(argv) is None
