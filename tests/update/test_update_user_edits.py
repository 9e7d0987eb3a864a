"""A team's repository updates to the newest template without losing a line they wrote."""

from __future__ import annotations

from pathlib import Path

import pytest
from updatelib import (
    ADDED_AT_HEAD,
    ADDED_IN_1_1,
    NEW_CRITERIA,
    OBSOLETE_PLUMBING,
    OLD_CRITERIA,
    PlumbingFiles,
    crisp_lint_errors,
    edit_like_a_team,
    git,
    revision_line,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("from_version", ["v1.0.0", "v1.1.0"])
def test_update_to_head_keeps_every_team_line_and_applies_the_template(
    from_version, new_project, crisp_ml, template_repo
):
    _, plumbing = template_repo
    project = new_project(from_version)
    edits = edit_like_a_team(project)
    lint_before = crisp_lint_errors(project)

    code, report = crisp_ml.update_json("--vcs-ref", "HEAD", "--trust", str(project))

    (result,) = report["repos"]
    assert code == 0, result
    assert result["status"] == "updated"
    assert result["from"] == from_version
    assert result["to"].startswith("v1.1.0-1-g")  # `git describe` of the untagged HEAD
    assert result["conflicts"] == []
    assert result["branch"] is None  # the user's branch holds the update

    if from_version == "v1.0.0":  # the v1.1.0 migration moved the team's criteria file
        edits.moved(OLD_CRITERIA, NEW_CRITERIA)
        assert not (project / OLD_CRITERIA).exists()
        stale = [
            doc.relative_to(project).as_posix()
            for doc in (project / "phases").rglob("*.md")
            if Path(OLD_CRITERIA).name in doc.read_text()
        ]
        assert stale == [], "team documents still point at the old success criteria path"
    lost = edits.lost_in(project)
    assert edits.count >= 20
    assert lost == [], f"{len(lost)} of {edits.count} team lines lost"

    if from_version == "v1.0.0":
        assert result["removed"] == [OBSOLETE_PLUMBING]
        assert not (project / OBSOLETE_PLUMBING).exists()
    else:
        assert result["removed"] == []

    for deleted in edits.deleted:
        assert not (project / deleted).exists(), f"{deleted} came back"
    assert result["kept_deleted"] == edits.deleted

    main_plumbing = (project / PlumbingFiles.rendered(plumbing.main)).read_text()
    assert revision_line("1.2.0") in main_plumbing
    assert revision_line("1.0.0") not in main_plumbing
    assert revision_line("1.1.0") not in main_plumbing
    assert main_plumbing.count(ADDED_IN_1_1) == 1
    assert ADDED_AT_HEAD in (project / PlumbingFiles.rendered(plumbing.second)).read_text()
    answers = (project / ".copier-answers.yml").read_text()
    assert f"_commit: {result['to']}" in answers
    assert "_src_path: " in answers

    assert git(project, "status", "--porcelain") == ""
    assert git(project, "branch", "--list", "crisp-ml/*") == ""
    assert git(project, "worktree", "list").count("\n") == 1
    assert not files_with_conflict_markers(project)

    lint_after = crisp_lint_errors(project)
    assert lint_before is not None and lint_after is not None, "crisp-lint gave no JSON report"
    assert lint_after <= lint_before, f"new crisp-lint errors: {lint_after - lint_before}"
    assert result["lint"]["before"] is not None and result["lint"]["new_errors"] == []


def files_with_conflict_markers(project):
    tracked = git(project, "ls-files", "-z").split("\0")
    return [
        path
        for path in tracked
        if path
        and (project / path).is_file()
        and any(line.startswith(b"<<<<<<< ") for line in (project / path).read_bytes().splitlines())
    ]


def test_default_target_is_the_newest_tag_not_untagged_head(new_project, crisp_ml):
    project = new_project("v1.0.0")
    edit_like_a_team(project)

    code, report = crisp_ml.update_json("--trust", str(project))

    (result,) = report["repos"]
    assert (code, result["status"], result["to"]) == (0, "updated", "v1.1.0")
    assert (project / NEW_CRITERIA).is_file()


def test_a_project_at_the_newest_tag_is_up_to_date_and_untouched(new_project, crisp_ml):
    project = new_project("v1.1.0")
    before = git(project, "rev-parse", "HEAD")

    code, report = crisp_ml.update_json(str(project))

    (result,) = report["repos"]
    assert (code, result["status"], result["from"], result["to"]) == (
        0,
        "up-to-date",
        "v1.1.0",
        "v1.1.0",
    )
    assert git(project, "rev-parse", "HEAD") == before
