"""Copier migration: keep the MLflow experiment name of a project generated before v2.0.0.

Usage (from copier.yml ``_migrations``, "before" stage, run in the project root):

    python keep_experiment_name.py

v2.0.0 asks ``mlflow_experiment``, whose default for a new project is the slug plus a
random suffix (two default projects on one tracking server must not share an experiment).
A project generated earlier has no such answer, and its runs and registered model live under
the name params.yaml gives (the slug, unless the team changed it): without this script the
update would draw a fresh default and move every later run to a new, empty experiment.

So, before the merge, the name params.yaml gives (else the ``project_slug`` answer) is
written into ``.copier-answers.yml`` as the ``mlflow_experiment`` answer, which Copier then
uses instead of the default. Safe on any project: nothing happens when the answer exists.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ANSWERS_FILE = Path(".copier-answers.yml")
PARAMS_FILE = Path("params.yaml")
QUESTION = "mlflow_experiment"


def read_mapping(path: Path) -> dict[str, Any] | None:
    """A YAML file's top-level mapping, or None when it is missing or unreadable."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return content if isinstance(content, dict) else None


def current_name(answers: dict[str, Any]) -> str | None:
    """The experiment the project's runs go to today."""
    params = read_mapping(PARAMS_FILE) or {}
    section = params.get("mlflow") if isinstance(params.get("mlflow"), dict) else {}
    for name in (section.get("experiment"), answers.get("project_slug")):
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


def main() -> int:
    answers = read_mapping(ANSWERS_FILE)
    if answers is None:
        print(f"migration: {ANSWERS_FILE} unreadable; {QUESTION} keeps Copier's default")
        return 0
    if QUESTION in answers:
        return 0  # generated with the question: its answer already is the name
    name = current_name(answers)
    if name is None:
        print(f"migration: no experiment name in {PARAMS_FILE} or the answers; keeping none")
        return 0
    text = ANSWERS_FILE.read_text(encoding="utf-8")
    line = yaml.safe_dump({QUESTION: name}, default_flow_style=False, allow_unicode=True)
    separator = "" if not text or text.endswith("\n") else "\n"
    ANSWERS_FILE.write_text(text + separator + line, encoding="utf-8")
    print(f"migration: the MLflow experiment stays {name!r} (answer {QUESTION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
