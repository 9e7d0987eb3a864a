"""The QA checklist rules, generated once per phase from one definition.

Every phase gets the same rules, numbered ``<prefix>101`` to ``<prefix>109``. Together they
check every workflow step at least through its checklist row: status set, evidence present
and real, sign-off and date recorded, and a reason for ``n/a``. ``<prefix>109`` needs git
history (``--with git-history``): a row must not be signed off by the person who last
changed it, since the checklist asks a second person to review.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from crisp_lint.checklist import HEADER, HEADER_LINE, Checklist, ChecklistRow, split_cells
from crisp_lint.checks._regex import lazy
from crisp_lint.checks._tags import GIT_HISTORY
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import PHASE_TITLES, steps_of

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

CHECKLIST_FILE = "CHECKLIST.md"
# Evidence files that may still carry the template's placeholder marker.
DOCUMENT_SUFFIXES = frozenset(
    {".md", ".markdown", ".rst", ".txt", ".yaml", ".yml", ".toml", ".json", ".py", ".html"}
)
_ISO_DATE = lazy(r"^\d{4}-\d{2}-\d{2}$")
# A sign-off made today east of here may carry tomorrow's date; later than that is a typo.
SIGN_OFF_CLOCK_SKEW_DAYS = 1
_QA_PRINCIPLE = (
    "CRISP-ML: each step must go over a quality assurance procedure so that errors are"
    " caught as early as possible"
)

# A sign-off cell may name several people: "ana, bob", "ana & bob", "ana and bob".
_SIGNERS = lazy(r"\s*(?:[,;&]|\band\b)\s*", re.IGNORECASE)
# GitHub's private commit e-mails: "12345+handle@users.noreply.github.com".
_NOREPLY_ID = lazy(r"^\d+\+")
# A git blame --porcelain header: commit (SHA-1 or SHA-256), original line, final line.
# The cells a reviewer fills in: changing only these is signing off, not doing the work.
_SIGN_OFF = frozenset({HEADER.index("Signed off by"), HEADER.index("Date")})
_BLAME_HEADER = lazy(r"^(?P<commit>[0-9a-f]{40}|[0-9a-f]{64}) \d+ (?P<line>\d+)")

RowCheck = Callable[["RepoView", Checklist, ChecklistRow], Iterator[Problem]]


def checklist_path(phase: Phase) -> str:
    return f"{phase.folder}/{CHECKLIST_FILE}"


def _structure(repo: RepoView, phase: Phase) -> Iterator[Problem]:
    path = checklist_path(phase)
    if not repo.exists(path):
        yield Problem(path, "the phase's QA checklist is missing")
        return
    checklist = repo.checklist(phase)
    if checklist is None:
        return  # unreadable: the repository view reports why
    for line, message in checklist.errors:
        yield Problem(path, message, line)


def _coverage(repo: RepoView, phase: Phase) -> Iterator[Problem]:
    checklist = repo.checklist(phase)
    if checklist is None:
        return
    path = checklist_path(phase)
    expected = {step.id: step for step in steps_of(phase)}
    known = f"{next(iter(expected))}..{list(expected)[-1]}"
    seen: set[str] = set()
    for row in checklist.rows:
        if row.id not in expected:
            yield Problem(path, f"unknown step id {row.id!r}: this phase has {known}", row.line)
        elif row.id in seen:
            yield Problem(path, f"step {row.id} has more than one row: keep one", row.line)
        seen.add(row.id)
    for step_id, step in expected.items():
        if step_id not in seen and step_id not in checklist.malformed_ids:
            yield Problem(path, f"step {step_id} ({step.text}) has no row: add it")


def _open(repo: RepoView, checklist: Checklist, row: ChecklistRow) -> Iterator[Problem]:
    if row.status == "open":
        yield Problem(checklist.path, f"step {row.id} ({row.step}) is still open", row.line)


def _done_without_evidence(
    repo: RepoView, checklist: Checklist, row: ChecklistRow
) -> Iterator[Problem]:
    if row.status == "done" and not row.evidence:
        yield Problem(checklist.path, f"step {row.id} is done but names no evidence", row.line)


def _evidence_missing(repo: RepoView, checklist: Checklist, row: ChecklistRow) -> Iterator[Problem]:
    if row.status != "done":
        return
    for evidence in row.evidence:
        if _outside_repository(evidence):
            yield Problem(
                checklist.path,
                f"step {row.id}: evidence {evidence!r} must be a path inside the repository",
                row.line,
            )
        elif repo.resolves_outside(evidence):
            yield Problem(
                checklist.path,
                f"step {row.id}: evidence {evidence} is a symbolic link to a path outside the"
                " repository, which proves nothing about it",
                row.line,
            )
        elif not (repo.is_dvc_managed(evidence) or repo.exists(evidence)):
            yield Problem(
                checklist.path, f"step {row.id}: evidence {evidence} does not exist", row.line
            )


def _evidence_placeholder(
    repo: RepoView, checklist: Checklist, row: ChecklistRow
) -> Iterator[Problem]:
    if row.status != "done":
        return
    for evidence in row.evidence:
        if _is_document(repo, evidence) and repo.has_placeholder(evidence):
            yield Problem(
                checklist.path,
                f"step {row.id}: evidence {evidence} still contains TODO(crisp) placeholders",
                row.line,
            )


def _sign_off(repo: RepoView, checklist: Checklist, row: ChecklistRow) -> Iterator[Problem]:
    if row.status not in ("done", "n/a"):
        return
    if not row.signed_off_by:
        yield Problem(checklist.path, f"step {row.id} is {row.status} but not signed off", row.line)
    if not row.date:
        yield Problem(checklist.path, f"step {row.id} is {row.status} but has no date", row.line)
    elif not _is_iso_date(row.date):
        yield Problem(
            checklist.path,
            f"step {row.id}: date {row.date!r} is not an ISO date (YYYY-MM-DD)",
            row.line,
        )
    elif _in_the_future(row.date):
        yield Problem(
            checklist.path,
            f"step {row.id}: date {row.date} is in the future; write the day it was signed off",
            row.line,
        )


def _not_applicable_without_reason(
    repo: RepoView, checklist: Checklist, row: ChecklistRow
) -> Iterator[Problem]:
    if row.status == "n/a" and not row.notes:
        yield Problem(checklist.path, f"step {row.id} is n/a without a reason in Notes", row.line)


def _is_document(repo: RepoView, evidence: str) -> bool:
    """Evidence a person writes, so it may hold a placeholder: a text file in git, not a
    folder, not data managed by DVC and not a binary such as a PDF."""
    if _outside_repository(evidence) or repo.is_dvc_managed(evidence):
        return False
    if repo.resolves_outside(evidence):  # never read a file outside the repository
        return False
    suffix = posixpath.splitext(evidence)[1].lower()
    return (not suffix or suffix in DOCUMENT_SUFFIXES) and repo.is_file(evidence)


def _outside_repository(evidence: str) -> bool:
    return evidence.startswith("/") or ".." in evidence.split("/") or "://" in evidence


def _in_the_future(iso_date: str) -> bool:
    from datetime import date, timedelta  # only a signed-off step needs it

    return date.fromisoformat(iso_date) > date.today() + timedelta(SIGN_OFF_CLOCK_SKEW_DAYS)


def _is_iso_date(text: str) -> bool:
    from datetime import date

    if not _ISO_DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


# A NamedTuple rather than a dataclass: see crisp_lint.model (start-up time).
class _Author(NamedTuple):
    """The author of the commit that last changed a line, as git blame names them."""

    commit: str
    name: str
    email: str


def _self_signed(repo: RepoView, phase: Phase) -> Iterator[Problem]:
    checklist = repo.checklist(phase)
    if checklist is None:
        return
    rows = [row for row in checklist.rows if row.status in ("done", "n/a") and row.signed_off_by]
    authors = _line_authors(repo, checklist.path) if rows else {}
    for row in rows:
        last = authors.get(row.line)
        if last is None or not _signed_by(row.signed_off_by, last):
            continue
        author = _work_author(repo, checklist.path, row) or last
        if _signed_by(row.signed_off_by, author):
            yield Problem(
                checklist.path,
                f"step {row.id} is signed off by {row.signed_off_by}, who wrote its row"
                f" (commit {author.commit[:7]} by {author.name}): a second person reviews"
                " and signs off",
                row.line,
            )


def _work_author(repo: RepoView, path: str, row: ChecklistRow) -> _Author | None:
    """The author of the newest commit that changed more of the row than its sign-off and
    date: a reviewer who commits only their own sign-off is the process working.

    One ``git log -L`` of the committed row, found by its id; asked only for rows whose last
    author signed them off, so a project that follows the process pays nothing.
    """
    # -L takes a basic regular expression, in which `|` is literal.
    pattern = "^|[[:space:]]*" + re.sub(r"([][.*^$\\/])", r"\\\1", row.id) + "[[:space:]]*|"
    out = repo.git("log", f"-L/{pattern}/,+1:{path}", "--format=%x00%H%x09%an%x09%ae")
    for record in (out or "").split("\0")[1:]:
        head, _, diff = record.partition("\n")
        commit, _, who = head.partition("\t")
        name, _, email = who.partition("\t")
        lines = diff.splitlines()
        before = [line[1:] for line in lines if line.startswith("-|")]
        after = [line[1:] for line in lines if line.startswith("+|")]
        if not (before and after and _same_work(before[0], after[0])):
            return _Author(commit, name, email)
    return None


def _same_work(before: str, after: str) -> bool:
    """Whether two versions of a row differ at most in `Signed off by` and `Date`."""
    old, new = split_cells(before), split_cells(after)
    if old is None or new is None or len(old) != len(HEADER) or len(new) != len(HEADER):
        return False
    return all(
        a == b for index, (a, b) in enumerate(zip(old, new, strict=True)) if index not in _SIGN_OFF
    )


def _line_authors(repo: RepoView, path: str) -> dict[int, _Author]:
    """Each committed line's last author, from one ``git blame`` of the whole file.

    Lines changed in the work tree are left out: nobody has committed them yet. So is a
    file git does not track, or a repository without a commit, where blame would fail.
    """
    if not repo.git_listed or not repo.is_tracked_by_git(path):
        return {}
    if not repo.git("rev-list", "-n", "1", "--all"):
        return {}  # no commit yet (or git failed, which GEN001 reports)
    out = repo.git("blame", "--porcelain", "--", path)
    return _parse_blame(out) if out else {}


def _parse_blame(porcelain: str) -> dict[int, _Author]:
    """``git blame --porcelain``: a header per line, the commit's details the first time it
    appears, then the line's content after a tab."""
    details: dict[str, dict[str, str]] = {}
    line_commits: dict[int, str] = {}
    commit = ""
    for line in porcelain.split("\n"):
        if line.startswith("\t"):
            continue  # the line's content
        if header := _BLAME_HEADER.match(line):
            commit = header["commit"]
            line_commits[int(header["line"])] = commit
            details.setdefault(commit, {})
        elif commit:
            key, _, value = line.partition(" ")
            if key in ("author", "author-mail"):
                details[commit][key] = value.strip().removeprefix("<").removesuffix(">")
    return {
        number: _Author(
            commit, details[commit].get("author", ""), details[commit].get("author-mail", "")
        )
        for number, commit in line_commits.items()
        if commit.strip("0")  # all zeros: changed in the work tree, not committed
    }


def _signed_by(signed_off_by: str, author: _Author) -> bool:
    """Whether every person the cell names is the author: a name, an e-mail or a @handle,
    matched without case against the author's name, e-mail and e-mail local part."""
    known = _author_identities(author)
    signers = [_normalise(part) for part in _SIGNERS.split(signed_off_by)]
    signers = [signer for signer in signers if signer]
    return bool(signers) and all(_signer_identities(signer) & known for signer in signers)


def _author_identities(author: _Author) -> set[str]:
    email = author.email.casefold()
    local = email.partition("@")[0]
    return {_normalise(author.name), email, local, _NOREPLY_ID.sub("", local)} - {""}


def _signer_identities(signer: str) -> set[str]:
    signer = signer.removeprefix("@")
    return {signer, signer.partition("@")[0]} if "@" in signer else {signer}


def _normalise(text: str) -> str:
    """Case and spacing aside; without Markdown emphasis or a note in parentheses."""
    text = re.sub(r"\([^)]*\)", " ", text).strip().strip("`*").strip()
    return " ".join(text.casefold().split())


# A NamedTuple rather than a dataclass: see crisp_lint.model (start-up time).
class _RowRule(NamedTuple):
    number: int
    title: str
    why: str
    fix: str
    check: RowCheck


_ROW_RULES: tuple[_RowRule, ...] = (
    _RowRule(
        103,
        "checklist item is open",
        "an open item is work the phase has not finished",
        "do the step, then set Status to done with evidence, or to n/a with a reason",
        _open,
    ),
    _RowRule(
        104,
        "done item without evidence",
        "a done item must point at the artefact that proves it",
        "put the path of the artefact in the Evidence cell",
        _done_without_evidence,
    ),
    _RowRule(
        105,
        "evidence path does not exist",
        "evidence that is not in the repository proves nothing",
        "fix the path, or commit (or `dvc add`) the artefact",
        _evidence_missing,
    ),
    _RowRule(
        106,
        "evidence is still a template placeholder",
        "a document still carrying TODO(crisp) has not been written yet",
        "replace every TODO(crisp) marker in the evidence file with the team's content",
        _evidence_placeholder,
    ),
    _RowRule(
        107,
        "done or n/a item without sign-off or a valid date",
        "a QA item is only passed when a named person signed it off on a date",
        "fill in `Signed off by` (name or handle) and `Date` (YYYY-MM-DD)",
        _sign_off,
    ),
    _RowRule(
        108,
        "n/a item without a reason",
        "skipping a step is a decision that must be explained",
        "write in Notes why the step does not apply",
        _not_applicable_without_reason,
    ),
)


def register_checklist_rules(phase: Phase) -> None:
    """Register ``<prefix>101``..``<prefix>109`` for ``phase``."""
    title = PHASE_TITLES[phase]
    steps = ", ".join(step.id for step in steps_of(phase))
    cited = f"{_QA_PRINCIPLE}; this checklist covers steps {steps} of {title}"
    path = checklist_path(phase)

    rule(
        f"{phase.prefix}101",
        phase,
        f"{title} checklist is missing or malformed",
        rationale=f"{cited}. Its table must parse exactly to be checked at all.",
        fix=f"restore {path} with the table header `{HEADER_LINE}` and fix the reported line",
    )(lambda repo: _structure(repo, phase))
    rule(
        f"{phase.prefix}102",
        phase,
        f"{title} checklist does not list every step exactly once",
        rationale=f"{cited}. A step without a row escapes QA.",
        fix="give every step of the phase exactly one row, with the ids of CRISP-ML-WORKFLOW.md",
    )(lambda repo: _coverage(repo, phase))
    rule(
        f"{phase.prefix}109",
        phase,
        f"{title}: item signed off by the person who wrote it",
        rationale=f"{cited}; the checklist asks a second person to review, so the author of"
        " a row's last change cannot be the one who signs it off.",
        fix="have a second person review the row and put their own name in `Signed off by`;"
        " they may commit that sign-off themselves",
        needs=GIT_HISTORY,
    )(lambda repo: _self_signed(repo, phase))
    for row_rule in _ROW_RULES:
        rule(
            f"{phase.prefix}{row_rule.number}",
            phase,
            f"{title}: {row_rule.title}",
            rationale=f"{cited}; {row_rule.why}.",
            fix=row_rule.fix,
        )(_row_check(phase, row_rule.check))


def _row_check(phase: Phase, check: RowCheck) -> Callable[[RepoView], Iterator[Problem]]:
    def run(repo: RepoView) -> Iterator[Problem]:
        checklist = repo.checklist(phase)
        if checklist is None:
            return
        for row in checklist.rows:
            yield from check(repo, checklist, row)

    return run
