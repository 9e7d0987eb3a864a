"""The QA checklist rules <prefix>101-109, the same for every phase."""

from __future__ import annotations

import datetime
import shutil

import pytest
from rule_fixture import SIGNED, Project

from crisp_lint.model import LIFECYCLE, REGISTRY, Phase
from crisp_lint.repo import RepoView
from crisp_lint.workflow import steps_of

PHASES = pytest.mark.parametrize("phase", LIFECYCLE, ids=[p.prefix for p in LIFECYCLE])


def first_step(phase: Phase) -> str:
    return steps_of(phase)[0].id


def path(phase: Phase) -> str:
    return f"{phase.folder}/CHECKLIST.md"


@PHASES
def test_every_phase_has_the_eight_checklist_rules(phase: Phase) -> None:
    for number in range(101, 109):
        rule = REGISTRY[f"{phase.prefix}{number}"]
        assert rule.phase is phase
        assert all(f"{step.id}" in rule.rationale for step in steps_of(phase))


@PHASES
def test_a_missing_checklist_is_reported(project: Project, phase: Phase) -> None:
    project.remove(path(phase))
    assert project.messages(f"{phase.prefix}101") == ["the phase's QA checklist is missing"]


@PHASES
def test_a_malformed_row_is_reported_with_its_line(project: Project, phase: Phase) -> None:
    project.set_checklist_row(phase, f"| {first_step(phase)} | Step | done |")
    (problem,) = project.problems(f"{phase.prefix}101")
    assert problem.path == path(phase)
    assert problem.line == 5
    assert "row has 3 cells, expected 7" in problem.message


@PHASES
def test_a_step_without_a_row_is_reported(project: Project, phase: Phase) -> None:
    step = steps_of(phase)[-1]
    text = (project.root / path(phase)).read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if not line.startswith(f"| {step.id} |")]
    project.write(path(phase), "\n".join(kept) + "\n")
    assert project.messages(f"{phase.prefix}102") == [
        f"step {step.id} ({step.text}) has no row: add it"
    ]


@pytest.mark.parametrize(
    "row",
    [
        "| 1.5 | Agree on the POC | done | x | ana | 2026-11-02 |",
        "| 1.5 | Agree on the POC | done | x | ana | 2026-11-02 | no closing pipe",
    ],
    ids=["a cell short", "no closing pipe"],
)
def test_a_malformed_row_still_counts_as_its_steps_row(project: Project, row: str) -> None:
    """BU101 reports the row's shape; BU102 does not also claim that the step has no row."""
    project.set_checklist_row(Phase.BUSINESS_UNDERSTANDING, row)
    assert [p.line for p in project.problems("BU101")] == [9]
    assert project.problems("BU102") == []


def test_a_duplicate_and_an_unknown_step_id_are_reported_with_their_lines(
    project: Project,
) -> None:
    phase = Phase.BUSINESS_UNDERSTANDING
    with (project.root / path(phase)).open("a", encoding="utf-8") as file:
        file.write("| 1.1 | Again | open | | | | |\n| 1.9 | Invented | open | | | | |\n")
    problems = project.problems("BU102")
    assert [(p.line, p.message) for p in problems] == [
        (10, "step 1.1 has more than one row: keep one"),
        (11, "unknown step id '1.9': this phase has 1.1..1.5"),
    ]


@PHASES
def test_an_open_item_is_reported(project: Project, phase: Phase) -> None:
    step = first_step(phase)
    project.set_checklist_row(phase, f"| {step} | The step | open | a.md | | | |")
    (problem,) = project.problems(f"{phase.prefix}103")
    assert (problem.path, problem.line) == (path(phase), 5)
    assert problem.message == f"step {step} (The step) is still open"


@PHASES
def test_a_done_item_without_evidence_is_reported(project: Project, phase: Phase) -> None:
    step = first_step(phase)
    project.set_checklist_row(phase, f"| {step} | The step | done | | {SIGNED} | |")
    assert project.messages(f"{phase.prefix}104") == [f"step {step} is done but names no evidence"]


@PHASES
def test_done_evidence_that_does_not_exist_is_reported(project: Project, phase: Phase) -> None:
    step = first_step(phase)
    project.set_checklist_row(phase, f"| {step} | The step | done | `gone.md` | {SIGNED} | |")
    assert project.messages(f"{phase.prefix}105") == [
        f"step {step}: evidence gone.md does not exist"
    ]


def test_evidence_outside_the_repository_is_reported(project: Project) -> None:
    project.set_checklist_row(
        Phase.MODELLING, f"| 5.1 | Step | done | ../elsewhere.md, /etc/hosts | {SIGNED} | |"
    )
    assert project.messages("MO105") == [
        "step 5.1: evidence '../elsewhere.md' must be a path inside the repository",
        "step 5.1: evidence '/etc/hosts' must be a path inside the repository",
    ]


def test_evidence_that_is_a_dvc_output_not_pulled_yet_counts_as_present(
    project: Project,
) -> None:
    project.set_checklist_row(
        Phase.DATA_PREPARATION, f"| 4.9 | Split | done | data/split/indices.json | {SIGNED} | |"
    )
    assert not (project.root / "data/split/indices.json").exists()
    assert project.problems("DP105") == []


@PHASES
def test_done_evidence_that_is_still_a_placeholder_is_reported(
    project: Project, phase: Phase
) -> None:
    step = first_step(phase)
    project.write("draft.md", "# Draft\n\nTODO(crisp): write this.\n")
    project.set_checklist_row(phase, f"| {step} | The step | done | draft.md | {SIGNED} | |")
    assert project.messages(f"{phase.prefix}106") == [
        f"step {step}: evidence draft.md still contains TODO(crisp) placeholders"
    ]


@PHASES
def test_a_done_item_without_sign_off_and_date_is_reported(project: Project, phase: Phase) -> None:
    step = first_step(phase)
    project.set_checklist_row(phase, f"| {step} | The step | done | draft.md | | | |")
    assert project.messages(f"{phase.prefix}107") == [
        f"step {step} is done but not signed off",
        f"step {step} is done but has no date",
    ]


def test_a_date_in_the_future_is_reported(project: Project) -> None:
    project.set_checklist_row(Phase.EVALUATION, "| 6.1 | Step | done | x.md | ana | 2926-11-02 | |")
    assert project.messages("EV107") == [
        "step 6.1: date 2926-11-02 is in the future; write the day it was signed off"
    ]


def test_a_date_of_tomorrow_passes_for_teams_east_of_ci(project: Project) -> None:
    tomorrow = (datetime.date.today() + datetime.timedelta(days=1)).isoformat()
    project.set_checklist_row(Phase.EVALUATION, f"| 6.1 | Step | n/a | | ana | {tomorrow} | why |")
    assert project.problems("EV107") == []


@pytest.mark.parametrize("date", ["02.11.2026", "2026-13-01", "2026-11-2", "yesterday"])
def test_a_date_that_is_not_an_iso_date_is_reported(project: Project, date: str) -> None:
    project.set_checklist_row(Phase.EVALUATION, f"| 6.1 | Step | n/a | | ana | {date} | why |")
    assert project.messages("EV107") == [f"step 6.1: date {date!r} is not an ISO date (YYYY-MM-DD)"]


@PHASES
def test_not_applicable_without_a_reason_is_reported(project: Project, phase: Phase) -> None:
    step = first_step(phase)
    project.set_checklist_row(phase, f"| {step} | The step | n/a | | {SIGNED} | |")
    assert project.messages(f"{phase.prefix}108") == [
        f"step {step} is n/a without a reason in Notes"
    ]


def test_not_applicable_with_a_reason_and_sign_off_passes(project: Project) -> None:
    project.set_checklist_row(
        Phase.MODELLING, f"| 5.6 | Transfer learning | n/a | | {SIGNED} | no pre-trained model |"
    )
    for number in range(101, 109):
        assert project.problems(f"MO{number}") == []


def test_folders_data_and_binary_evidence_are_not_read_for_placeholders(
    project: Project,
) -> None:
    project.write_bytes("docs/sign-off.pdf", b"%PDF-1.7\0binary")
    project.write("data/raw/features.csv", "TODO(crisp)\n")
    project.set_checklist_row(
        Phase.DATA_UNDERSTANDING,
        f"| 3.5 | Push | done | data/raw, data/raw/features.csv, docs/sign-off.pdf | {SIGNED} | |",
    )
    view = RepoView(project.root)
    assert list(REGISTRY["DU106"].check(view)) == []
    assert view.problems("GEN001") == []  # nothing was opened as text


# <prefix>109: a second person signs off (needs --with git-history).
ANA = ("Ana Lopez", "ana@example.com")
BOB = ("Bob", "bob@example.com")


def commit_row(project: Project, phase: Phase, cells: str, author: tuple[str, str]) -> None:
    """Set the first step's row to ``| <id> | Step | <cells> |`` and commit it as ``author``."""
    project.set_checklist_row(phase, f"| {first_step(phase)} | Step | {cells} |")
    project.git("commit", "-q", "-am", "checklist", author=author)


def self_signed(project: Project, phase: Phase) -> list[int | None]:
    return [problem.line for problem in project.problems(f"{phase.prefix}109")]


@PHASES
def test_rows_signed_off_by_someone_other_than_their_author_pass(
    project: Project, phase: Phase
) -> None:
    """The fixture's rows are committed by the test identity and signed off by ana."""
    assert REGISTRY[f"{phase.prefix}109"].needs == "git-history"
    assert project.problems(f"{phase.prefix}109") == []


@PHASES
def test_a_row_signed_off_by_its_own_author_is_reported(project: Project, phase: Phase) -> None:
    commit_row(project, phase, f"done | {path(phase)} | Ana Lopez | 2026-11-02 |", ANA)
    (problem,) = project.problems(f"{phase.prefix}109")
    assert problem.path == path(phase)
    assert problem.line == 5
    assert problem.message.startswith(
        f"step {first_step(phase)} is signed off by Ana Lopez, who wrote its row (commit "
    )
    assert problem.message.endswith("by Ana Lopez): a second person reviews and signs off")


@pytest.mark.parametrize(
    ("sign_off", "email"),
    [
        ("ana@example.com", "ana@example.com"),
        ("ANA@corp.example", "ana@example.com"),
        ("@ana", "ana@example.com"),
        ("@ana", "12345+ana@users.noreply.github.com"),
        ("ana lopez (QA lead)", "ana@example.com"),
        ("`Ana  Lopez`", "ana@example.com"),
    ],
)
def test_a_sign_off_matches_the_author_by_name_email_or_handle(
    project: Project, sign_off: str, email: str
) -> None:
    phase = Phase.BUSINESS_UNDERSTANDING
    commit_row(project, phase, f"n/a | | {sign_off} | 2026-11-02 | no data", ("Ana Lopez", email))
    assert self_signed(project, phase) == [5]


def test_a_second_signer_besides_the_author_passes(project: Project) -> None:
    phase = Phase.BUSINESS_UNDERSTANDING
    commit_row(project, phase, f"done | {path(phase)} | Ana Lopez, Bob | 2026-11-02 |", ANA)
    assert self_signed(project, phase) == []


def test_a_reviewer_who_commits_only_their_sign_off_passes(project: Project) -> None:
    phase = Phase.MODELLING
    commit_row(project, phase, f"done | {path(phase)} | | |", ANA)
    commit_row(project, phase, f"done | {path(phase)} | bob | 2026-11-03 |", BOB)
    assert self_signed(project, phase) == []


def test_an_author_who_signs_off_their_own_work_later_is_reported(project: Project) -> None:
    phase = Phase.MODELLING
    commit_row(project, phase, f"done | {path(phase)} | | |", ANA)
    commit_row(project, phase, f"done | {path(phase)} | | 2026-11-03 |", BOB)
    commit_row(project, phase, f"done | {path(phase)} | ana | 2026-11-03 |", ANA)
    (message,) = project.messages(f"{phase.prefix}109")
    assert "who wrote its row" in message and "by Ana Lopez)" in message


def test_open_rows_and_uncommitted_changes_are_not_judged(project: Project) -> None:
    phase = Phase.BUSINESS_UNDERSTANDING
    commit_row(project, phase, f"open | {path(phase)} | Ana Lopez | 2026-11-02 |", ANA)
    assert self_signed(project, phase) == []
    project.set_checklist_row(
        phase, f"| {first_step(phase)} | Step | done | x | ana | 2026-11-02 |"
    )
    assert self_signed(project, phase) == []  # nobody has committed this version yet


def test_a_checklist_git_does_not_track_or_without_commits_is_not_judged(
    project: Project,
) -> None:
    phase = Phase.BUSINESS_UNDERSTANDING
    project.set_checklist_row(
        phase, f"| {first_step(phase)} | Step | done | x | crisp-lint tests | 2026-11-02 | |"
    )
    project.git("rm", "-q", "--cached", path(phase))
    view = RepoView(project.root)
    assert list(REGISTRY["BU109"].check(view)) == []
    shutil.rmtree(project.root / ".git")
    project.git("init", "-q", "--template=")
    project.git("add", path(phase))
    view = RepoView(project.root)
    assert list(REGISTRY["BU109"].check(view)) == []
    assert view.problems("GEN001") == []
