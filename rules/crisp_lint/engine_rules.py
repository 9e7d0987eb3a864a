"""The engine's own general rules: input that could not be read, rules that crashed,
ignores without a reason, a spent time budget, and a repository with no CRISP-ML layer.
GEN001-GEN009 are reserved for this module.

GEN001-GEN003 report what the run recorded while the other rules read the repository, so
the engine runs them last (``COLLECTORS``).
"""

from __future__ import annotations

from collections.abc import Iterator

from crisp_lint.model import Phase, Problem, Severity, rule
from crisp_lint.repo import MALFORMED, UNREADABLE, RepoView

INTERNAL_ERROR = "GEN003"
IGNORE_WITHOUT_REASON = "GEN004"
OUT_OF_TIME = "GEN005"
NOT_ADOPTED = "GEN006"
COLLECTORS = (UNREADABLE, MALFORMED, INTERNAL_ERROR)


@rule(
    UNREADABLE,
    Phase.GENERAL,
    "A file crisp-lint needs cannot be read as text",
    rationale=(
        "Every QA item is judged from files in the repository; a file that is binary, not "
        "UTF-8, larger than 5 MB, a broken symbolic link or unreadable cannot be judged, nor "
        "can what git tracks when git refuses the repository, so the items that depend on "
        "them would silently pass."
    ),
    fix=(
        "Save the file as UTF-8 text, fix or remove the broken link, or give the file read "
        "permission. Large data belongs in DVC, not in files crisp-lint reads. When git "
        "cannot read the repository, `git status` there says why."
    ),
)
def unreadable_input(repo: RepoView) -> Iterator[Problem]:
    yield from repo.problems(UNREADABLE)


@rule(
    MALFORMED,
    Phase.GENERAL,
    "A YAML, TOML or JSON file does not parse",
    rationale=(
        "Pipeline definitions, parameters, success criteria and reports are machine-read by "
        "DVC, the pipeline and crisp-lint; a file that does not parse breaks all of them."
    ),
    fix="Correct the syntax at the reported line (a YAML or TOML linter in your editor helps).",
)
def malformed_input(repo: RepoView) -> Iterator[Problem]:
    yield from repo.problems(MALFORMED)


@rule(
    INTERNAL_ERROR,
    Phase.GENERAL,
    "A rule failed with an internal error",
    rationale=(
        "A crashing rule must not hide the findings of all the others, nor pass silently: "
        "the run goes on and the failure is reported."
    ),
    fix=(
        "This is a bug in crisp-lint (or in a file it did not expect); please report it with "
        "the message. Meanwhile `--ignore` the failing rule."
    ),
)
def internal_errors(repo: RepoView) -> Iterator[Problem]:
    yield from repo.problems(INTERNAL_ERROR)


@rule(
    IGNORE_WITHOUT_REASON,
    Phase.GENERAL,
    "A rule is ignored without a reason",
    rationale=(
        "An ignored QA item is a decision the team takes; without the reason next to it, the "
        "next reviewer cannot tell a deliberate exception from a shortcut."
    ),
    fix=('Write the ignore as `{ code = "XX123", reason = "why" }` in [tool.crisp-lint] ignore.'),
    severity=Severity.WARNING,
)
def ignore_without_reason(repo: RepoView) -> Iterator[Problem]:
    source = repo.config.source
    for ignore in repo.config.ignore:
        if ignore.reason is None and source is not None:
            yield Problem(
                source,
                f"`{ignore.selector}` is ignored without a reason",
                repo.config.line_of(f'"{ignore.selector}"')
                or repo.config.line_of(f"'{ignore.selector}'"),
            )


@rule(
    OUT_OF_TIME,
    Phase.GENERAL,
    "The time budget ran out before every rule ran",
    rationale=(
        "crisp-lint runs on every commit and must never hold pre-commit for long: after "
        "`time-budget` seconds (10 by default) the rules not yet run are skipped, and this "
        "finding names them so that a cut-short run is never mistaken for a complete one."
    ),
    fix=(
        "Find what is slow (`crisp-lint --select CODE`, often a huge file or folder that "
        "belongs in DVC), or raise `time-budget` in [tool.crisp-lint]; CI can pass "
        "`--time-budget 0` for no limit."
    ),
    severity=Severity.WARNING,
)
def out_of_time(repo: RepoView) -> Iterator[Problem]:
    """The engine itself reports a spent budget (crisp_lint.engine); nothing to collect."""
    return iter(())


@rule(
    NOT_ADOPTED,
    Phase.GENERAL,
    "Not a CRISP-ML project: the repository has no CRISP-ML layer",
    rationale=(
        "The phase rules judge a CRISP-ML layer: the phase folders with their checklists, the"
        " success criteria of phase 1 and the current phase. A repository with none of them"
        " (no phases/NN-<phase>/CHECKLIST.md, no phases/01-business-understanding/"
        "success-criteria.yaml and no `phase` in [tool.crisp-lint]) has not adopted CRISP-ML"
        " yet: listing every file of the layer as missing would bury the one thing to do. The"
        " phase rules are then skipped and this single finding says how to adopt it; the"
        " general rules (secrets, data in git) still run."
    ),
    fix=(
        "Run `crisp-ml adopt` to add the CRISP-ML layer (phase folders, checklists, success"
        " criteria, [tool.crisp-lint]) without touching your files."
    ),
)
def not_adopted(repo: RepoView) -> Iterator[Problem]:
    """The engine reports it when it skips the phase rules (crisp_lint.engine)."""
    return iter(())
