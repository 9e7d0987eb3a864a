"""Interrupted runs leave nothing behind, and the next run removes what a killed one left.

A test hook (``CRISP_ML_TEST_PAUSE_AFTER_WORKTREE``) holds a real ``crisp-ml update``
process right after it created its temporary worktree, the moment a kill hurts most; the
test then sends it a real signal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from updatelib import CRISP_ML, clean_env, edit_plumbing_line, git

pytestmark = pytest.mark.slow

PAUSE_ENV = "CRISP_ML_TEST_PAUSE_AFTER_WORKTREE"


def worktrees(project: Path) -> list[str]:
    listing = git(project, "worktree", "list", "--porcelain")
    return [
        line.removeprefix("worktree ")
        for line in listing.splitlines()
        if line.startswith("worktree ")
    ]


def crisp_ml_branches(project: Path) -> list[str]:
    return git(project, "branch", "--list", "crisp-ml*", "--format=%(refname:short)").split()


def scratch_folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("crisp-ml-update-*"))


def update_env(tmp: Path, pause: float | None = None) -> dict[str, str]:
    env = clean_env()
    env["TMPDIR"] = str(tmp)  # where the scratch folders go, so the test can look
    if pause is not None:
        env[PAUSE_ENV] = str(pause)
    return env


def start_paused_update(project: Path, tmp: Path) -> subprocess.Popen[str]:
    """A real update process, held after it created its worktree."""
    command = [*CRISP_ML, "update", "--output-format", "json", "--no-lint", "--trust", str(project)]
    process = subprocess.Popen(
        command,
        env=update_env(tmp, pause=120),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The hook says so once the worktree is complete (no git child still writing to it).
    seen = []
    for line in process.stderr:
        seen.append(line)
        if "crisp-ml update: pausing" in line:
            break
    else:
        process.kill()
        out, _ = process.communicate()
        raise AssertionError(f"the update never paused:\n{out}\n{''.join(seen)}")
    assert len(worktrees(project)) == 2
    return process


def working_files(project: Path) -> dict[str, bytes]:
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(project).parts
    }


def test_a_killed_update_is_cleaned_up_by_the_next_run(new_project, tmp_path):
    project = new_project("v1.0.0")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    head = git(project, "rev-parse", "HEAD")

    process = start_paused_update(project, tmp)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)

    # What SIGKILL leaves: nobody could clean up.
    assert len(worktrees(project)) == 2
    assert len(scratch_folders(tmp)) == 1
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == ""

    done = subprocess.run(
        [*CRISP_ML, "update", "--output-format", "json", "--no-lint", "--trust", str(project)],
        env=update_env(tmp),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    (result,) = json.loads(done.stdout)["repos"]
    assert (done.returncode, result["status"]) == (0, "updated"), result["message"]
    assert worktrees(project) == [str(project)]
    assert scratch_folders(tmp) == []
    assert crisp_ml_branches(project) == []
    assert git(project, "rev-parse", "HEAD~1").strip() == head.strip()


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_leave_nothing_behind(signum, exit_code, new_project, tmp_path):
    project = new_project("v1.0.0")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    head = git(project, "rev-parse", "HEAD")
    files = working_files(project)

    process = start_paused_update(project, tmp)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)

    assert process.returncode == exit_code, err
    assert "Traceback" not in err
    assert f"interrupted by {signal.Signals(signum).name}" in err
    (result,) = json.loads(out)["repos"]
    assert result["status"] == "failed"
    assert "nothing changed" in result["message"] and result["branch"] is None
    assert worktrees(project) == [str(project)]
    assert scratch_folders(tmp) == []
    assert crisp_ml_branches(project) == []
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain", "--ignored") == ""
    assert working_files(project) == files


def test_a_live_run_is_not_mistaken_for_a_killed_one(new_project, tmp_path):
    """A second update of the same repo must not remove the worktree a running one uses."""
    from crisp_ml.repo_update import remove_stale_worktrees

    project = new_project("v1.0.0")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    process = start_paused_update(project, tmp)
    try:
        assert remove_stale_worktrees(project) == []
        assert len(worktrees(project)) == 2
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    assert worktrees(project) == [str(project)]


def test_a_cancel_stops_a_running_child_at_once():
    """SIGTERM during Copier or crisp-lint: the child (and its own children) end now."""
    from crisp_ml import interrupt

    outcome: list[BaseException | None] = []

    def worker() -> None:
        try:
            interrupt.run_process(["sh", "-c", "sleep 60 & sleep 60; wait"], timeout=120)
            outcome.append(None)
        except BaseException as error:  # the test inspects it
            outcome.append(error)

    thread = threading.Thread(target=worker)
    started = time.monotonic()
    thread.start()
    time.sleep(0.5)
    try:
        interrupt.cancel(signal.SIGTERM)
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert time.monotonic() - started < 10
        assert len(outcome) == 1 and isinstance(outcome[0], interrupt.Interrupted)
        assert "SIGTERM" in str(outcome[0])
        # Cleanup still runs after the cancel; anything else refuses to start.
        with interrupt.shielded():
            assert interrupt.run_process(["true"], timeout=10).returncode == 0
        with pytest.raises(interrupt.Interrupted):
            interrupt.run_process(["true"], timeout=10)
    finally:
        interrupt.reset()


def test_a_branch_named_crisp_ml_does_not_stop_a_clean_update(new_project, crisp_ml):
    project = new_project("v1.0.0")
    git(project, "branch", "crisp-ml")

    code, report = crisp_ml.update_json("--trust", "--no-lint", str(project))

    (result,) = report["repos"]
    assert (code, result["status"]) == (0, "updated"), result["message"]
    assert crisp_ml_branches(project) == ["crisp-ml"]


def test_a_branch_named_crisp_ml_blocking_the_review_branch_is_named_with_the_fix(
    new_project, crisp_ml, template_repo
):
    _, plumbing = template_repo
    project = new_project("v1.1.0")
    edit_plumbing_line(project, plumbing, "1.1.0")
    git(project, "branch", "crisp-ml")
    head = git(project, "rev-parse", "HEAD")

    done = crisp_ml("update", "--output-format", "json", "--vcs-ref", "HEAD", str(project))

    (result,) = json.loads(done.stdout)["repos"]
    assert (done.returncode, result["status"]) == (1, "failed")
    assert "'crisp-ml' is in the way" in result["message"]
    assert "git branch -m crisp-ml <new-name>" in result["message"]
    assert "--branch NAME" in result["message"]
    assert "cannot lock ref" not in result["message"] and "Traceback" not in done.stderr
    assert git(project, "rev-parse", "HEAD") == head
    assert git(project, "status", "--porcelain") == ""
    assert crisp_ml_branches(project) == ["crisp-ml"]
    assert worktrees(project) == [str(project)]

    # With another namespace the conflict waits on its branch as usual.
    code, report = crisp_ml.update_json(
        "--vcs-ref", "HEAD", "--branch", "template/{version}", str(project)
    )
    (result,) = report["repos"]
    assert (code, result["status"]) == (1, "conflict")
    assert result["branch"].startswith("template/v1.1.0-1-g")


def test_stale_worktree_cleanup_ignores_other_worktrees(new_project, tmp_path):
    """The user's own worktrees, even ones whose folder vanished, are not crisp-ml's."""
    from crisp_ml.repo_update import remove_stale_worktrees

    project = new_project("v1.0.0")
    mine = tmp_path / "my-worktree"
    git(project, "worktree", "add", "--quiet", "--detach", str(mine))
    assert remove_stale_worktrees(project) == []
    assert str(mine) in worktrees(project)
    # An old crisp-ml's folder without a lock file, older than any run: removed.
    scratch = tmp_path / "crisp-ml-update-old"
    scratch.mkdir()
    git(project, "worktree", "add", "--quiet", "--detach", str(scratch / "worktree"))
    os.utime(scratch, (time.time() - 7200, time.time() - 7200))
    assert remove_stale_worktrees(project) == [str(scratch / "worktree")]
    assert not scratch.exists()
    assert worktrees(project) == [str(project), str(mine)]
