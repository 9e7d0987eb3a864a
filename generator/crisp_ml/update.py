"""``crisp-ml update``: bring one repository or a fleet up to the newest template."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from crisp_ml import interrupt
from crisp_ml.fleet import Progress, update_fleet
from crisp_ml.repo_update import DEFAULT_BRANCH, UpdateOptions
from crisp_ml.report import fleet_json, fleet_table

EXIT_ALL_GOOD = 0
EXIT_NEEDS_HUMAN = 1


@click.command()
@click.argument("repos", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read repository paths from this file, one per line ('#' starts a comment; "
    "relative paths are relative to the file).",
)
@click.option(
    "--vcs-ref",
    metavar="REF",
    help="Template tag or commit to update to. Default: the newest PEP 440 release tag "
    "(untagged template commits are ignored unless you pass --vcs-ref HEAD).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Repositories updated at the same time.",
)
@click.option(
    "--output-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="A summary table, or one JSON document on standard output.",
)
@click.option(
    "--trust",
    is_flag=True,
    help="Run the template's migrations even if it is not crisp-ml's own template "
    "(Copier calls migrations unsafe: they run commands on this machine).",
)
@click.option(
    "--branch",
    metavar="NAME",
    default=DEFAULT_BRANCH,
    show_default=True,
    help="Branch that holds an update needing review; {version} is the template version.",
)
@click.option(
    "--no-merge",
    is_flag=True,
    help="Leave clean updates on their branch too (for a pull request) instead of "
    "fast-forwarding the checked-out branch.",
)
@click.option("--no-lint", is_flag=True, help="Do not run crisp-lint before and after.")
def update(
    repos: tuple[Path, ...],
    from_file: Path | None,
    vcs_ref: str | None,
    jobs: int,
    output_format: str,
    trust: bool,
    branch: str,
    no_merge: bool,
    no_lint: bool,
) -> None:
    """Update generated repositories to a newer version of their template.

    Updates REPOS (default: the current directory) and the repositories listed in
    --from-file. For each one: a dirty working tree is refused and left untouched; the
    update runs in a temporary git worktree on a new branch; conflicts are found (inline
    markers, .rej files, unmerged paths) and crisp-lint runs before and after. The
    checked-out branch is fast-forwarded only to a clean update that adds no crisp-lint
    error; otherwise the result waits on the update branch and the checked-out branch is
    exactly as it was.

    \b
    Exit codes:
      0  every repository is updated or already up to date
      1  some repository needs a person: conflict, lint-regressed, refused-dirty,
         refused-untracked, failed
      2  usage error (bad option, unreadable --from-file)
      130, 143  interrupted by SIGINT or SIGTERM: temporary worktrees were removed, and
         the repositories not finished are reported failed and unchanged
    """
    _check_branch_pattern(branch)
    targets = _unique([*repos, *(_read_repo_list(from_file) if from_file else [])])
    if not targets:
        targets = [Path(".")]
    options = UpdateOptions(
        vcs_ref=vcs_ref, trust=trust, branch=branch, merge=not no_merge, lint=not no_lint
    )
    progress = Progress(len(targets))
    # SIGTERM and SIGINT cancel the run: children stop, each update removes its worktree,
    # and the report still lists what finished (review branches included).
    with interrupt.cancel_on_signals():
        run = update_fleet(targets, options, jobs, on_finished=progress.finished)
    click.echo(fleet_json(run) if output_format == "json" else fleet_table(run))
    if (signum := interrupt.received_signal()) is not None:
        click.echo(
            f"crisp-ml update: interrupted by {interrupt.signal_name()}; temporary worktrees "
            "were removed and unfinished repositories are unchanged: run crisp-ml update again",
            err=True,
        )
        sys.exit(128 + signum)
    needs_human = any(result.status.needs_human for result in run.results)
    sys.exit(EXIT_NEEDS_HUMAN if needs_human else EXIT_ALL_GOOD)


def _check_branch_pattern(pattern: str) -> None:
    example = pattern.replace("{version}", "v1.0.0")
    if "{" in example or "}" in example:
        raise click.BadParameter("only {version} may appear in braces", param_hint="--branch")
    try:
        done = subprocess.run(
            ["git", "check-ref-format", "--branch", example],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise click.UsageError(f"cannot run git ({error}); crisp-ml update needs git") from None
    if done.returncode != 0:
        raise click.BadParameter(f"{example!r} is not a valid branch name", param_hint="--branch")


def _read_repo_list(list_file: Path) -> list[Path]:
    try:
        text = list_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise click.BadParameter(
            f"cannot read {list_file}: {error}", param_hint="--from-file"
        ) from None
    paths = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            path = Path(entry).expanduser()
            paths.append(path if path.is_absolute() else list_file.parent / path)
    return paths


def _unique(paths: list[Path]) -> list[Path]:
    """The same repo named twice would be updated by two workers at once: keep the first."""
    seen: set[Path] = set()
    unique = []
    for path in paths:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique
