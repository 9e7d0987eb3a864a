"""An update never overwrites a file git does not track: it stops first, and says which."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from updatelib import git

USERS_ENV = b"MLFLOW_TRACKING_URI=https://mlflow.internal\nMLFLOW_TRACKING_PASSWORD=ours\n"
TEMPLATE_ENV = "MLFLOW_TRACKING_URI=http://localhost:5000\n"


def template_shipping_env_example(template_repo: Path, folder: Path) -> Path:
    """A copy of the test template whose release v1.3.0 ships ``.env.example`` (tracked:
    the new .gitignore un-ignores it, while the old one's ``.env.*`` ignored it)."""
    git(folder.parent, "clone", "--quiet", str(template_repo), str(folder))
    (folder / "template/.env.example").write_text(TEMPLATE_ENV)
    gitignore = folder / "template/.gitignore.jinja"
    gitignore.write_text(gitignore.read_text() + "!.env.example\n")
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "-m", "Ship an example environment file")
    git(folder, "tag", "v1.3.0")
    return folder


def use_template(project: Path, source: Path) -> None:
    answers = project / ".copier-answers.yml"
    answers.write_text(re.sub(r"(?m)^_src_path: .*$", f"_src_path: {source}", answers.read_text()))
    git(project, "commit", "--quiet", "--all", "-m", "Template moved")


def working_files(project: Path) -> dict[str, bytes]:
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


@pytest.mark.slow
@pytest.mark.parametrize("merge", ["merge", "--no-merge"])
def test_an_ignored_file_the_new_version_ships_stops_the_update(
    merge, new_project, crisp_ml, template_repo, tmp_path
):
    source = template_shipping_env_example(template_repo[0], tmp_path / "template")
    project = new_project("v1.1.0")
    use_template(project, source)
    (project / ".env.example").write_bytes(USERS_ENV)  # ignored by the project's `.env.*`
    assert git(project, "status", "--porcelain") == ""
    head = git(project, "rev-parse", "HEAD")
    files = working_files(project)

    options = ["--no-merge"] if merge == "--no-merge" else []
    code, report = crisp_ml.update_json("--no-lint", *options, str(project))

    (result,) = report["repos"]
    assert (code, result["status"]) == (1, "refused-untracked"), result["message"]
    assert result["branch"] is None
    assert ".env.example" in result["message"]
    assert "move .env.example away or commit it, then update again" in result["message"]
    assert report["summary"]["needs_human"] == 1
    assert (project / ".env.example").read_bytes() == USERS_ENV
    assert working_files(project) == files
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "branch", "--list", "crisp-ml*") == ""
    assert len(git(project, "worktree", "list").splitlines()) == 1

    # The fix the message gives works.
    (project / ".env.example").rename(tmp_path / "env-of-the-team")
    code, report = crisp_ml.update_json("--no-lint", str(project))
    assert (code, report["repos"][0]["status"]) == (0, "updated"), report["repos"][0]["message"]
    assert (project / ".env.example").read_text() == TEMPLATE_ENV


def test_collisions_are_every_added_path_taken_by_something_git_does_not_track(tmp_path):
    from crisp_ml.repo_update import untracked_collisions

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    (repo / ".gitignore").write_text("*.log\nconf\n.env*\ndata/raw/*\n!.gitignore\n")
    (repo / "old.txt").write_text("tracked, becomes a folder\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "start")
    start = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "--quiet", "-c", "next")
    for path in ("conf/app.yaml", ".env.example/README", "data/raw/.gitkeep", "new.txt", "logs"):
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("from the template\n")
    (repo / "old.txt").unlink()
    (repo / "old.txt").mkdir()
    (repo / "old.txt/inside").write_text("x\n")
    git(repo, "add", "--all", "--force")
    git(repo, "commit", "--quiet", "-m", "next")
    update = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "switch", "--quiet", "main")
    for path in ("data/raw/big.csv", "logs/run.log"):  # a folder where a file goes: logs
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text("the team's\n")
    (repo / "conf").write_text("a file where the template puts a folder\n")
    (repo / ".env.example").write_text("ignored, at a folder's path\n")

    assert untracked_collisions(repo, start, update) == [".env.example", "conf", "logs"]
    assert untracked_collisions(repo, start, start) == []
