"""When an update cannot finish cleanly, the user's branch stays exactly as it was."""

from __future__ import annotations

import re
import sys

import pytest
from updatelib import (
    TEAM_LINE,
    PlumbingFiles,
    edit_plumbing_line,
    git,
    revision_line,
    run,
    tree_fingerprint,
)

pytestmark = pytest.mark.slow


def test_a_conflict_exits_1_names_the_file_and_keeps_the_team_text(
    new_project, crisp_ml, template_repo
):
    _, plumbing = template_repo
    project = new_project("v1.1.0")
    target = edit_plumbing_line(project, plumbing, "1.1.0")
    head_before = git(project, "rev-parse", "HEAD")
    fingerprint_before = tree_fingerprint(project / "phases")

    code, report = crisp_ml.update_json("--vcs-ref", "HEAD", str(project))

    (result,) = report["repos"]
    conflicted = PlumbingFiles.rendered(plumbing.main)
    assert code == 1
    assert result["status"] == "conflict"
    assert conflicted in {c["path"] for c in result["conflicts"]}
    assert conflicted in result["message"]
    # The user's branch and files did not move; the team's line is intact.
    assert git(project, "rev-parse", "HEAD") == head_before
    assert git(project, "status", "--porcelain") == ""
    assert TEAM_LINE in target.read_text()
    assert "<<<<<<<" not in target.read_text()
    assert tree_fingerprint(project / "phases") == fingerprint_before
    # The conflicted result waits on a named branch, markers and both sides included.
    branch = result["branch"]
    assert branch.startswith("crisp-ml/update-v1.1.0-1-g")
    on_branch = git(project, "show", f"{branch}:{conflicted}")
    assert "<<<<<<< " in on_branch and ">>>>>>> " in on_branch
    assert TEAM_LINE in on_branch and revision_line("1.2.0") in on_branch
    assert git(project, "rev-parse", f"{branch}~1") == head_before


def test_a_second_run_after_a_conflict_uses_a_new_branch(new_project, crisp_ml, template_repo):
    _, plumbing = template_repo
    project = new_project("v1.1.0")
    edit_plumbing_line(project, plumbing, "1.1.0")

    _, first = crisp_ml.update_json("--vcs-ref", "HEAD", str(project))
    _, second = crisp_ml.update_json("--vcs-ref", "HEAD", str(project))

    first_branch, second_branch = first["repos"][0]["branch"], second["repos"][0]["branch"]
    assert second_branch == f"{first_branch}-2"


def test_rej_files_count_as_conflicts_even_when_gitignored(tmp_path):
    from crisp_ml.conflicts import Conflict, find_conflicts

    git(tmp_path, "init", "--quiet")
    (tmp_path / ".gitignore").write_text("*.rej\n")
    (tmp_path / "Makefile").write_text("all:\n")
    (tmp_path / "Makefile.rej").write_text("@@ -1 +1 @@\n-all:\n+all: test\n")
    (tmp_path / "notes.md").write_text("Title\n=======\n")  # a setext heading, not a conflict
    (tmp_path / "ci.yml").write_text("<<<<<<< before updating\na\n=======\nb\n>>>>>>> after\n")

    found = find_conflicts(tmp_path, ["Makefile", "notes.md", "ci.yml"])

    assert found == [Conflict("Makefile", "rej-file"), Conflict("ci.yml", "markers")]


@pytest.mark.parametrize("mess", ["modified", "staged", "untracked", "deleted"])
def test_a_dirty_repo_is_refused_and_left_byte_for_byte_untouched(mess, new_project, crisp_ml):
    project = new_project("v1.0.0")
    readme = project / "README.md"
    if mess == "modified":
        readme.write_text(readme.read_text() + "work in progress\n")
    elif mess == "staged":
        (project / "draft.md").write_text("draft\n")
        git(project, "add", "draft.md")
    elif mess == "untracked":
        (project / "scratch.py").write_text("print('experiment')\n")
    else:
        readme.unlink()
    fingerprint = tree_fingerprint(project)

    code, report = crisp_ml.update_json("--trust", str(project))

    (result,) = report["repos"]
    assert (code, result["status"]) == (1, "refused-dirty")
    assert "commit or stash" in result["message"]
    assert tree_fingerprint(project) == fingerprint


def test_an_unfinished_merge_is_refused(new_project, crisp_ml):
    project = new_project("v1.0.0")
    (project / ".git" / "MERGE_HEAD").write_text(git(project, "rev-parse", "HEAD"))
    fingerprint = tree_fingerprint(project)

    code, report = crisp_ml.update_json("--trust", str(project))

    assert (code, report["repos"][0]["status"]) == (1, "refused-dirty")
    assert "merge is in progress" in report["repos"][0]["message"]
    assert tree_fingerprint(project) == fingerprint


def test_migrations_of_an_unknown_template_need_trust(new_project, crisp_ml):
    project = new_project("v1.0.0")
    fingerprint = tree_fingerprint(project)

    code, report = crisp_ml.update_json(str(project))

    (result,) = report["repos"]
    assert (code, result["status"]) == (1, "failed")
    assert "--trust" in result["message"]
    assert tree_fingerprint(project) == fingerprint


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no-git", "not a git repository"),
        ("no-answers", ".copier-answers.yml"),
        ("detached", "detached"),
        ("missing", "no such directory"),
        ("moved-template", "is not there (moved?)"),
    ],
)
def test_repos_that_cannot_be_updated_fail_with_a_reason(
    setup, message, tmp_path, new_project, crisp_ml
):
    if setup == "no-git":
        project = tmp_path / "plain"
        project.mkdir()
        (project / ".copier-answers.yml").write_text("_commit: v1.0.0\n")
    elif setup == "no-answers":
        project = tmp_path / "other"
        project.mkdir()
        git(project, "init", "--quiet")
        (project / "a.txt").write_text("a\n")
        git(project, "add", "a.txt")
        git(project, "commit", "--quiet", "-m", "a")
    elif setup == "detached":
        project = new_project("v1.0.0")
        git(project, "checkout", "--quiet", "--detach")
    elif setup == "moved-template":
        project = new_project("v1.0.0")
        answers = project / ".copier-answers.yml"
        moved = re.sub(
            r"(?m)^_src_path: .*$", f"_src_path: {tmp_path / 'moved'}", answers.read_text()
        )
        answers.write_text(moved)
        git(project, "commit", "--quiet", "--all", "-m", "The template moved")
    else:
        project = tmp_path / "does-not-exist"

    code, report = crisp_ml.update_json(str(project))

    (result,) = report["repos"]
    assert (code, result["status"]) == (1, "failed")
    assert message in result["message"]


def test_plain_copier_exits_0_on_a_conflict_which_is_why_we_look_ourselves(
    new_project, template_repo
):
    """The pitfall behind renovate#31600, pinned so a Copier upgrade that fixes it shows."""
    _, plumbing = template_repo
    project = new_project("v1.1.0")
    target = edit_plumbing_line(project, plumbing, "1.1.0")

    copier_update = [sys.executable, "-m", "copier", "update", "--defaults", "--quiet"]
    done = run([*copier_update, "--conflict", "inline", "--vcs-ref", "HEAD", str(project)])

    assert done.returncode == 0
    assert "<<<<<<< before updating" in target.read_text()


def test_new_crisp_lint_errors_hold_a_clean_update_on_its_branch(new_project, monkeypatch):
    from crisp_ml import repo_update
    from crisp_ml.lint_gate import LintSummary

    verdicts = iter(
        [
            LintSummary(0, frozenset(), 3),
            LintSummary(1, frozenset({("GEN001", "dvc.yaml", "broken")}), 3),
        ]
    )
    monkeypatch.setattr(repo_update, "run_crisp_lint", lambda root: next(verdicts))
    project = new_project("v1.0.0")
    head = git(project, "rev-parse", "HEAD")

    result = repo_update.update_repo(project, repo_update.UpdateOptions(trust=True))

    assert result.status == repo_update.Status.LINT_REGRESSED
    assert result.new_lint_errors == [("GEN001", "dvc.yaml")]
    assert "GEN001" in result.message and result.branch == "crisp-ml/update-v1.1.0"
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "rev-parse", f"{result.branch}~1") == head
