"""Git in a subprocess: every call bounded by a timeout, never prompting, never guessing the repo.

The updater drives git from threads, possibly inside a git hook or CI job, so each call
names its repository with ``-C``, drops the variables a hook sets (``GIT_DIR`` and friends
would redirect the call to another repository) and cannot stop to ask for a password.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from crisp_ml.interrupt import run_process

DEFAULT_TIMEOUT_SECONDS = 60.0
# Commits crisp-ml makes on a branch carry this identity when the repo has none configured.
BOT_NAME = "crisp-ml"
BOT_EMAIL = "crisp-ml@users.noreply.invalid"

_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")


class GitError(Exception):
    """A git command failed or timed out; the message says which and why."""


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for git and for tools that run git (Copier)."""
    env = {key: value for key, value in os.environ.items() if key not in _REPO_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"
    # `git status` would otherwise refresh the index file: a refused repo must stay
    # byte-for-byte as it was, .git included.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env.setdefault("GIT_EDITOR", "true")
    env.update(extra or {})
    return env


def run_git(
    repo: Path,
    *args: str,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    check: bool = True,
    config: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``git -C repo [-c key=value ...] args`` and return the finished process.

    Raises GitError when git exits non-zero (unless ``check`` is False), is missing, or
    runs longer than ``timeout`` seconds.
    """
    settings = [part for key, value in (config or {}).items() for part in ("-c", f"{key}={value}")]
    command = ["git", "-C", str(repo), *settings, *args]
    try:
        done = run_process(command, timeout=timeout, env=git_env())
    except subprocess.TimeoutExpired:
        raise GitError(f"`git {' '.join(args)}` took over {timeout:g} s in {repo}") from None
    except OSError as error:
        raise GitError(f"cannot run git: {error}") from None
    if check and done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip()).splitlines()
        detail = output[0] if output else f"exit code {done.returncode}"
        raise GitError(f"`git {' '.join(args)}` failed in {repo}: {detail}")
    return done


def git_output(repo: Path, *args: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> str:
    """Standard output of a git command that must succeed, stripped."""
    return run_git(repo, *args, timeout=timeout).stdout.strip()


def toplevel(path: Path) -> Path | None:
    """The root of the work tree that holds ``path``, or None when it is not in one."""
    done = run_git(path, "rev-parse", "--show-toplevel", check=False)
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def dirty_paths(repo: Path) -> list[str]:
    """Everything ``git status`` would show: staged, modified, deleted and untracked files.

    Ignored files do not count: they are not the update's business and it never writes them.
    """
    return status_paths(repo)


def status_paths(repo: Path, *options: str) -> list[str]:
    """Paths ``git status`` lists (untracked files one by one), unquoted."""
    status = run_git(
        repo, "status", "--porcelain=v1", "-z", "--untracked-files=all", *options
    ).stdout
    entries = iter(status.split("\0"))
    paths = []
    for entry in entries:
        if not entry:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename or copy is followed by its source path
            next(entries, None)
    return paths


def untracked_paths(repo: Path) -> list[str]:
    """Files git does not track and does not ignore, relative to the work tree root."""
    listing = run_git(repo, "ls-files", "--others", "--exclude-standard", "-z").stdout
    return [path for path in listing.split("\0") if path]


def operation_in_progress(repo: Path) -> str | None:
    """The name of an unfinished merge, rebase, cherry-pick or revert, if there is one."""
    markers = {
        "MERGE_HEAD": "merge",
        "rebase-merge": "rebase",
        "rebase-apply": "rebase",
        "CHERRY_PICK_HEAD": "cherry-pick",
        "REVERT_HEAD": "revert",
    }
    for marker, operation in markers.items():
        path = Path(git_output(repo, "rev-parse", "--git-path", marker))
        if not path.is_absolute():
            path = repo / path
        if path.exists():
            return operation
    return None


def current_branch(repo: Path) -> str | None:
    """The checked-out branch, or None on a detached HEAD."""
    done = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return done.stdout.strip() or None


def head_commit(repo: Path) -> str:
    return git_output(repo, "rev-parse", "HEAD")


def branch_exists(repo: Path, branch: str) -> bool:
    done = run_git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    return done.returncode == 0


def identity_config(repo: Path) -> dict[str, str]:
    """``-c`` settings that give commits an author when the repo (or user) configured none."""
    config: dict[str, str] = {}
    for key, fallback in (("user.name", BOT_NAME), ("user.email", BOT_EMAIL)):
        if run_git(repo, "config", "--get", key, check=False).returncode != 0:
            config[key] = fallback
    return config
