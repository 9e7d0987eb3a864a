"""Update one generated repository from its template, safely.

The user's branch only ever moves by a fast-forward to a finished, conflict-free update.
Everything else happens in a temporary ``git worktree`` on a new branch:

1. refuse a dirty tree (or an unfinished merge or rebase) and touch nothing;
2. check out HEAD in a temporary worktree, run crisp-lint there (the "before" verdict);
3. run ``copier update`` on the worktree in a subprocess (a timeout can stop it, and
   Copier's changes of the working directory stay in that process);
4. undo Copier re-creating files the team had deleted (copier#1721), find conflicts
   (markers, ``.rej`` files, unmerged paths: Copier exits 0 on conflicts), lint again;
5. commit the result in the worktree; refuse (writing nothing) when a path the update
   creates is taken by a file git does not track in the user's working tree (an ignored
   ``.env.example``: a fast-forward would silently overwrite it);
6. fast-forward the user's branch to the commit only when there is no conflict and
   crisp-lint found no new error. Otherwise name it ``crisp-ml/update-<version>`` for a
   person to finish, and the user's branch is exactly as it was.

A branch is created only to hand a result over, as the run's last step, so an interrupted
run leaves none. Its temporary worktree lives in a ``crisp-ml-update-*`` folder holding an
``owner.lock`` the run keeps locked: a signal removes the worktree on the way out, and the
next run removes the worktree of a run that was killed (whose lock nobody holds).
"""

from __future__ import annotations

import os
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
from crisp_ml import interrupt
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
from crisp_ml.interrupt import Interrupted, run_process
from crisp_ml.lint_gate import LintSummary, new_errors, run_crisp_lint
from crisp_ml.trust import is_trusted_source

COPIER_TIMEOUT_SECONDS = 600.0
DEFAULT_BRANCH = "crisp-ml/update-{version}"
# Commits on the update branch must not run the team's hooks (they may need tools this
# process lacks) nor wait for a signing key.
_QUIET_COMMIT = {"core.hooksPath": "/dev/null", "commit.gpgsign": "false"}
SCRATCH_PREFIX = "crisp-ml-update-"  # temporary folders: <tmp>/crisp-ml-update-*/worktree
OWNER_LOCK = "owner.lock"  # locked by the run that owns the scratch folder while it runs
# A scratch folder without a lock file (made by a crisp-ml before 0.x, or not yet locked)
# is left alone until it is this old: no update runs that long (Copier's timeout is 600 s).
UNLOCKED_SCRATCH_STALE_SECONDS = 3600.0
# Test hook: seconds to wait once the worktree exists, so a test can signal a running update.
PAUSE_ENV = "CRISP_ML_TEST_PAUSE_AFTER_WORKTREE"


class Status(StrEnum):
    UPDATED = "updated"  # the user's branch now holds the update (or the review branch does)
    UP_TO_DATE = "up-to-date"
    CONFLICT = "conflict"  # result committed on the update branch, conflicts marked
    LINT_REGRESSED = "lint-regressed"  # merged cleanly but crisp-lint has new errors
    REFUSED_DIRTY = "refused-dirty"  # nothing touched
    REFUSED_UNTRACKED = "refused-untracked"  # the update would overwrite an untracked file
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
    # What the template's migrations printed (a kept team-changed file, how to finish).
    migration_notes: list[str] = field(default_factory=list)
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
            "migration_notes": self.migration_notes,
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
        interrupt.check()
        _update(repo.resolve(), options, result)
    except Interrupted as stopped:
        result.status = Status.FAILED
        result.message = (
            f"{stopped} before the update finished: nothing changed; run crisp-ml update again"
        )
        result.branch = None
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
    remove_stale_worktrees(top)
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

    commit = _update_in_worktree(top, project, start_commit, options, trusted, result)
    _refuse_untracked_collisions(top, start_commit, commit)
    interrupt.check()

    if result.conflicts or result.new_lint_errors or not options.merge:
        # Handing the result over is the last step: a run stopped earlier leaves no branch.
        branch = _hand_over(top, options.branch, result.to_version, commit)
        result.branch = branch
        if result.conflicts:
            paths = ", ".join(sorted({c.path for c in result.conflicts}))
            raise _Stop(Status.CONFLICT, f"conflicts in {paths}; resolve them on branch {branch}")
        if result.new_lint_errors:
            codes = ", ".join(sorted({code for code, _ in result.new_lint_errors}))
            raise _Stop(Status.LINT_REGRESSED, f"crisp-lint has new errors ({codes}) on {branch}")
        result.status, result.message = Status.UPDATED, f"ready for review on branch {branch}"
        return
    _fast_forward(top, user_branch, start_commit, commit)
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
    """Update a throw-away checkout of ``start_commit``; return the commit holding the result.

    Fills in the result's versions, conflicts, kept-deleted files and lint verdicts. The
    commit is on no branch; the worktree is gone when this returns or raises.
    """
    scratch = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX))
    worktree = scratch / "worktree"
    owner = _lock_scratch(scratch)
    try:
        with interrupt.children_hold(owner):
            return _update_checkout(top, project, worktree, start_commit, options, trusted, result)
    finally:
        with interrupt.shielded():  # cleanup runs even after a signal
            run_git(top, "worktree", "remove", "--force", str(worktree), check=False)
            shutil.rmtree(scratch, ignore_errors=True)
            run_git(top, "worktree", "prune", check=False)
            if owner is not None:
                os.close(owner)


def _update_checkout(
    top: Path,
    project: Path,
    worktree: Path,
    start_commit: str,
    options: UpdateOptions,
    trusted: bool,
    result: RepoResult,
) -> str:
    """The update itself, in the worktree (which this adds); return the commit."""
    run_git(top, "worktree", "add", "--detach", str(worktree), start_commit)
    if pause := os.environ.get(PAUSE_ENV):
        print(f"crisp-ml update: pausing {pause} s in {worktree}", file=sys.stderr, flush=True)
        interrupt.sleep(float(pause))
    checkout = worktree / project.relative_to(top)
    if options.lint:
        result.lint_before = run_crisp_lint(checkout)
    interrupt.check()
    result.migration_notes = _run_copier(checkout, options, trusted, relative_to=project)
    result.to_version = _recorded_commit(checkout)
    result.kept_deleted = _delete_resurrected_files(worktree)
    changed = status_paths(worktree)
    if not changed:
        raise _Stop(Status.UP_TO_DATE, f"no change from template {result.to_version}")
    result.conflicts = find_conflicts(worktree, changed)
    if options.lint and not result.conflicts:
        result.lint_after = run_crisp_lint(checkout)
        result.new_lint_errors = new_errors(result.lint_before, result.lint_after)
    interrupt.check()
    return _commit_update(worktree, result)


def _lock_scratch(scratch: Path) -> int | None:
    """Create and lock ``scratch/owner.lock``; the lock ends with this process, however."""
    try:
        import fcntl
    except ImportError:  # not POSIX: later runs judge the folder by its age
        return None
    descriptor = os.open(scratch / OWNER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return descriptor


def _scratch_owner_alive(scratch: Path) -> bool:
    """Whether the run that made ``scratch`` may still be running."""
    try:
        import fcntl
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    lock = scratch / OWNER_LOCK
    if fcntl is not None and lock.is_file():
        try:
            descriptor = os.open(lock, os.O_RDWR)
        except OSError:
            return True
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True  # held: its run is alive
        finally:
            os.close(descriptor)  # closing drops a lock we got
        return False
    try:
        age = time.time() - scratch.stat().st_mtime
    except OSError:
        return False  # the folder is gone (a reboot emptied /tmp): only git's record is left
    return age < UNLOCKED_SCRATCH_STALE_SECONDS


def remove_stale_worktrees(top: Path) -> list[str]:
    """Remove the temporary worktrees of crisp-ml runs that were killed; return their paths.

    Only crisp-ml's own worktrees are touched: those at ``<tmp>/crisp-ml-update-*/worktree``
    whose ``owner.lock`` no process holds. Branches are never removed here: a run creates
    one only to hand a result to the user.
    """
    listing = run_git(top, "worktree", "list", "--porcelain", "-z", check=False)
    if listing.returncode != 0:
        return []
    removed = []
    for record in listing.stdout.split("\0\0"):
        fields = [field for field in record.split("\0") if field]
        if not fields or not fields[0].startswith("worktree "):
            continue
        path = Path(fields[0].removeprefix("worktree "))
        scratch = path.parent
        if path.name != "worktree" or not scratch.name.startswith(SCRATCH_PREFIX):
            continue
        if _scratch_owner_alive(scratch):
            continue
        with interrupt.shielded():
            run_git(top, "worktree", "remove", "--force", "--force", str(path), check=False)
            shutil.rmtree(scratch, ignore_errors=True)
        removed.append(str(path))
    if removed:
        with interrupt.shielded():
            run_git(top, "worktree", "prune", check=False)
    return removed


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


def _run_copier(
    checkout: Path, options: UpdateOptions, trusted: bool, relative_to: Path
) -> list[str]:
    """``copier update`` in its own process: merge inline, keep answers, run no _tasks;
    return what the template's migrations printed (their lines start with ``migration``).

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
        done = run_process(command, cwd=relative_to, timeout=options.copier_timeout, env=git_env())
    except subprocess.TimeoutExpired:
        raise _Stop(
            Status.FAILED, f"copier update took over {options.copier_timeout:g} s"
        ) from None
    except OSError as error:
        raise _Stop(Status.FAILED, f"cannot run copier ({error}): reinstall crisp-ml") from None
    if done.returncode != 0:
        raise _Stop(Status.FAILED, _copier_failure(done.stderr))
    return migration_notes(done.stdout + "\n" + done.stderr)


def migration_notes(output: str) -> list[str]:
    """The lines Copier's output holds from the template's migrations (migrations/*.py
    start each line with ``migration``), which the captured output would otherwise hide."""
    return [line.strip() for line in output.splitlines() if line.startswith("migration")]


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
    while branch_exists(top, name) or _branches_under(top, name):
        counter += 1
        name = f"{base}-{counter}"
    return name


def _branches_under(top: Path, name: str) -> str | None:
    """A branch ``name/...``, if one exists (git then cannot create a branch ``name``)."""
    done = run_git(
        top, "for-each-ref", "--count=1", "--format=%(refname:short)", f"refs/heads/{name}/"
    )
    return done.stdout.strip() or None


def _blocking_branch(top: Path, name: str) -> str | None:
    """An existing branch whose name is a folder of ``name`` (``crisp-ml`` blocks
    ``crisp-ml/update-v1``: git stores branches as files, so both cannot exist)."""
    parts = name.split("/")
    for end in range(1, len(parts)):
        prefix = "/".join(parts[:end])
        if branch_exists(top, prefix):
            return prefix
    return None


def _hand_over(top: Path, pattern: str, version: str | None, commit: str) -> str:
    """Name ``commit`` with a new branch for a person to review; return the branch name."""
    name = _unused_branch_name(top, pattern, version)
    if blocker := _blocking_branch(top, name):
        raise _Stop(
            Status.FAILED,
            f"cannot create the review branch {name}: your branch {blocker!r} is in the way "
            f"(git cannot have both {blocker} and {blocker}/...). Rename it "
            f"(git branch -m {blocker} <new-name>) or pass --branch NAME, then update again",
        )
    with interrupt.shielded():
        run_git(top, "branch", name, commit)
    return name


def _commit_update(worktree: Path, result: RepoResult) -> str:
    """Commit the worktree on its detached HEAD and return the commit (on no branch yet)."""
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
    return head_commit(worktree)


def untracked_collisions(top: Path, start_commit: str, commit: str) -> list[str]:
    """Paths in ``top``'s working tree, not tracked by git, that moving from
    ``start_commit`` to ``commit`` would overwrite or delete.

    Git treats ignored files as expendable: a fast-forward that adds ``.env.example``
    silently replaces the user's ignored ``.env.example``. So every path the update adds is
    checked here: taken by any file, folder or link (a folder: git would delete the ignored
    files in it), or below a file or link that git does not track.
    """
    added = run_git(
        top, "diff", "--name-only", "--no-renames", "-z", "--diff-filter=A", start_commit, commit
    ).stdout
    taken: set[str] = set()
    for path in filter(None, added.split("\0")):
        if os.path.lexists(top / path):
            taken.add(path)  # not in start_commit, and the tree is clean: so not tracked
            continue
        parts = path.split("/")
        for end in range(1, len(parts)):
            ancestor = top.joinpath(*parts[:end])
            if ancestor.is_symlink() or (ancestor.exists() and not ancestor.is_dir()):
                taken.add("/".join(parts[:end]))
                break
    if not taken:
        return []
    # An ancestor may be a file the update deletes (a tracked one): git handles that.
    tracked = run_git(top, "ls-files", "-z", "--", *(f":(literal){p}" for p in taken)).stdout
    return sorted(taken - set(tracked.split("\0")))


def _refuse_untracked_collisions(top: Path, start_commit: str, commit: str) -> None:
    if collisions := untracked_collisions(top, start_commit, commit):
        shown = ", ".join(collisions[:5]) + (
            f" and {len(collisions) - 5} more" if len(collisions) > 5 else ""
        )
        it = "it" if len(collisions) == 1 else "them"
        raise _Stop(
            Status.REFUSED_UNTRACKED,
            f"the new template version writes {shown}, which your working tree has but git "
            f"does not track (ignored or untracked), so the update would overwrite {it}: "
            f"move {shown} away or commit {it}, then update again",
        )


def _fast_forward(top: Path, user_branch: str, start_commit: str, commit: str) -> None:
    """Move the user's branch to the update, only if nobody moved or dirtied it meanwhile."""
    if current_branch(top) != user_branch or head_commit(top) != start_commit or dirty_paths(top):
        raise _Stop(
            Status.FAILED,
            f"{user_branch} changed during the update; nothing was merged: update again",
        )
    _refuse_untracked_collisions(top, start_commit, commit)  # a file may have appeared since
    interrupt.check()
    with interrupt.shielded():  # a merge cut in half would leave a half-updated tree
        run_git(
            top, "merge", "--quiet", "--ff-only", commit, config={"core.hooksPath": "/dev/null"}
        )
