"""The ``crisp-ml update`` command line: usage errors, review branches, repository lists."""

from __future__ import annotations

import io
import os
import re

import pytest
from updatelib import NEW_CRITERIA, REPO_ROOT, git


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        (["--jobs", "0"], "--jobs"),
        (["--from-file", "no-such-list.txt"], "--from-file"),
        (["--branch", "updates..{version}"], "not a valid branch name"),
        (["--branch", "updates/{date}"], "only {version}"),
        (["--output-format", "yaml"], "--output-format"),
    ],
)
def test_usage_errors_exit_2_before_touching_anything(tmp_path, crisp_ml, arguments, complaint):
    done = crisp_ml("update", *arguments, cwd=tmp_path)

    assert done.returncode == 2
    assert complaint in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_without_git_the_update_stops_with_a_usage_error(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from crisp_ml.update import update

    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no git on PATH
    result = CliRunner().invoke(update, [str(tmp_path)])

    assert result.exit_code == 2
    assert "crisp-ml update needs git" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.slow
def test_no_merge_leaves_a_clean_update_on_its_branch(new_project, crisp_ml):
    project = new_project("v1.0.0")
    head = git(project, "rev-parse", "HEAD")

    code, report = crisp_ml.update_json("--no-merge", "--trust", str(project))

    (result,) = report["repos"]
    assert (code, result["status"], result["branch"]) == (0, "updated", "crisp-ml/update-v1.1.0")
    assert git(project, "rev-parse", "HEAD") == head
    assert not (project / NEW_CRITERIA).exists()
    assert NEW_CRITERIA in git(project, "ls-tree", "-r", "--name-only", result["branch"])


@pytest.mark.slow
def test_a_repo_named_twice_is_updated_once(new_project, crisp_ml, tmp_path):
    project = new_project("v1.1.0")
    (tmp_path / "list.txt").write_text(f"{project}\n\n# again, relative to the list:\n")
    with (tmp_path / "list.txt").open("a") as listing:
        listing.write(f"{project.relative_to(tmp_path)}\n")

    code, report = crisp_ml.update_json(str(project), "--from-file", str(tmp_path / "list.txt"))

    assert code == 0
    assert [r["repo"] for r in report["repos"]] == [str(project)]


@pytest.mark.slow
def test_a_template_source_relative_to_the_project_root_is_found(
    new_project, crisp_ml, template_repo
):
    project = new_project("v1.1.0")
    answers = project / ".copier-answers.yml"
    relative = os.path.relpath(template_repo[0], project)
    text = re.sub(r"(?m)^_src_path: .*$", f"_src_path: {relative}", answers.read_text())
    answers.write_text(text)
    git(project, "commit", "--quiet", "--all", "-m", "Template path relative to the project")

    code, report = crisp_ml.update_json("--vcs-ref", "HEAD", str(project))

    (result,) = report["repos"]
    assert (code, result["status"]) == (0, "updated"), result["message"]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal_and_prints_lines_otherwise():
    from crisp_ml.fleet import Progress
    from crisp_ml.repo_update import RepoResult, Status

    results = [RepoResult("a", Status.UPDATED), RepoResult("b", Status.CONFLICT)]
    terminal, log = FakeTerminal(), io.StringIO()
    for stream in (terminal, log):
        progress = Progress(len(results), stream)
        for result in results:
            progress.finished(result)

    assert terminal.getvalue().count("\r\033[K") == 2
    assert terminal.getvalue().endswith("[2/2] conflict       b\n")
    assert log.getvalue().splitlines() == ["[1/2] updated        a", "[2/2] conflict       b"]


def test_only_crisp_mls_own_template_is_trusted_without_the_flag(tmp_path, monkeypatch):
    from crisp_ml.template_source import PUBLISHED_TEMPLATE
    from crisp_ml.trust import is_trusted_source

    monkeypatch.delenv("CRISP_ML_TEMPLATE", raising=False)
    assert is_trusted_source(str(REPO_ROOT), tmp_path)  # the checkout crisp-ml runs from
    assert is_trusted_source(PUBLISHED_TEMPLATE.removesuffix(".git"), tmp_path)
    assert not is_trusted_source("https://example.com/someone-else/template.git", tmp_path)
    assert not is_trusted_source(str(tmp_path), tmp_path)
    assert not is_trusted_source(None, tmp_path)

    monkeypatch.setenv("CRISP_ML_TEMPLATE", str(tmp_path))
    assert is_trusted_source(f"file://{tmp_path}", tmp_path / "project")


def test_the_summary_counts_one_repo_in_the_singular():
    from crisp_ml.fleet import FleetRun
    from crisp_ml.repo_update import RepoResult, Status
    from crisp_ml.report import fleet_table

    one = fleet_table(FleetRun([RepoResult("a", Status.UP_TO_DATE)], 1.0))
    two = fleet_table(FleetRun([RepoResult("a", Status.UPDATED)] * 2, 1.0))

    assert one.splitlines()[-1].startswith("1 repo in 1.0 s")
    assert two.splitlines()[-1].startswith("2 repos in 1.0 s")


def test_only_copiers_own_refusal_asks_for_trust():
    from crisp_ml.repo_update import _copier_failure

    refusal = "Template uses potentially unsafe feature: migrations.\nIf you trust this template..."
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "copier/_main.py", line 1353, in run_update\n'
        '    self._check_unsafe("update")\n'
        "ValueError: Local template must be a directory."
    )

    assert "--trust" in _copier_failure(refusal)
    assert _copier_failure(traceback) == (
        "copier update failed: ValueError: Local template must be a directory."
    )


def test_what_the_migrations_said_is_in_the_report():
    from crisp_ml.fleet import FleetRun
    from crisp_ml.repo_update import RepoResult, Status, migration_notes
    from crisp_ml.report import fleet_table

    copier_output = (
        "Updating to template version 2.0.0\n"
        "migration runtime_split: kept src/pkg/gate.py: your team changed it, ...\n"
        "    conflict in README.md\n"
        "migration: the MLflow experiment stays 'demo' (answer mlflow_experiment)\n"
    )
    notes = migration_notes(copier_output)
    assert notes == [
        "migration runtime_split: kept src/pkg/gate.py: your team changed it, ...",
        "migration: the MLflow experiment stays 'demo' (answer mlflow_experiment)",
    ]
    result = RepoResult("team/churn", Status.UPDATED, migration_notes=notes)
    table = fleet_table(FleetRun([result], 1.0))
    assert "  team/churn: migration runtime_split: kept src/pkg/gate.py" in table
    assert result.to_json()["migration_notes"] == notes
