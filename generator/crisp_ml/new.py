"""``crisp-ml new``: generate a CRISP-ML project from the Copier template.

A thin, careful wrapper around ``copier.run_copy``: answers are checked before anything is
written, errors are one line naming the question or file and the fix (never a traceback),
a failed run leaves no half-written project behind, and a non-interactive run never
overwrites an existing file (Copier would need to ask first).

After a successful copy the project gets ``git init`` (DVC needs a git repository), but no
commit: the first commit is the team's, made after they have looked at what was generated,
with their own identity.
"""

from __future__ import annotations

import errno
import filecmp
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
import pathspec
import yaml

from crisp_lint.drift import local_source_path

from .answers import (
    AnswerError,
    Questionnaire,
    check_answers,
    explain_copier_error,
    parse_data_pairs,
    read_data_file,
    read_questionnaire,
)
from .git import GitError, run_git
from .template_source import default_template
from .trust import is_trusted_source

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
MAX_MESSAGE_CHARS = 400
DEFAULT_BRANCH = "main"  # copier.yml's default for default_branch


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one line (errors from git or Jinja span several) and exit with ``code``."""
    line = " ".join(message.split())
    if len(line) > MAX_MESSAGE_CHARS:
        line = line[: MAX_MESSAGE_CHARS - 3] + "..."
    click.echo(f"crisp-ml new: {line}", err=True)
    sys.exit(code)


@click.command()
@click.argument("dest", type=click.Path(path_type=Path))
@click.option(
    "--template",
    metavar="SRC",
    help="Template to use: a local folder or a git URL. Default: $CRISP_ML_TEMPLATE, else "
    "the template beside this installation, else the published one.",
)
@click.option(
    "--vcs-ref",
    metavar="REF",
    help="Template version (git tag, branch or commit). Default: the newest release tag; "
    "for the template beside this installation, its current working tree (HEAD).",
)
@click.option(
    "--defaults", is_flag=True, help="Use the default answer of every question not given."
)
@click.option(
    "--data",
    "data_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Answer a question, e.g. --data ml_task=regression. Repeatable.",
)
@click.option(
    "--data-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML file of answers (question: value). --data wins over it.",
)
@click.option(
    "--git/--no-git",
    default=True,
    show_default=True,
    help="Run `git init` in the new project when it is not inside a git repository.",
)
@click.option(
    "--trust",
    is_flag=True,
    help="Let the template run its _tasks (commands run on this machine after generating) "
    "even if it is not crisp-ml's own template, as `crisp-ml update --trust` does for "
    "migrations.",
)
@click.option("--quiet", is_flag=True, help="Do not list the files written.")
def new(
    dest: Path,
    template: str | None,
    vcs_ref: str | None,
    defaults: bool,
    data_pairs: tuple[str, ...],
    data_file: Path | None,
    git: bool,
    trust: bool,
    quiet: bool,
) -> None:
    """Generate a new CRISP-ML project in DEST."""
    source = recordable_source(template or default_template())
    if vcs_ref is None and template is None and Path(source).is_dir():
        # The template beside the running code: use it as it is, so code and template match.
        vcs_ref = "HEAD"
    try:
        answers = gather_answers(data_file, data_pairs)
        questionnaire = read_questionnaire(source)
        if questionnaire is not None:
            check_answers(answers, questionnaire)
    except AnswerError as error:
        fail(str(error))
    check_destination(dest)

    can_ask = sys.stdin.isatty()
    if not can_ask and not defaults:
        fail(
            "no terminal to ask the questions on: add --defaults "
            "(and --data/--data-file for the answers that differ)"
        )
    unsafe = trust or is_trusted_source(source, Path.cwd())
    kept: list[str] = []
    if is_non_empty_dir(dest):
        # With a terminal Copier asks before each overwrite, but it cannot put a folder
        # where a file is: that is refused here too, before anything is written.
        kept = refuse_overwrites(
            source, dest, answers, vcs_ref, questionnaire, unsafe=unsafe, overwrites=not can_ask
        )

    before = listing(dest) if dest.is_dir() else None
    try:
        copy(source, dest, answers, vcs_ref, defaults=defaults, quiet=quiet, unsafe=unsafe)
    except BaseException:
        # Copier removes a folder it created itself; in one we were given, we remove what
        # was not there before (never a file of the user's).
        if before is not None:
            remove_written(dest, before)
        raise
    for relative in kept:
        click.echo(
            f"crisp-ml new: kept your {relative}: it is team-owned, so the template's "
            "version was not written",
            err=True,
        )
    if git:
        init_git(dest, answered_branch(dest))


def gather_answers(data_file: Path | None, data_pairs: tuple[str, ...]) -> dict[str, Any]:
    answers: dict[str, Any] = read_data_file(data_file) if data_file else {}
    answers.update(parse_data_pairs(data_pairs))
    return answers


def recordable_source(source: str) -> str:
    """``source`` as the answers file should record it: a local folder as an absolute path.

    Copier records the path as typed and later resolves it from wherever `copier update`
    runs, so a relative one would break every update. A missing folder is named here,
    where Copier's own message would not say which.
    """
    local = local_source_path(source, Path.cwd())
    if local is None:
        return source
    if not local.is_dir():
        fail(f"{source}: no template folder there; give a local folder or a git URL")
    return str(local.resolve())


def os_error_message(error: OSError) -> str:
    """One line for a file-system refusal, without a traceback."""
    if error.errno == errno.ENAMETOOLONG:
        return (
            "generation failed: a file or folder name is too long for the file system;"
            " shorten the destination, project_slug or package_name"
        )
    where = f" ({error.filename})" if error.filename else ""
    return f"generation failed: {error.strerror or error}{where}"


def check_destination(dest: Path) -> None:
    try:
        dest.exists()
    except OSError as error:  # a name too long, a path through a file...
        fail(f"{dest}: cannot use it as the destination: {error.strerror or error}")
    if dest.exists() and not dest.is_dir():
        fail(f"{dest}: exists and is not a folder; choose a new or empty folder")


def is_non_empty_dir(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


def listing(folder: Path) -> set[str]:
    """Every path under ``folder`` (files, folders, links; links not followed)."""
    paths = set()
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        paths.update((base / name).as_posix() for name in (*dirs, *files))
    return paths


def remove_written(folder: Path, before: set[str]) -> None:
    """Remove every path under ``folder`` that is not in ``before`` (what a run wrote)."""
    for root, dirs, files in os.walk(folder):
        base = Path(root).relative_to(folder)
        for name in list(dirs):
            if (base / name).as_posix() not in before:
                dirs.remove(name)
                path = Path(root) / name
                if path.is_symlink():
                    path.unlink(missing_ok=True)
                else:
                    shutil.rmtree(path, ignore_errors=True)
        for name in files:
            if (base / name).as_posix() not in before:
                (Path(root) / name).unlink(missing_ok=True)


@contextmanager
def copier_errors_reported(quiet: bool) -> Iterator[None]:
    """Turn Copier's exceptions into one-line messages and exit codes, its warnings into notes."""
    from copier.errors import (
        CopierAnswersInterrupt,
        CopierError,
        CopierWarning,
        DirtyLocalWarning,
        UnsafeTemplateError,
    )
    from plumbum import ProcessExecutionError  # how Copier reports a failed git command

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CopierWarning)
        try:
            yield
        except (KeyboardInterrupt, CopierAnswersInterrupt):
            fail("interrupted; nothing was generated", EXIT_INTERRUPTED)
        except ValueError as error:
            if (message := explain_copier_error(error)) is not None:
                fail(message)
            fail(f"generation failed: {error}", EXIT_FAILED)
        except UnsafeTemplateError as error:
            refusal = (str(error).strip().splitlines() or ["uses unsafe features"])[0]
            fail(
                f"{refusal} (they run commands on this machine, so Copier refuses them): "
                "re-run crisp-ml new with --trust if you trust this template"
            )
        except CopierError as error:
            fail(str(error).strip() or type(error).__name__, EXIT_USAGE)
        except ProcessExecutionError as error:
            last_line = (str(error.stderr).strip().splitlines() or ["no error output"])[-1]
            fail(f"git failed while reading the template: {last_line}", EXIT_FAILED)
        except OSError as error:
            fail(os_error_message(error), EXIT_FAILED)
        except Exception as error:
            fail(f"generation failed: {type(error).__name__}: {error}", EXIT_FAILED)
    for warning in [] if quiet else caught:
        if issubclass(warning.category, DirtyLocalWarning):
            click.echo("crisp-ml new: note: the template's uncommitted changes were used", err=True)
        elif issubclass(warning.category, CopierWarning):
            click.echo(f"crisp-ml new: warning: {' '.join(str(warning.message).split())}", err=True)


def copy(
    source: str,
    dest: Path,
    answers: Mapping[str, Any],
    vcs_ref: str | None,
    *,
    defaults: bool,
    quiet: bool,
    unsafe: bool = False,
    skip_tasks: bool = False,
) -> None:
    import copier  # heavy (~0.3 s): only once a project is really generated

    with copier_errors_reported(quiet):
        copier.run_copy(
            source,
            dest,
            data=dict(answers),
            vcs_ref=vcs_ref,
            defaults=defaults,
            quiet=quiet,
            unsafe=unsafe,
            skip_tasks=skip_tasks,
            overwrite=False,
        )


def refuse_overwrites(
    source: str,
    dest: Path,
    answers: Mapping[str, Any],
    vcs_ref: str | None,
    questionnaire: Questionnaire | None,
    *,
    unsafe: bool = False,
    overwrites: bool = True,
) -> list[str]:
    """Find, before anything is written, what generating into ``dest`` would clobber.

    Renders into a scratch folder (no _tasks) and compares. A path of the other kind (a
    file where the template puts a folder, a folder or link where it puts a file) always
    refuses: Copier would fail half-way. With ``overwrites`` (no terminal: Copier cannot ask
    before overwriting), so does a differing file. Files identical to what would be written
    are no conflict; files the template skips when they exist (team-owned) are no conflict
    either, and are returned so the user learns the template's version was not written.
    """
    skip = pathspec.GitIgnoreSpec.from_lines(questionnaire.skip_if_exists if questionnaire else ())
    blocked: list[str] = []
    differing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crisp-ml-new-") as scratch:
        rendered = Path(scratch) / "project"
        copy(
            source,
            rendered,
            answers,
            vcs_ref,
            defaults=True,
            quiet=True,
            unsafe=unsafe,
            skip_tasks=True,
        )
        for path in sorted(rendered.rglob("*")):
            relative = path.relative_to(rendered).as_posix()
            target = dest / relative
            if relative == ".copier-answers.yml" or not os.path.lexists(target):
                continue
            if path.is_dir():
                if target.is_symlink() or not target.is_dir():
                    blocked.append(relative)
            elif target.is_dir():
                blocked.append(relative)
            elif not filecmp.cmp(path, target, shallow=False):
                differing.append(relative)
    if blocked:
        listed = ", ".join(blocked[:10]) + (" ..." if len(blocked) > 10 else "")
        fail(
            f"{dest}: {listed}: already there as a file or link where the template puts a "
            "folder, or as a folder where it puts a file. Move it away (or choose another "
            "folder), then run crisp-ml new again"
        )
    if not overwrites:
        return [relative for relative in differing if skip.match_file(relative)]
    kept = [relative for relative in differing if skip.match_file(relative)]
    conflicts = [relative for relative in differing if relative not in kept]
    if conflicts:
        listed = ", ".join(conflicts[:10]) + (" ..." if len(conflicts) > 10 else "")
        fail(
            f"{dest}: would overwrite {len(conflicts)} existing file(s): {listed}. "
            "Move them away, or run in a terminal, where Copier asks before each overwrite"
        )
    return kept


def answered_branch(dest: Path) -> str:
    """The ``default_branch`` answer recorded in the new project (CI triggers on it)."""
    try:
        answers = yaml.safe_load((dest / ".copier-answers.yml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        answers = None
    branch = answers.get("default_branch") if isinstance(answers, dict) else None
    return branch if isinstance(branch, str) and branch else DEFAULT_BRANCH


def init_git(dest: Path, branch: str = DEFAULT_BRANCH) -> None:
    """``git init`` unless ``dest`` already lies in a git work tree; never commits."""
    if shutil.which("git") is None:
        click.echo("crisp-ml new: git not found; run `git init` yourself (DVC needs it)", err=True)
        return
    try:
        inside = run_git(dest, "rev-parse", "--is-inside-work-tree", check=False)
        if inside.returncode == 0 and inside.stdout.strip() == "true":
            return
        run_git(dest, "init", "--quiet", f"--initial-branch={branch}")
    except GitError as error:
        click.echo(f"crisp-ml new: {error}; run `git init` yourself", err=True)
        return
    click.echo(
        f"Initialised a git repository in {dest} (nothing committed yet: review the files, "
        "then `git add -A && git commit`).",
        err=True,
    )
