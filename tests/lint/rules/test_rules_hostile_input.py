"""Hostile input (issue 9): YAML bombs, recursive and deep documents, FIFOs, git that
cannot answer, symlinked evidence, stage cycles (GEN025), the time budget (GEN005), an
empty selection, an output that cannot encode every character, DVC outputs git must not walk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rule_fixture import SIGNED, Project

import crisp_lint.repo as repo_module
from crisp_lint.cli import run
from crisp_lint.engine import Options, lint
from crisp_lint.model import Phase
from crisp_lint.repo import RepoView

BIN = Path(sys.executable).parent


def billion_laughs() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
        previous = name
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_params_file_is_refused_in_milliseconds(project: Project) -> None:
    project.write("params.yaml", billion_laughs())
    start = time.perf_counter()
    view = RepoView(project.root)
    assert view.params() is None
    messages = [p.message for p in view.problems("GEN002") if p.path == "params.yaml"]
    problems = project.problems("GEN014")
    assert time.perf_counter() - start < 1
    assert problems == []
    assert any("too many aliases/nodes" in m and "YAML bombs are refused" in m for m in messages), (
        messages
    )


def test_a_recursive_yaml_is_refused_with_a_clear_message(project: Project) -> None:
    project.write("dvc.yaml", "stages: &s\n  train: *s\n")
    view = RepoView(project.root)
    assert view.dvc_yaml() is None
    (problem,) = view.problems("GEN002")
    assert problem.path == "dvc.yaml"
    assert "recursive alias" in problem.message


def test_aliases_within_the_budget_still_parse(project: Project) -> None:
    project.write("params.yaml", "base: &b {lr: 0.1, depth: 3}\ntrain:\n  <<: *b\n  lr: 0.2\n")
    view = RepoView(project.root)
    assert view.params() == {"base": {"lr": 0.1, "depth": 3}, "train": {"lr": 0.2, "depth": 3}}


@pytest.mark.parametrize(
    ("rel", "text"),
    [
        ("reports/evaluation/metrics.json", "[" * 500 + "]" * 500),
        ("reports/evaluation/metrics.json", "[" * 100_000 + "]" * 100_000),
        ("pyproject.toml.extra.toml", "a = " + "[" * 500 + "]" * 500 + "\n"),
        ("params.yaml", "".join("  " * i + "k:\n" for i in range(400)) + "  " * 400 + "k: 1\n"),
    ],
    ids=["json 500 deep", "json 100000 deep", "toml 500 deep", "yaml 400 deep"],
)
def test_deep_nesting_is_a_parse_finding_not_a_recursion_error(
    project: Project, rel: str, text: str
) -> None:
    project.write(rel, text)
    view = RepoView(project.root)
    kind = rel.rsplit(".", 1)[1]
    value = {"json": view.json, "toml": view.toml, "yaml": view.yaml}[kind](rel)
    assert value is None
    (problem,) = view.problems("GEN002")
    assert "nested" in problem.message


def test_a_fifo_where_a_file_is_read_is_refused_without_blocking(project: Project) -> None:
    os.mkfifo(project.root / ".copier-answers.yml")
    done = subprocess.run(
        [BIN / "crisp-lint", "--output-format", "json", str(project.root)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    findings = json.loads(done.stdout)["findings"]
    assert {
        "code": "GEN001",
        "path": ".copier-answers.yml",
        "message": "is a named pipe (FIFO), not a regular file",
    }.items() <= next(f for f in findings if f["path"] == ".copier-answers.yml").items()
    checked = subprocess.run(
        [BIN / "crisp-ml", "check-update", str(project.root)],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert checked.returncode == 2
    assert "named pipe" in checked.stderr


def test_a_fifo_config_file_is_a_usage_error(project: Project, capsys) -> None:
    os.mkfifo(project.root / "settings.toml")
    assert run(["--config", str(project.root / "settings.toml"), str(project.root)]) == 2
    assert "named pipe" in capsys.readouterr().err


def test_a_fifo_gitignore_is_reported_and_the_files_are_still_listed(project: Project) -> None:
    (project.root / ".gitignore").unlink()
    os.mkfifo(project.root / ".gitignore")
    view = RepoView(project.root)
    start = time.perf_counter()
    files = view.files()
    assert time.perf_counter() - start < 5
    assert "dvc.yaml" in files
    messages = [p.message for p in view.problems("GEN001") if p.path == ".gitignore"]
    assert any("git cannot list the files" in m for m in messages), messages


def test_git_timing_out_is_a_finding_not_silence(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A git that never answers (a network file system, a hung credential helper), found
    # first on PATH; the real timeout, shortened, must stop it.
    hanging = tmp_path / "hanging-bin"
    hanging.mkdir()
    (hanging / "git").write_text("#!/bin/sh\nexec sleep 60\n")
    (hanging / "git").chmod(0o755)
    monkeypatch.setenv("PATH", f"{hanging}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(repo_module, "GIT_TIMEOUT_SECONDS", 1)
    view = RepoView(project.root)
    start = time.perf_counter()
    view.files()
    assert time.perf_counter() - start < 30
    assert not view.git_listed
    (problem,) = [p for p in view.problems("GEN001") if p.path == ".git"]
    assert "did not answer within 1 s" in problem.message
    assert "checks of what git tracks are skipped" in problem.message


def test_evidence_that_links_outside_the_repository_is_rejected(
    project: Project, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("# Somebody else's text\n")
    os.symlink(outside, project.root / "phases/05-modelling/linked.md")
    project.set_checklist_row(
        Phase.MODELLING, f"| 5.1 | Step | done | phases/05-modelling/linked.md | {SIGNED} | |"
    )
    assert project.messages("MO105") == [
        "step 5.1: evidence phases/05-modelling/linked.md is a symbolic link to a path outside"
        " the repository, which proves nothing about it"
    ]


def test_evidence_that_links_inside_the_repository_is_accepted(project: Project) -> None:
    os.symlink("modelling-plan.md", project.root / "phases/05-modelling/linked.md")
    project.set_checklist_row(
        Phase.MODELLING, f"| 5.1 | Step | done | phases/05-modelling/linked.md | {SIGNED} | |"
    )
    assert project.messages("MO105") == []


def test_a_stage_cycle_is_reported(project: Project) -> None:
    def cycle(document: dict) -> None:
        stages = document["stages"]
        first, second = list(stages)[:2]
        stages[first].setdefault("deps", []).append("data/loop.csv")
        stages[second].setdefault("outs", []).append("data/loop.csv")
        stages[second].setdefault("deps", []).append(_first_out(stages[first]))

    project.edit_yaml("dvc.yaml", cycle)
    (message,) = project.messages("GEN025")
    assert message.startswith("stage cycle: ")
    assert "->" in message


def _first_out(stage: dict) -> str:
    out = stage["outs"][0]
    return out if isinstance(out, str) else next(iter(out))


def test_a_pipeline_without_a_cycle_passes(project: Project) -> None:
    assert project.problems("GEN025") == []


def test_the_time_budget_cuts_the_run_short_and_says_what_was_skipped(project: Project) -> None:
    report = lint(RepoView(project.root), Options(time_budget=1e-9))
    (finding,) = [f for f in report.findings if f.code == "GEN005"]
    assert "did not run" in finding.message
    assert report.skipped and any("time budget" in why for why in report.skipped.values())
    unlimited = lint(RepoView(project.root), Options(time_budget=0))
    assert [f for f in unlimited.findings if f.code == "GEN005"] == []


def test_a_time_budget_in_the_configuration_is_validated(project: Project, capsys) -> None:
    project.replace("pyproject.toml", "[tool.crisp-lint]", '[tool.crisp-lint]\ntime-budget = "x"')
    assert run([str(project.root)]) == 2
    assert "time-budget" in capsys.readouterr().err


def test_an_empty_selection_is_a_usage_error(project: Project, capsys) -> None:
    assert run(["--ignore", "ALL", str(project.root)]) == 2
    assert "no rule selected" in capsys.readouterr().err


@pytest.mark.parametrize("output_format", ["text", "json", "sarif", "github", "junit"])
def test_an_ascii_only_output_gets_escapes_not_a_traceback(
    project: Project, output_format: str
) -> None:
    project.write("données-é.csv", "a\n1\n")
    project.track("données-é.csv")
    done = subprocess.run(
        [BIN / "crisp-lint", "--output-format", output_format, str(project.root)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "ascii"},
        timeout=30,
    )
    assert done.returncode == 1, done.stderr
    assert b"Traceback" not in done.stderr
    assert b"donn" in done.stdout


def test_git_does_not_walk_a_declared_dvc_output(project: Project) -> None:
    """Files in a stage output DVC has not ignored yet are not listed, by git's own walk."""
    raw = project.root / "data" / "raw"
    (raw / "extra").mkdir(parents=True, exist_ok=True)
    (raw / "extra" / "part-1.csv").write_text("a\n")
    if (raw / ".gitignore").exists():
        (raw / ".gitignore").unlink()
    view = RepoView(project.root)
    assert ":(exclude,literal)data/raw" in view._excluded_outs()
    assert not any(f.startswith("data/raw/") for f in view.files())
    assert view.is_tracked_by_git("dvc.yaml")
