"""``crisp-ml check-update``: is a newer template version out? Offline for local sources."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from crisp_lint.drift import template_drift

EXIT_UP_TO_DATE = 0
EXIT_UPDATE_AVAILABLE = 1
EXIT_UNREADABLE = 2
EXIT_UNKNOWN = 3


@click.command()
@click.argument("repo", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--remote",
    is_flag=True,
    help="Ask a remote template source for its tags (one `git ls-remote`, 10 s timeout). "
    "Without it a remote source is reported as unknown.",
)
@click.option(
    "--output-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
def check_update(repo: Path, remote: bool, output_format: str) -> None:
    """Say whether a newer release of REPO's template exists (default: current directory).

    Reads the template source and version from .copier-answers.yml and compares the
    version with the template's newest PEP 440 release tag (pre-releases ignored, as
    `copier update` does). A local template source is read offline.

    \b
    Exit codes (like `cruft check`, a newer version is a failure, for CI):
      0  up to date
      1  a newer template version exists: run `crisp-ml update`
      2  no readable .copier-answers.yml (not a generated project) or usage error
      3  cannot tell: remote source without --remote, or the source is unreachable
    """
    drift = template_drift(repo, remote=remote)
    if drift.known and drift.update_available:
        code = EXIT_UPDATE_AVAILABLE
        text = f"template {drift.current} -> {drift.latest} available; run: crisp-ml update {repo}"
    elif drift.known:
        code = EXIT_UP_TO_DATE
        text = f"up to date: template {drift.current} is the newest release ({drift.latest})"
    elif drift.current is None:
        code = EXIT_UNREADABLE
        text = f"{repo}: {drift.reason}"  # the reason names the answers file
    else:
        code = EXIT_UNKNOWN
        text = f"template {drift.current}: newest release unknown: {drift.reason}"
    if output_format == "json":
        click.echo(json.dumps({"repo": str(repo), **drift.to_json()}, indent=2))
    else:
        click.echo(text, err=code in (EXIT_UNREADABLE, EXIT_UNKNOWN))
    sys.exit(code)
