"""Answers given on the command line: read them, check them early, explain Copier's verdicts.

Copier validates every answer itself (the validators live in ``copier.yml``) and raises a
bare ``ValueError`` with a traceback when one is wrong. This module gathers the answers from
``--data`` and ``--data-file``, catches the mistakes Copier would not name well (a typo in a
question name, text where a number belongs), and turns Copier's validation errors into one
line that names the question and the fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from crisp_lint.credentials import url_credentials

QUESTIONNAIRE_FILES = ("copier.yml", "copier.yaml")

# Copier's own messages: "Validation error for question 'x': ..." and
# "Invalid choice for 'x': ...".
_COPIER_ANSWER_ERROR = re.compile(
    r"^(?:Validation error for question|Invalid choice for) '(?P<question>[^']+)': (?P<detail>.*)$",
    re.DOTALL,
)


class AnswerError(ValueError):
    """An answer that cannot be used; the message names the question or file and the fix."""


@dataclass(frozen=True)
class Questionnaire:
    """The questions of a template (name -> declared type) and its skip-if-exists patterns."""

    types: Mapping[str, str]
    skip_if_exists: tuple[str, ...]


class _TolerantLoader(yaml.SafeLoader):
    """Reads copier.yml while leaving Copier's own tags (such as ``!include``) unresolved."""


_TolerantLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def read_questionnaire(template: str) -> Questionnaire | None:
    """The questionnaire of a template in a local folder, or None when it cannot be read.

    Remote templates and unreadable files yield None: the early checks are then skipped and
    Copier's own validation still applies.
    """
    folder = Path(template)
    for name in QUESTIONNAIRE_FILES:
        path = folder / name
        if not path.is_file():
            continue
        try:
            # A SafeLoader subclass: no arbitrary objects.
            content = yaml.load(path.read_text(encoding="utf-8"), Loader=_TolerantLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return None
        if not isinstance(content, dict):
            return None
        types = {
            key: str(spec.get("type", "str")) if isinstance(spec, dict) else "str"
            for key, spec in content.items()
            if isinstance(key, str) and not key.startswith("_") and not _computed(spec)
        }
        skip = content.get("_skip_if_exists") or []
        patterns = tuple(str(item) for item in skip) if isinstance(skip, list) else ()
        return Questionnaire(types, patterns)
    return None


def _computed(spec: Any) -> bool:
    """A value the template computes (``when: false``), such as the crisp-ml version pin."""
    return isinstance(spec, dict) and spec.get("when") is False


def parse_data_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["metric=rmse", ...]`` -> ``{"metric": "rmse", ...}``; the value may contain ``=``."""
    answers: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise AnswerError(f"--data {pair!r}: write it as QUESTION=VALUE, e.g. metric=rmse")
        answers[name.strip()] = value
    return answers


def read_data_file(path: Path) -> dict[str, Any]:
    """Answers from a YAML file holding a mapping of question names to values."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AnswerError(f"{path}: cannot read the answers file ({error})") from None
    try:
        content = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = ""
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        raise AnswerError(
            f"{path}: not valid YAML{where}; fix the syntax (one `question: value` per line)"
        ) from None
    if content is None:
        return {}
    if not isinstance(content, dict) or not all(isinstance(key, str) for key in content):
        raise AnswerError(f"{path}: expected a mapping of question names to answers")
    return content


def check_answers(answers: Mapping[str, Any], questionnaire: Questionnaire) -> None:
    """Reject unknown question names and non-numeric answers to numeric questions."""
    unknown = sorted(set(answers) - set(questionnaire.types))
    if unknown:
        known = ", ".join(sorted(questionnaire.types))
        raise AnswerError(
            f"{', '.join(unknown)}: not a question of this template; the questions are: {known}"
        )
    for name, value in answers.items():
        kind = questionnaire.types[name]
        check_one_line(name, value)
        if kind in {"float", "int"} and not _is_number(value, kind):
            example = "0.9" if kind == "float" else "3"
            raise AnswerError(f"{name}: {value!r} is not a number; give one, e.g. {name}={example}")
        # Copier reads any unknown word as true; "maybe" must not become a yes.
        if kind == "bool" and not _is_yes_or_no(value):
            raise AnswerError(f"{name}: {value!r} is not a yes or no; answer true or false")
        if name in CREDENTIAL_FREE:
            check_no_credentials(name, value)
        if name == "mlflow_experiment":
            check_experiment_name(value)


# Answers written into committed files, which must never carry a password, and the fix.
CREDENTIAL_FREE = {
    "dvc_remote_url": "keep credentials in .dvc/config.local (`dvc remote modify --local`)"
    " or your cloud credentials",
    "mlflow_tracking_uri": 'drop the "user:password@" part and set MLFLOW_TRACKING_USERNAME'
    " and MLFLOW_TRACKING_PASSWORD in the environment instead",
    "prediction_log_url": 'drop the ":password" part and set CRISP_PREDICTION_LOG_URL (the'
    " whole URL) or PGPASSWORD in the environment instead",
}


def check_no_credentials(name: str, value: Any) -> None:
    """Refuse a URL answer with ``user:password@`` in it, whatever the password holds.

    The same parser as crisp-lint's and as the validator in copier.yml, so a password with
    ``/``, ``%`` or ``@`` (AWS secret keys often contain ``/``) is caught here too.
    """
    found = next(url_credentials(str(value)), None)
    if found is not None:
        raise AnswerError(
            f"bad answer for {name}: do not put a password in the URL ({found.redacted}):"
            f" {CREDENTIAL_FREE[name]}"
        )


# Control characters (C0, DEL, C1) and the line separators YAML honours: any of them in an
# answer written into params.yaml, .dvc/config or pyproject.toml injects keys or breaks the
# file. copier.yml's validators refuse the same class, for a plain `copier copy`.
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Names become folders and the distribution name: past this the file system refuses them.
MAX_NAME_LENGTH = {"project_slug": 100, "package_name": 100}


def check_one_line(name: str, value: Any) -> None:
    """Refuse a text answer holding a control character, or a name too long for a folder."""
    if not isinstance(value, str):
        return
    found = CONTROL_CHARACTER.search(value)
    if found is not None:
        raise AnswerError(
            f"bad answer for {name}: it contains the control character {found.group()!r}"
            " (a newline, tab, NUL...); answers are one line of printable text"
        )
    limit = MAX_NAME_LENGTH.get(name)
    if limit is not None and len(value) > limit:
        raise AnswerError(
            f"bad answer for {name}: {len(value)} characters is too long (at most {limit})"
        )


# The experiment name is also the registered model's, which MLflow refuses with "/" or ":",
# and params.yaml holds it unquoted, where YAML would read these words as booleans or null.
EXPERIMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
MAX_EXPERIMENT_NAME_LENGTH = 100
YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "y", "n", "null"}


def check_experiment_name(value: Any) -> None:
    """Refuse an experiment name MLflow's registry or params.yaml would not keep as given;
    copier.yml's validator says the same for a plain ``copier copy``."""
    text = str(value)
    if len(text) > MAX_EXPERIMENT_NAME_LENGTH:
        raise AnswerError(
            f"bad answer for mlflow_experiment: {len(text)} characters is too long"
            f" (at most {MAX_EXPERIMENT_NAME_LENGTH})"
        )
    if EXPERIMENT_NAME.fullmatch(text) is None or text.lower() in YAML_WORDS:
        raise AnswerError(
            f"bad answer for mlflow_experiment: {text!r} is not a usable experiment name;"
            " start with a letter and use only letters, digits, dots, dashes and underscores"
            ' (the registry refuses "/" and ":"), e.g. mlflow_experiment=churn-team-a'
        )


_YES_OR_NO = {"true", "false", "yes", "no", "on", "off", "y", "n", "1", "0"}


def _is_yes_or_no(value: Any) -> bool:
    return isinstance(value, bool) or str(value).strip().lower() in _YES_OR_NO


def _is_number(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    try:
        number = float(value) if kind == "float" else int(value)
    except (TypeError, ValueError):
        return False
    return math.isfinite(number)


def explain_copier_error(error: BaseException) -> str | None:
    """One line for a Copier answer-validation error, or None if it is not one."""
    match = _COPIER_ANSWER_ERROR.match(str(error).strip())
    if match is None:
        return None
    detail = " ".join(match["detail"].split())
    if " is not in [" in detail:
        detail += ": choose one of those"
    return f"bad answer for {match['question']}: {detail}"
