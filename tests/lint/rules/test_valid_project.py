"""The fixture project is the passing case of every rule: each rule is silent on it."""

from __future__ import annotations

import pytest
from rule_fixture import Project

from crisp_lint.model import REGISTRY, Phase

OWN_RULES = sorted(
    code for code, rule in REGISTRY.items() if rule.phase is not Phase.GENERAL or code >= "GEN010"
)


@pytest.mark.parametrize("code", OWN_RULES)
def test_a_complete_project_passes(project: Project, code: str) -> None:
    assert project.problems(code) == []
