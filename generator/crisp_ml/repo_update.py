"""Update one generated repository from its template, safely.

The user's branch only ever moves by a fast-forward to a finished, conflict-free update.
Everything else happens in a temporary ``git worktree`` on a new branch:

1. refuse a dirty tree (or an unfinished merge or rebase) and touch nothing;
2. check out HEAD in a temporary worktree, run crisp-lint there (the "before" verdict);
3. run ``copier update`` on the worktree in a subprocess (a timeout can stop it, and
   Copier's changes of the working directory stay in that process);
4. undo Copier re-creating files the team had deleted (copier#1721), find conflicts
   (markers, ``.rej`` files, unmerged paths: Copier exits 0 on conflicts), lint again;
5. commit the result on ``crisp-ml/update-<version>``; fast-forward the user's branch to
   it only when there is no conflict and crisp-lint found no new error. Otherwise the
   branch stays for a person to finish, and the user's branch is exactly as it was.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from crisp_lint.drift import ANSWERS_FILE, local_source_path, read_answers, template_drift
from crisp_ml.conflicts import Conflict, find_conflicts
from crisp_ml.git import (
    GitError,
    branch_exists,
    current_branch,
    dirty_paths,
    git_env,
    head_commit,
    identity_config,
    operation_in_progress,
    run_git,
    status_paths,
    toplevel,
    untracked_paths,
)
from crisp_ml.lint_gate import LintSummary, new_errors, run_crisp_lint
from crisp_ml.trust import is_trusted_source

COPIER_TIMEOUT_SECONDS = 600.0
DEFAULT_BRANCH = "crisp-ml/update-{version}"
# Commits on the update branch must not run the team's hooks (they may need tools this
# process lacks) nor wait for a signing key.
_QUIET_COMMIT = {"core.hooksPath": "/dev/null", "commit.gpgsign": "false"}


class Status(StrEnum):
    UPDATED = "updated"  # the user's branch now holds the update (or the review branch does)
    UP_TO_DATE = "up-to-date"
    CONFLICT = "conflict"  # result committed on the update branch, conflicts marked
    LINT_REGRESSED = "lint-regressed"  # merged cleanly but crisp-lint has new errors
    REFUSED_DIRTY = "refused-dirty"  # nothing touched
    FAILED = "failed"  # nothing touched on the user's branch

    @property
    def needs_human(self) -> bool:
        """Anything but updated or up to date waits for a person (exit code 1)."""
        return self not in {Status.UPDATED, Status.UP_TO_DATE}


@dataclass(frozen=True)
class UpdateOptions:
    vcs_ref: str | None = None  # None: the newest release tag, as Copier chooses it
    trust: bool = False  # allow migrations of a template other than crisp-ml's own
    branch: str = DEFAULT_BRANCH  # "{version}" becomes the target template version
    merge: bool = True  # fast-forward the user's branch after a clean update
    lint: bool = True
    copier_timeout: float = COPIER_TIMEOUT_SECONDS


@dataclass
class RepoResult:
    repo: str
    status: Status
    message: str = ""
    from_version: str | None = None
    to_version: str | None = None
    branch: str | None = None  # where the update sits, when not on the user's branch
    conflicts: list[Conflict] = field(default_factory=list)
    kept_deleted: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # files the new template no longer has
    lint_before: LintSummary | None = None
    lint_after: LintSummary | None = None
    new_lint_errors: list[tuple[str, str]] = field(default_factory=list)
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "status": self.status.value,
            "message": self.message,
            "from": self.from_version,
            "to": self.to_version,
            "branch": self.branch,
            "conflicts": [{"path": c.path, "kind": c.kind} for c in self.conflicts],
            "kept_deleted": self.kept_deleted,
            "removed": self.removed,
            "lint": {
                "before": self.lint_before.to_json() if self.lint_before else None,
                "after": self.lint_after.to_json() if self.lint_after else None,
                "new_errors": [{"code": c, "path": p} for c, p in self.new_lint_errors],
            },
            "duration_seconds": round(self.duration, 2),
        }


class _Stop(Exception):
    """Ends an update early with a result; the user's branch is untouched."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def update_repo(repo: Path, options: UpdateOptions) -> RepoResult:
    """Update the project at ``repo``; never raises for a problem with that repo."""
    started = time.monotonic()
    result = RepoResult(repo=str(repo), status=Status.FAILED)
    try:
        _update(repo.resolve(), options, result)
    except _Stop as stop:
        result.status, result.message = stop.status, stop.message
    except GitError as error:
        result.status, result.message = Status.FAILED, str(error)
    except Exception as error:  # one broken repo must not stop the rest of a fleet
        result.status, result.message = Status.FAILED, f"unexpected error: {error!r}"
    result.duration = time.monotonic() - started
    return result


def _update(project: Path, options: UpdateOptions, result: RepoResult) -> None:
    top = _check_repository(project)
    drift = template_drift(project)
    result.from_version = drift.current
    _check_source(project, drift.source)
    if options.vcs_ref is None and drift.known and not drift.update_available:
        result.to_version = drift.current
        raise _Stop(Status.UP_TO_DATE, f"already at the newest template release {drift.latest}")
    user_branch = current_branch(top)
    assert user_branch is not None  # _check_repository refused a detached HEAD
    start_commit = head_commit(top)
    trusted = options.trust or is_trusted_source(drift.source, project)

    branch = _update_in_worktree(top, project, start_commit, options, trusted, result)

    result.branch = branch
    if result.conflicts:
        paths = ", ".join(sorted({c.path for c in result.conflicts}))
        raise _Stop(Status.CONFLICT, f"conflicts in {paths}; resolve them on branch {branch}")
    if result.new_lint_errors:
        codes = ", ".join(sorted({code for code, _ in result.new_lint_errors}))
        raise _Stop(Status.LINT_REGRESSED, f"crisp-lint has new errors ({codes}) on {branch}")
    if not options.merge:
        result.status, result.message = Status.UPDATED, f"ready for review on branch {branch}"
        return
    _fast_forward(top, user_branch, start_commit, branch)
    result.branch = None
    result.status = Status.UPDATED
    result.message = f"{user_branch} fast-forwarded to template {result.to_version}"


def _update_in_worktree(
    top: Path,
    project: Path,
    start_commit: str,
    options: UpdateOptions,
    trusted: bool,
    result: RepoResult,
) -> str:
    """Update a throw-away checkout of ``start_commit``; return the branch holding the result.

    Fills in the result's versions, conflicts, kept-deleted files and lint verdicts.
    """
    scratch = Path(tempfile.mkdtemp(prefix="crisp-ml-update-"))
    worktree = scratch / "worktree"
    try:
        run_git(top, "worktree", "add", "--detach", str(worktree), start_commit)
        checkout = worktree / project.relative_to(top)
        if options.lint:
            result.lint_before = run_crisp_lint(checkout)
        _run_copier(checkout, options, trusted, relative_to=project)
        result.to_version = _recorded_commit(checkout)
        result.kept_deleted = _delete_resurrected_files(worktree)
        changed = status_paths(worktree)
        if not changed:
            raise _Stop(Status.UP_TO_DATE, f"no change from template {result.to_version}")
        result.conflicts = find_conflicts(worktree, changed)
        if options.lint and not result.conflicts:
            result.lint_after = run_crisp_lint(checkout)
            result.new_lint_errors = new_errors(result.lint_before, result.lint_after)
        branch = _unused_branch_name(top, options.branch, result.to_version)
        _commit_on_branch(worktree, branch, result)
        return branch
    finally:
        run_git(top, "worktree", "remove", "--force", str(worktree), check=False)
        shutil.rmtree(scratch, ignore_errors=True)
        run_git(top, "worktree", "prune", check=False)


def _check_repository(project: Path) -> Path:
    """The work tree root; _Stop unless ``project`` is a clean, generated git checkout."""
    if not project.is_dir():
        raise _Stop(Status.FAILED, "no such directory")
    top = toplevel(project)
    if top is None:
        raise _Stop(Status.FAILED, "not a git repository (Copier updates need git history)")
    if not (project / ANSWERS_FILE).is_file():
        raise _Stop(
            Status.FAILED,
            f"no {ANSWERS_FILE}: this project was not generated from a Copier template",
        )
    if operation := operation_in_progress(top):
        raise _Stop(Status.REFUSED_DIRTY, f"a {operation} is in progress: finish or abort it")
    if dirty := dirty_paths(top):
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise _Stop(
            Status.REFUSED_DIRTY,
            f"uncommitted changes ({shown}): commit or stash them, then update again",
        )
    if current_branch(top) is None:
        raise _Stop(Status.FAILED, "HEAD is detached: check out the branch to update")
    return top


def _check_source(project: Path, source: str | None) -> None:
    """_Stop when the recorded template source is a local folder that is not there."""
    local = local_source_path(source, project) if source else None
    if local is not None and not local.is_dir():
        raise _Stop(
            Status.FAILED,
            f"template source {source} is not there (moved?): set _src_path in "
            f"{ANSWERS_FILE} to where the template lives now, commit, and update again",
        )


def _run_copier(checkout: Path, options: UpdateOptions, trusted: bool, relative_to: Path) -> None:
    """``copier update`` in its own process: merge inline, keep answers, run no _tasks.

    Copier resolves a relative ``_src_path`` from its working directory, so it runs in
    ``relative_to`` (the user's project root, as check-update reads it), never in the
    temporary worktree, where a relative path would point nowhere. It writes only to
    ``checkout``.
    """
    command = [
        sys.executable,
        "-m",
        "copier",
        "update",
        "--defaults",
        "--skip-answered",
        "--skip-tasks",  # generation-time tasks; migrations still run
        "--conflict",
        "inline",
        "--quiet",
    ]
    if options.vcs_ref is not None:
        command += ["--vcs-ref", options.vcs_ref]
    if trusted:
        command.append("--trust")
    command.append(str(checkout))
    try:
        done = subprocess.run(
            command,
            cwd=relative_to,
            capture_output=True,
            text=True,
            timeout=options.copier_timeout,
            env=git_env(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise _Stop(
            Status.FAILED, f"copier update took over {options.copier_timeout:g} s"
        ) from None
    if done.returncode != 0:
        raise _Stop(Status.FAILED, _copier_failure(done.stderr))


def _copier_failure(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    text = " ".join(lines)
    # Copier's refusal, not any traceback line that merely mentions its `_check_unsafe`.
    if "potentially unsafe feature" in text:
        return (
            "the template runs migrations, which Copier treats as unsafe: "
            "re-run with --trust if you trust this template source"
        )
    return f"copier update failed: {lines[-1] if lines else 'no message'}"


def _recorded_commit(checkout: Path) -> str | None:
    try:
        commit = read_answers(checkout / ANSWERS_FILE).get("_commit")
    except ValueError:
        return None
    return commit if isinstance(commit, str) else None


def _delete_resurrected_files(worktree: Path) -> list[str]:
    """Delete again the files the update re-created although the team had deleted them.

    Copier re-creates a deleted file when it matches ``_skip_if_exists`` (all phase
    documents do). A new file whose path the branch's history already knew was deleted on
    purpose; a file the template adds for the first time has no history and stays.
    """
    resurrected = []
    for path in untracked_paths(worktree):
        if path.endswith(".rej"):
            continue
        seen = run_git(worktree, "log", "-1", "--format=%H", "HEAD", "--", path).stdout.strip()
        if seen:
            (worktree / path).unlink(missing_ok=True)
            resurrected.append(path)
    return sorted(resurrected)


def _unused_branch_name(top: Path, pattern: str, version: str | None) -> str:
    """``pattern`` with the version filled in, made a valid and unused branch name."""
    safe_version = re.sub(r"[^A-Za-z0-9._-]+", "-", version or "unknown").strip(".-")
    base = pattern.replace("{version}", safe_version or "unknown")
    name, counter = base, 1
    while branch_exists(top, name):
        counter += 1
        name = f"{base}-{counter}"
    return name


def _commit_on_branch(worktree: Path, branch: str, result: RepoResult) -> None:
    """Commit the worktree on its detached HEAD, then name the commit ``branch``.

    The branch appears only once the commit exists, so a failure leaves no stray branch.
    """
    run_git(worktree, "add", "--all")
    # Copier's .rej files may be gitignored; the person resolving the conflict needs them.
    rejects = [f"{c.path}.rej" for c in result.conflicts if c.kind == "rej-file"]
    if rejects:
        run_git(worktree, "add", "--force", "--", *rejects)
    # Copier deletes what the new template dropped, edited or not: say so, never silently.
    deleted = run_git(worktree, "diff", "--cached", "--name-only", "-z", "-M", "--diff-filter=D")
    result.removed = sorted(path for path in deleted.stdout.split("\0") if path)
    subject = f"Update the crisp-ml template from {result.from_version} to {result.to_version}"
    body = ""
    if result.conflicts:
        listed = "\n".join(f"- {c.path} ({c.kind})" for c in result.conflicts)
        body = f"\n\nConflicts to resolve before merging:\n{listed}\n"
    config = {**_QUIET_COMMIT, **identity_config(worktree)}
    run_git(worktree, "commit", "--quiet", "--no-verify", "-m", subject + body, config=config)
    run_git(worktree, "branch", branch, head_commit(worktree))


def _fast_forward(top: Path, user_branch: str, start_commit: str, branch: str) -> None:
    """Move the user's branch to the update, only if nobody moved or dirtied it meanwhile."""
    if current_branch(top) != user_branch or head_commit(top) != start_commit or dirty_paths(top):
        raise _Stop(
            Status.FAILED,
            f"{user_branch} changed during the update; the update is on branch {branch}",
        )
    run_git(top, "merge", "--quiet", "--ff-only", branch, config={"core.hooksPath": "/dev/null"})
    run_git(top, "branch", "--quiet", "-d", branch)
