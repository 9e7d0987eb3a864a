"""Bad answers are refused before anything is written, with a message that names the fix.

Each bad answer is tried twice: through Copier's API (the validators in copier.yml) and
through `crisp-ml new` (one clean line, exit code 2, never a traceback).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from click.testing import CliRunner, Result
from template_rendering import REPO_ROOT

from crisp_ml.answers import AnswerError, explain_copier_error, parse_data_pairs
from crisp_ml.new import new

GIT_TIMEOUT_SECONDS = 30

# (case, answers, question named in the error, words of the fix)
BAD_ANSWERS: list[tuple[str, dict[str, Any], str, str]] = [
    ("slug-with-capitals", {"project_slug": "My_Project"}, "project_slug", "lowercase letters"),
    ("slug-trailing-dash", {"project_slug": "churn-"}, "project_slug", "single dashes"),
    ("package-not-identifier", {"package_name": "9lives"}, "package_name", "starting with a"),
    ("package-is-keyword", {"package_name": "import"}, "package_name", "Python keyword"),
    ("package-shadows-stdlib", {"package_name": "test"}, "package_name", "would shadow"),
    ("package-shadows-dependency", {"package_name": "sklearn"}, "package_name", "would shadow"),
    # The experiment name is the registered model's too: MLflow refuses "/" and ":" there.
    (
        "experiment-with-slash",
        {"mlflow_experiment": "team/churn"},
        "mlflow_experiment",
        "start with a letter",
    ),
    (
        "experiment-with-colon",
        {"mlflow_experiment": "churn:v2"},
        "mlflow_experiment",
        "start with a letter",
    ),
    (
        "experiment-yaml-boolean",
        {"mlflow_experiment": "Yes"},
        "mlflow_experiment",
        "start with a letter",
    ),
    ("experiment-too-long", {"mlflow_experiment": "e" * 101}, "mlflow_experiment", "too long"),
    ("target-above-one", {"metric_target": 1.5}, "metric_target", "between 0 and 1"),
    (
        "negative-rmse-target",
        {"ml_task": "regression", "metric": "rmse", "metric_target": -1.0},
        "metric_target",
        "cannot be negative",
    ),
    (
        "r2-target-above-one",
        {"ml_task": "regression", "metric": "r2", "metric_target": 1.2},
        "metric_target",
        "at most 1",
    ),
    ("minimum-out-of-range", {"metric_minimum": -0.1}, "metric_minimum", "between 0 and 1"),
    (
        "minimum-better-than-target-maximize",
        {"metric_target": 0.8, "metric_minimum": 0.9},
        "metric_minimum",
        "at or below the target",
    ),
    (
        "minimum-better-than-target-minimize",
        {"ml_task": "regression", "metric": "rmse", "metric_target": 50.0, "metric_minimum": 40.0},
        "metric_minimum",
        "at or above the target",
    ),
    (
        "metric-of-the-other-task",
        {"ml_task": "regression", "metric": "f1_macro"},
        "metric",
        "for regression pick rmse, mae or r2",
    ),
    (
        "metric-without-its-task",
        {"metric": "rmse"},
        "metric",
        "or answer ml_task=regression",
    ),
    ("direction-against-metric", {"metric_direction": "minimize"}, "metric_direction", "maximize"),
    (
        "remote-url-wrong-scheme",
        {"dvc_remote": "s3", "dvc_remote_url": "gs://bucket/data"},
        "dvc_remote_url",
        "starts with s3://",
    ),
    (
        "local-remote-given-a-url",
        {"dvc_remote": "local", "dvc_remote_url": "s3://bucket/data"},
        "dvc_remote_url",
        "folder path",
    ),
    (
        "remote-url-with-password",
        {"dvc_remote": "ssh", "dvc_remote_url": "ssh://me:secret@host/srv/dvc"},
        "dvc_remote_url",
        "config.local",
    ),
    (
        "tracking-uri-with-password",
        {
            "mlflow_tracking": "server",
            "mlflow_tracking_uri": "https://me:secret@mlflow.example.com",
        },
        "mlflow_tracking_uri",
        "MLFLOW_TRACKING_PASSWORD",
    ),
    (
        "remote-url-password-with-slash",
        {"dvc_remote": "s3", "dvc_remote_url": "s3://KEYID:xxxx/cd+ef@bucket/data"},
        "dvc_remote_url",
        "config.local",
    ),
    (
        "tracking-uri-password-with-slash",
        {
            "mlflow_tracking": "server",
            "mlflow_tracking_uri": "https://me:xxxx/cd@mlflow.example.com",
        },
        "mlflow_tracking_uri",
        "MLFLOW_TRACKING_PASSWORD",
    ),
    (
        "tracking-uri-not-http",
        {"mlflow_tracking": "server", "mlflow_tracking_uri": "file:///tmp/mlruns"},
        "mlflow_tracking_uri",
        "http://host:port",
    ),
    (
        "prediction-log-url-with-password",
        {"prediction_log_url": "postgresql+psycopg2://ml:secret@db.example.com:5432/log"},
        "prediction_log_url",
        "CRISP_PREDICTION_LOG_URL",
    ),
    (
        "prediction-log-url-not-a-url",
        {"prediction_log_url": "db.example.com/log"},
        "prediction_log_url",
        "is not a SQLAlchemy URL",
    ),
    ("bad-email", {"author_email": "not-an-email"}, "author_email", "name@example.com"),
    ("unknown-license", {"license": "GPL-3.0"}, "license", "is not in ['MIT'"),
    ("branch-with-space", {"default_branch": "my branch"}, "default_branch", "for example"),
    ("branch-double-dot", {"default_branch": "release..1"}, "default_branch", "usable branch"),
]
CASE_IDS = [case for case, *_ in BAD_ANSWERS]


def as_data_options(answers: dict[str, Any]) -> list[str]:
    options = []
    for name, value in answers.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        options += ["--data", f"{name}={text}"]
    return options


def run_new(args: list[str]) -> Result:
    return CliRunner().invoke(new, args, catch_exceptions=False)


def single_error_line(result: Result) -> str:
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("crisp-ml new: ")
    return lines[0]


@pytest.mark.parametrize(("case", "answers", "question", "fix"), BAD_ANSWERS, ids=CASE_IDS)
def test_copier_rejects_bad_answer_before_writing(
    template_src: Path, tmp_path: Path, case: str, answers: dict, question: str, fix: str
) -> None:
    dest = tmp_path / "project"
    with pytest.raises(ValueError) as raised:
        copier.run_copy(
            str(template_src), dest, data=answers, defaults=True, unsafe=False, quiet=True
        )
    message = " ".join(str(raised.value).split())
    assert f"'{question}'" in message
    assert fix in message
    assert not dest.exists()


@pytest.mark.parametrize(("case", "answers", "question", "fix"), BAD_ANSWERS, ids=CASE_IDS)
def test_crisp_ml_new_reports_bad_answer_in_one_line(
    template_src: Path, tmp_path: Path, case: str, answers: dict, question: str, fix: str
) -> None:
    dest = tmp_path / "project"
    result = run_new(
        [str(dest), "--template", str(template_src), "--defaults", *as_data_options(answers)]
    )
    assert result.exit_code == 2
    line = single_error_line(result)
    assert line.startswith(f"crisp-ml new: bad answer for {question}: ")
    assert fix in line
    assert not dest.exists()


def test_unknown_question_is_named_with_the_valid_ones(template_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "project"
    result = run_new(
        [str(dest), "--template", str(template_src), "--defaults", "--data", "metirc=rmse"]
    )
    assert result.exit_code == 2
    line = single_error_line(result)
    assert "metirc: not a question of this template" in line
    assert "metric_target" in line
    assert not dest.exists()


def test_text_for_a_number_is_refused(template_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "project"
    result = run_new(
        [str(dest), "--template", str(template_src), "--defaults", "--data", "metric_target=high"]
    )
    assert result.exit_code == 2
    assert "metric_target: 'high' is not a number" in single_error_line(result)
    assert not dest.exists()


def test_a_yes_or_no_question_refuses_other_words(template_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "project"
    options = ["--template", str(template_src), "--defaults", "--data", "include_example=maybe"]
    result = run_new([str(dest), *options])
    assert result.exit_code == 2
    assert "include_example: 'maybe' is not a yes or no" in single_error_line(result)
    assert not dest.exists()


def test_malformed_data_file_is_named(template_src: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("ml_task: regression\nmetric: [rmse\n")
    dest = tmp_path / "project"
    result = run_new(
        [str(dest), "--template", str(template_src), "--defaults", "--data-file", str(answers)]
    )
    assert result.exit_code == 2
    line = single_error_line(result)
    assert str(answers) in line and "not valid YAML" in line
    assert not dest.exists()


def test_data_file_must_be_a_mapping(template_src: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("- ml_task\n- regression\n")
    result = run_new(
        [
            str(tmp_path / "p"),
            "--template",
            str(template_src),
            "--defaults",
            "--data-file",
            str(answers),
        ]
    )
    assert result.exit_code == 2
    assert "expected a mapping of question names to answers" in single_error_line(result)


def test_without_a_terminal_defaults_are_required(template_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "project"
    result = run_new([str(dest), "--template", str(template_src)])
    assert result.exit_code == 2
    assert "add --defaults" in single_error_line(result)
    assert not dest.exists()


def test_destination_that_is_a_file_is_refused(template_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "notes.txt"
    dest.write_text("keep me\n")
    result = run_new([str(dest), "--template", str(template_src), "--defaults"])
    assert result.exit_code == 2
    assert "is not a folder" in single_error_line(result)
    assert dest.read_text() == "keep me\n"


def test_a_local_template_that_is_not_there_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-template"
    dest = tmp_path / "project"
    result = run_new([str(dest), "--template", str(missing), "--defaults"])
    assert result.exit_code == 2
    line = single_error_line(result)
    assert str(missing) in line and "no template folder" in line
    assert not dest.exists()


def test_existing_files_are_never_overwritten_without_confirmation(
    template_src: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "project"
    dest.mkdir()
    (dest / "pyproject.toml").write_text("[project]\nname = 'mine'\n")
    result = run_new([str(dest), "--template", str(template_src), "--defaults"])
    assert result.exit_code == 2
    line = single_error_line(result)
    assert "would overwrite 1 existing file(s): pyproject.toml" in line
    assert "Copier asks before each overwrite" in line
    assert sorted(path.name for path in dest.iterdir()) == ["pyproject.toml"]
    assert (dest / "pyproject.toml").read_text() == "[project]\nname = 'mine'\n"


def test_generates_into_a_folder_with_unrelated_files(template_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "project"
    dest.mkdir()
    (dest / "notes.md").write_text("ours\n")
    result = run_new([str(dest), "--template", str(template_src), "--defaults", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (dest / "notes.md").read_text() == "ours\n"
    assert (dest / "phases/01-business-understanding/CHECKLIST.md").is_file()


def test_a_team_owned_file_already_there_is_kept_and_said(
    template_src: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "project"
    dest.mkdir()
    (dest / "README.md").write_text("# Our own front page\n")
    result = run_new([str(dest), "--template", str(template_src), "--defaults", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (dest / "README.md").read_text() == "# Our own front page\n"
    assert "kept your README.md" in result.output
    assert (dest / "phases/01-business-understanding/CHECKLIST.md").is_file()


def test_new_project_gets_answers_and_an_uncommitted_git_repository(
    template_src: Path, tmp_path: Path
) -> None:
    answers = tmp_path / "answers.yml"
    answers.write_text("ml_task: regression\nmetric: mae\nproject_name: Delivery Time\n")
    options = ["--template", str(template_src), "--defaults", "--quiet"]
    options += ["--data-file", str(answers), "--data", "metric=rmse"]
    dest = tmp_path / "project"
    result = run_new([str(dest), *options])
    assert result.exit_code == 0, result.output
    recorded = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert recorded["ml_task"] == "regression"
    assert recorded["metric"] == "rmse"  # --data wins over the file
    assert recorded["project_slug"] == "delivery-time"
    assert recorded["metric_direction"] == "minimize"
    assert (dest / ".git").is_dir()
    head = subprocess.run(
        ["git", "-C", str(dest), "rev-parse", "--verify", "HEAD"],
        capture_output=True,
        timeout=GIT_TIMEOUT_SECONDS,
        check=False,
    )
    assert head.returncode != 0, "crisp-ml new must leave the first commit to the team"
    assert "git add -A && git commit" in result.output


def test_a_relative_template_path_is_recorded_absolute(
    template_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Copier resolves a recorded relative path from wherever `copier update` runs."""
    monkeypatch.chdir(tmp_path)
    relative = os.path.relpath(template_src, tmp_path)
    result = run_new(["project", "--template", relative, "--defaults", "--quiet", "--no-git"])
    assert result.exit_code == 0, result.output
    recorded = yaml.safe_load((tmp_path / "project/.copier-answers.yml").read_text())
    assert recorded["_src_path"] == str(template_src.resolve())


def test_no_git_option_skips_git_init(template_src: Path, tmp_path: Path) -> None:
    dest = tmp_path / "project"
    result = run_new(
        [str(dest), "--template", str(template_src), "--defaults", "--quiet", "--no-git"]
    )
    assert result.exit_code == 0, result.output
    assert not (dest / ".git").exists()


def test_default_template_is_this_checkout_with_its_uncommitted_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CRISP_ML_TEMPLATE", raising=False)
    # Copier commits the template's uncommitted changes in its scratch clone; CI has no identity.
    for variable in ("GIT_AUTHOR", "GIT_COMMITTER"):
        monkeypatch.setenv(f"{variable}_NAME", "crisp-ml tests")
        monkeypatch.setenv(f"{variable}_EMAIL", "tests@example.com")
    dest = tmp_path / "project"
    result = run_new([str(dest), "--defaults", "--quiet", "--no-git"])
    assert result.exit_code == 0, result.output
    recorded = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    assert Path(recorded["_src_path"]).resolve() == REPO_ROOT
    assert (dest / "phases/08-monitoring/CHECKLIST.md").is_file()


def test_every_question_has_help_a_default_and_a_check(questionnaire: dict[str, Any]) -> None:
    questions = {
        name: spec
        for name, spec in questionnaire.items()
        if not name.startswith("_") and spec.get("when") is not False  # hidden: computed values
    }
    assert len(questions) == 23
    for name, spec in questions.items():
        assert spec.get("help"), f"{name} has no help"
        assert "default" in spec, f"{name} has no default"
        # A closed list of choices (or yes/no) checks itself; free answers need a validator.
        assert "choices" in spec or spec["type"] == "bool" or spec.get("validator"), name


def test_copier_messages_become_one_line() -> None:
    error = ValueError("Validation error for question 'project_slug': bad\n   slug")
    assert explain_copier_error(error) == "bad answer for project_slug: bad slug"
    assert explain_copier_error(ValueError("something else")) is None


def test_data_pairs_need_an_equals_sign() -> None:
    assert parse_data_pairs(["dvc_remote_url=s3://b/p?x=1"]) == {"dvc_remote_url": "s3://b/p?x=1"}
    with pytest.raises(AnswerError, match="QUESTION=VALUE"):
        parse_data_pairs(["metric"])


def test_empty_destination_stays_empty_after_a_bad_answer(
    template_src: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "project"
    dest.mkdir()
    result = run_new(
        [str(dest), "--template", str(template_src), "--defaults", "--data", "project_slug=Bad"]
    )
    assert result.exit_code == 2
    assert list(dest.iterdir()) == []


def test_failed_rendering_leaves_nothing_behind(tmp_path: Path) -> None:
    """A template error halfway through: one line, exit 1, and no half-written project."""
    broken = tmp_path / "broken-template"
    (broken / "template").mkdir(parents=True)
    (broken / "copier.yml").write_text("_subdirectory: template\nname:\n  default: demo\n")
    (broken / "template" / "a-fine-file.txt").write_text("hello\n")
    (broken / "template" / "z-broken.txt.jinja").write_text("{{ name | no_such_filter }}\n")
    for target in (tmp_path / "new-folder", tmp_path / "empty-folder"):
        if target.name == "empty-folder":
            target.mkdir()
        result = run_new([str(target), "--template", str(broken), "--defaults", "--quiet"])
        assert result.exit_code == 1
        assert "generation failed" in single_error_line(result)
        assert not target.exists() or list(target.iterdir()) == []
