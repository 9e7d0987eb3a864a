"""Answers that would inject keys or break files (issue 9): a control character in any text
answer is refused by `crisp-ml new` (crisp_ml.answers.check_answers) and by a plain
`copier copy` (copier.yml's validators); a name too long for the file system too. Answers
that are hostile but allowed (unicode, apostrophes) still give a pyproject.toml that parses.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import copier
import pytest
from click.testing import CliRunner
from template_rendering import Render

from crisp_ml.new import new

# Every free-text question, with the other answers it needs to be asked.
TEXT_QUESTIONS: dict[str, dict[str, Any]] = {
    "project_name": {},
    "project_slug": {},
    "package_name": {},
    "description": {},
    "author_name": {},
    "author_email": {},
    "dvc_remote_url": {"dvc_remote": "local"},
    "mlflow_tracking_uri": {"mlflow_tracking": "server"},
    "prediction_log_url": {},
    "default_branch": {},
}
GOOD = {
    "project_name": "Churn",
    "project_slug": "churn",
    "package_name": "churn",
    "description": "Churn model.",
    "author_name": "Ana",
    "author_email": "ana@example.com",
    "dvc_remote_url": "../churn-dvc-storage",
    "mlflow_tracking_uri": "http://127.0.0.1:5000",
    "prediction_log_url": "postgresql+psycopg2://ml@db.example.com:5432/log",
    "default_branch": "main",
}
INJECTIONS = ["\n[core]\nremote = evil", "\r", "\x00", "\t", "\x1b[31m", "\u2028x: 1", "\x85"]


def _answers(question: str, value: str) -> dict[str, Any]:
    return {**TEXT_QUESTIONS[question], question: value}


@pytest.mark.parametrize("question", sorted(TEXT_QUESTIONS))
def test_copier_refuses_a_newline_in_every_text_answer(
    template_src: Path, tmp_path: Path, question: str
) -> None:
    dest = tmp_path / "project"
    with pytest.raises(ValueError, match="control character"):
        copier.run_copy(
            str(template_src),
            dest,
            data=_answers(question, GOOD[question] + "\ninjected: true"),
            defaults=True,
            unsafe=False,
            quiet=True,
        )
    assert not dest.exists()


@pytest.mark.parametrize("question", sorted(TEXT_QUESTIONS))
@pytest.mark.parametrize("injection", INJECTIONS, ids=repr)
def test_crisp_ml_new_refuses_a_control_character_in_every_text_answer(
    template_src: Path, tmp_path: Path, question: str, injection: str
) -> None:
    dest = tmp_path / "project"
    data = [f"--data={k}={v}" for k, v in _answers(question, GOOD[question] + injection).items()]
    result = CliRunner().invoke(
        new, [str(dest), "--template", str(template_src), "--defaults", *data]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert f"bad answer for {question}: it contains the control character" in result.output
    assert not dest.exists()


@pytest.mark.parametrize("question", ["project_slug", "package_name"])
def test_a_name_too_long_for_the_file_system_is_refused_by_both(
    template_src: Path, tmp_path: Path, question: str
) -> None:
    value = "a" * 300
    with pytest.raises(ValueError, match="too long"):
        copier.run_copy(
            str(template_src), tmp_path / "p", data={question: value}, defaults=True, quiet=True
        )
    result = CliRunner().invoke(
        new,
        [str(tmp_path / "q"), "--template", str(template_src), "--defaults",
         "--data", f"{question}={value}"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"bad answer for {question}: 300 characters is too long" in result.output


def test_a_project_name_that_makes_a_long_slug_is_refused_by_copier(
    template_src: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="too long"):
        copier.run_copy(
            str(template_src),
            tmp_path / "p",
            data={"project_name": "Churn " * 60},
            defaults=True,
            quiet=True,
        )


def test_a_destination_name_too_long_is_one_line(template_src: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        new, [str(tmp_path / ("d" * 300)), "--template", str(template_src), "--defaults"]
    )
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "cannot use it as the destination" in result.output


@pytest.mark.parametrize(
    "answers",
    [
        {"author_name": "Zoë Ŝmith-O'Brien 山田", "description": "Prédire l'attrition — vite."},
        {"project_name": "Ünïcode 🚀 Project", "author_name": "'single' quotes"},
        {"description": "a ' b '' c ''' d # not a comment [x] {y} = z"},
    ],
    ids=["accents", "emoji", "toml-syntax"],
)
def test_hostile_but_allowed_answers_give_a_pyproject_that_parses(
    render: Render, answers: dict[str, str]
) -> None:
    root = render(answers)
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    if "description" in answers:
        assert project["description"] == answers["description"]
    if "author_name" in answers:
        assert project["authors"][0]["name"] == answers["author_name"]
