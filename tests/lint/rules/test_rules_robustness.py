"""No rule crashes, whatever an artefact holds: odd YAML shapes, wrong types, random bytes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_fixture import SUCCESS_CRITERIA, Project

from crisp_lint.checklist import parse_checklist
from crisp_lint.model import REGISTRY, Phase
from crisp_lint.repo import UNREADABLE, RepoView

OWN_RULES = [r for r in REGISTRY.values() if r.phase is not Phase.GENERAL or r.code >= "GEN010"]
ARTEFACTS = (
    "dvc.yaml",
    "dvc.lock",
    "params.yaml",
    SUCCESS_CRITERIA,
    "phases/03-data-understanding/data-catalog.yaml",
    ".github/workflows/retrain.yml",
    ".copier-answers.yml",
    ".dvc/config",
    "reports/evaluation/gate.json",
    "reports/evaluation/metrics.json",
    "phases/01-business-understanding/CHECKLIST.md",
    "phases/02-literature-review/methods-comparison.md",
    "phases/02-literature-review/chosen-methods.md",
    "phases/04-data-preparation/preparation-log.md",
    "phases/06-evaluation/deploy-decision.md",
    "src/iris/train.py",
    "src/iris/router.py",
)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def scratch(_valid_project_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("robustness") / "project"
    shutil.copytree(_valid_project_source, root, symlinks=True)
    return root


def encode(artefact: str, content: Any) -> bytes:
    if isinstance(content, bytes):
        return content
    if artefact.endswith(".json"):
        return json.dumps(content).encode()
    if artefact.endswith((".yaml", ".yml", ".lock")):
        return yaml.safe_dump(content).encode()
    return str(content).encode()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(artefact=st.sampled_from(ARTEFACTS), content=VALUES | st.binary(max_size=200))
def test_no_rule_crashes_on_any_artefact_content(
    scratch: Path, artefact: str, content: Any
) -> None:
    path = scratch / artefact
    original = path.read_bytes() if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode(artefact, content))
    try:
        repo = RepoView(scratch)
        for rule in OWN_RULES:
            for problem in rule.check(repo):
                assert isinstance(problem.message, str) and problem.message
                assert problem.line is None or problem.line >= 1
    finally:
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("|\\`-: \n1.opendn/a"), max_size=300) | st.text())
def test_the_checklist_parser_reports_instead_of_raising(text: str) -> None:
    checklist = parse_checklist(text, "CHECKLIST.md")
    lines = text.splitlines()
    for row in checklist.rows:
        assert lines[row.line - 1].lstrip().startswith("|")
    for line, message in checklist.errors:
        # A missing separator is reported on the line after the header, maybe past the end.
        assert line is None or 1 <= line <= len(lines) + 1
        assert message


@pytest.mark.parametrize(
    ("code", "artefact"),
    [
        ("DU004", ".dvc/config"),
        ("LR003", "phases/02-literature-review/methods-comparison.md"),
        ("LR004", "phases/02-literature-review/chosen-methods.md"),
        ("DP001", "phases/04-data-preparation/preparation-log.md"),
    ],
)
def test_an_unreadable_artefact_is_not_called_missing(
    project: Project, code: str, artefact: str
) -> None:
    """The rule stays silent; GEN001 names the file and why it cannot be read."""
    project.write_bytes(artefact, b"\x00\x01 saved by a binary editor")
    repo = RepoView(project.root)
    assert list(REGISTRY[code].check(repo)) == []
    assert [problem.path for problem in repo.problems(UNREADABLE)] == [artefact]
