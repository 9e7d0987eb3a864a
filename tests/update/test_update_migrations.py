"""The ``_migrations`` of copier.yml and the script they run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from updatelib import NEW_CRITERIA, OLD_CRITERIA, REPO_ROOT

SCRIPT = REPO_ROOT / "migrations" / "rename_team_file.py"


def migrate(project: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), old, new],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())


def test_copier_yml_moves_the_success_criteria_before_the_v1_1_0_merge():
    migrations = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["_migrations"]

    (step,) = [m for m in migrations if m["version"] == "v1.1.0"]

    assert step["when"] == "{{ _stage == 'before' }}"
    assert step["command"][1] == "{{ _copier_conf.src_path }}/migrations/rename_team_file.py"
    assert step["command"][2:] == [OLD_CRITERIA, NEW_CRITERIA]


def test_the_team_file_moves_with_its_text_and_references_follow(tmp_path):
    criteria = "metric: f1_macro\ntarget: 0.97  # raised by the team\r\n"
    write(tmp_path / OLD_CRITERIA, criteria)
    checklist = f"| 1.2 | Translate | done | {OLD_CRITERIA} | Alice | 2026-03-02 | |\r\n"
    write(tmp_path / "phases/01-business-understanding/CHECKLIST.md", checklist)
    link = "See [the criteria](../01-business-understanding/success_criteria.yml).\n"
    link += "Other phases' success_criteria.yml mentions stay as written.\n"
    write(tmp_path / "phases/05-modelling/quality-measure.md", link)
    same_folder = "Thresholds: [here](success_criteria.yml); success_criteria.yml in prose.\n"
    write(tmp_path / "phases/01-business-understanding/notes.md", same_folder)
    plumbing = f'SUCCESS_CRITERIA_FILE = "{OLD_CRITERIA}"\n'
    write(tmp_path / "src/pkg/config.py", plumbing)

    done = migrate(tmp_path, OLD_CRITERIA, NEW_CRITERIA)

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / OLD_CRITERIA).exists()
    assert (tmp_path / NEW_CRITERIA).read_bytes() == criteria.encode()
    assert (tmp_path / "phases/01-business-understanding/CHECKLIST.md").read_bytes() == (
        checklist.replace(OLD_CRITERIA, NEW_CRITERIA).encode()
    )
    assert (tmp_path / "phases/05-modelling/quality-measure.md").read_text() == (
        "See [the criteria](../01-business-understanding/success-criteria.yaml).\n"
        "Other phases' success_criteria.yml mentions stay as written.\n"
    )
    assert (tmp_path / "phases/01-business-understanding/notes.md").read_text() == (
        "Thresholds: [here](success-criteria.yaml); success-criteria.yaml in prose.\n"
    )
    # Plumbing is the three-way merge's job, not the migration's.
    assert (tmp_path / "src/pkg/config.py").read_text() == plumbing


def test_nothing_happens_when_the_old_file_is_gone(tmp_path):
    write(tmp_path / "phases/01-business-understanding/CHECKLIST.md", OLD_CRITERIA)

    done = migrate(tmp_path, OLD_CRITERIA, NEW_CRITERIA)

    assert done.returncode == 0
    assert not (tmp_path / NEW_CRITERIA).exists()
    assert (tmp_path / "phases/01-business-understanding/CHECKLIST.md").read_text() == (
        OLD_CRITERIA
    )


def test_an_existing_new_file_is_never_overwritten(tmp_path):
    write(tmp_path / OLD_CRITERIA, "old: 1\n")
    write(tmp_path / NEW_CRITERIA, "new: 2\n")

    done = migrate(tmp_path, OLD_CRITERIA, NEW_CRITERIA)

    assert done.returncode == 0
    assert (tmp_path / OLD_CRITERIA).read_text() == "old: 1\n"
    assert (tmp_path / NEW_CRITERIA).read_text() == "new: 2\n"
    assert "merge them by hand" in done.stdout


def test_wrong_arguments_are_a_usage_error():
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "usage:" in done.stderr
