"""`crisp-ml new` into a folder that already has files: refuse early or undo exactly.

A run that cannot finish leaves the destination as it was, byte for byte: it removes only
what it wrote. And a refusal names an option `crisp-ml new` really has.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from crisp_ml import new as new_module
from crisp_ml.new import new

USERS_PHASES = b"phases: our own notes, not a folder\n"
USERS_NOTES = b"# notes\nkeep me\n"


def run_new(args: list[str]) -> Result:
    return CliRunner().invoke(new, args, catch_exceptions=False)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder``: file bytes, or None for a folder."""
    found: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            found[os.path.relpath(os.path.join(root, name), folder)] = None
        for name in files:
            found[os.path.relpath(os.path.join(root, name), folder)] = Path(root, name).read_bytes()
    return found


def users_folder(tmp_path: Path) -> Path:
    dest = tmp_path / "project"
    (dest / "docs").mkdir(parents=True)
    (dest / "phases").write_bytes(USERS_PHASES)  # a file where the template puts a folder
    (dest / "docs" / "notes.md").write_bytes(USERS_NOTES)
    return dest


def test_a_file_where_the_template_puts_a_folder_is_refused_before_writing(
    template_src: Path, tmp_path: Path
) -> None:
    dest = users_folder(tmp_path)
    before = snapshot(dest)

    result = run_new([str(dest), "--template", str(template_src), "--defaults", "--quiet"])

    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "phases" in result.output and "Move it away" in result.output
    assert snapshot(dest) == before


def test_a_run_that_fails_half_way_removes_only_what_it_wrote(
    template_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the early check (as if Copier met the file by surprise), the undo still works."""
    monkeypatch.setattr(new_module, "refuse_overwrites", lambda *args, **kwargs: [])
    dest = users_folder(tmp_path)
    before = snapshot(dest)

    result = run_new([str(dest), "--template", str(template_src), "--defaults", "--quiet"])

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert snapshot(dest) == before


def tasks_template(tmp_path: Path) -> Path:
    template = tmp_path / "tasks-template"
    (template / "template").mkdir(parents=True)
    (template / "copier.yml").write_text(
        '_subdirectory: template\n_tasks:\n  - "echo ran > tasks-ran.txt"\n'
        "name:\n  type: str\n  default: demo\n"
    )
    (template / "template" / "hello.txt").write_text("hello\n")
    return template


def test_a_template_with_tasks_names_an_option_new_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRISP_ML_TEMPLATE", raising=False)
    template = tasks_template(tmp_path)
    dest = tmp_path / "project"

    refused = run_new([str(dest), "--template", str(template), "--defaults", "--no-git"])

    assert refused.exit_code == 2
    assert "Traceback" not in refused.output
    assert "crisp-ml new with --trust" in refused.output
    assert "copier copy" not in refused.output
    assert not dest.exists()
    assert "--trust" in run_new(["--help"]).output

    trusted = run_new(
        [str(dest), "--template", str(template), "--defaults", "--no-git", "--quiet", "--trust"]
    )
    assert trusted.exit_code == 0, trusted.output
    assert (dest / "tasks-ran.txt").read_text().strip() == "ran"
