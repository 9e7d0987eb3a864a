"""Every answer crisp-ml new takes, fuzzed: check_answers refuses or accepts within the
budget and never lets a control character through; a few cases run `crisp-ml new` itself."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from fuzzlib import BUDGET_SECONDS, record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisp_ml.answers import CONTROL_CHARACTER, AnswerError, check_answers, read_questionnaire
from crisp_ml.new import new

REPO_ROOT = Path(__file__).resolve().parents[2]
QUESTIONNAIRE = read_questionnaire(str(REPO_ROOT))
assert QUESTIONNAIRE is not None
HOSTILE = st.one_of(
    st.text(max_size=200),
    st.sampled_from(["\n", "\r\n", "\x00", "\u2028", "\x85", "a" * 300, "true", "nan", "1e999"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=80),
)


@settings(max_examples=400, deadline=None, database=None)
@given(question=st.sampled_from(sorted(QUESTIONNAIRE.types)), value=HOSTILE)
def test_check_answers_refuses_or_accepts_and_never_passes_a_control_character(
    question: str, value: str
) -> None:
    start = time.perf_counter()
    try:
        check_answers({question: value}, QUESTIONNAIRE)
        accepted = True
    except AnswerError as error:
        accepted = False
        assert str(error)
    record("check_answers", time.perf_counter() - start)
    if accepted:
        assert CONTROL_CHARACTER.search(value) is None


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


@settings(
    max_examples=6,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    question=st.sampled_from(["project_name", "description", "author_name", "dvc_remote_url"]),
    value=HOSTILE,
)
def test_crisp_ml_new_on_hostile_answers(
    tmp_path_factory: pytest.TempPathFactory, runner: CliRunner, question: str, value: str
) -> None:
    dest = tmp_path_factory.mktemp("new") / "project"
    start = time.perf_counter()
    result = runner.invoke(
        new,
        [str(dest), "--template", str(REPO_ROOT), "--defaults", "--quiet", "--no-git",
         "--data", f"{question}={value}"],
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    record("crisp-ml new", elapsed)
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert elapsed < BUDGET_SECONDS * 3  # a real generation, Copier included
    if result.exit_code == 0:
        tomllib.loads((dest / "pyproject.toml").read_text(encoding="utf-8"))
