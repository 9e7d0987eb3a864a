"""A fleet of 20 repositories updates in parallel; the report says which need a person."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from updatelib import NEW_CRITERIA, edit_like_a_team, edit_plumbing_line, git

pytestmark = pytest.mark.slow

FLEET_SIZE = 20


@pytest.fixture
def fleet(tmp_path, new_project, template_repo) -> dict[str, list[Path]]:
    """16 edited repos at v1.0.0, 2 at the newest tag, 1 that conflicts, 1 dirty."""
    _, plumbing = template_repo
    edited = new_project("v1.0.0", name="edited-template")
    edit_like_a_team(edited)
    groups: dict[str, list[Path]] = {"updated": [], "up-to-date": [], "conflict": []}
    for index in range(16):
        groups["updated"].append(shutil.copytree(edited, tmp_path / f"team-{index:02d}"))
    groups["up-to-date"] = [new_project("v1.1.0", name=f"current-{i}") for i in range(2)]
    conflicting = new_project("v1.0.0", name="conflicting")
    edit_plumbing_line(conflicting, plumbing, "1.0.0")
    groups["conflict"] = [conflicting]
    dirty = new_project("v1.0.0", name="dirty")
    (dirty / "README.md").write_text("half-written\n")
    groups["refused-dirty"] = [dirty]
    shutil.rmtree(edited)
    return groups


def test_fleet_of_20_with_two_jobs_reports_each_repo_in_json_then_a_table(
    fleet, tmp_path, crisp_ml
):
    everyone = sorted(path for paths in fleet.values() for path in paths)
    assert len(everyone) == FLEET_SIZE
    repo_list = tmp_path / "repos.txt"
    repo_list.write_text(
        "# the team's repositories\n" + "\n".join(f"{p.name}  # owner: ml" for p in everyone)
    )

    code, report = crisp_ml.update_json("--jobs", "2", "--trust", "--from-file", str(repo_list))

    assert code == 1  # a conflict and a dirty repo need a person
    summary = report["summary"]
    assert summary["total"] == FLEET_SIZE
    assert {status: summary[status] for status in fleet} == {
        "updated": 16,
        "up-to-date": 2,
        "conflict": 1,
        "refused-dirty": 1,
    }
    assert summary["failed"] == 0 and summary["needs_human"] == 2
    assert [Path(r["repo"]).name for r in report["repos"]] == [p.name for p in everyone]
    by_name = {Path(r["repo"]).name: r for r in report["repos"]}
    for status, paths in fleet.items():
        for path in paths:
            assert by_name[path.name]["status"] == status, by_name[path.name]
    for path in fleet["updated"]:
        assert by_name[path.name]["to"] == "v1.1.0"
        assert (path / NEW_CRITERIA).is_file()
        assert git(path, "status", "--porcelain") == ""
    (conflict,) = fleet["conflict"]
    assert by_name[conflict.name]["branch"].startswith("crisp-ml/update-v1.1.0")
    print(f"\nfleet throughput: {summary['repos_per_minute']} repos/min with --jobs 2")
    assert summary["repos_per_minute"] > 0

    # A second run, as paths on the command line, with the table for people.
    done = crisp_ml("update", "--jobs", "2", "--trust", *map(str, everyone))

    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["REPO", "STATUS", "FROM", "TO", "DETAIL"]
    rows = {line.split()[0]: line.split()[1] for line in lines[1 : FLEET_SIZE + 1]}
    assert rows == {
        str(path): ("up-to-date" if status in ("updated", "up-to-date") else status)
        for status, paths in fleet.items()
        for path in paths
    }
    assert lines[-1].startswith(f"{FLEET_SIZE} repos in ")
    assert "18 up-to-date, 1 conflict, 1 refused-dirty" in lines[-1]
    # Progress went to stderr, one plain line per repo (not a terminal).
    assert len([line for line in done.stderr.splitlines() if line.startswith("[")]) == FLEET_SIZE
