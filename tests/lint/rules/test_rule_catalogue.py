"""The rule set as a whole: every workflow step is enforced, every rule explains itself."""

from __future__ import annotations

import re

import pytest

from crisp_lint.model import LIFECYCLE, REGISTRY, Phase, Rule
from crisp_lint.registry import load_all
from crisp_lint.workflow import STEPS, STEPS_BY_ID, steps_of

load_all()  # imports every rule module, which registers its rules in REGISTRY

OWN_RULES = [r for r in REGISTRY.values() if r.phase is not Phase.GENERAL or r.code >= "GEN010"]


def cited_steps(rationale: str) -> set[str]:
    cited = set(re.findall(r"\b(\d\.\d)\b", rationale))
    return {step for step in cited if step in STEPS_BY_ID}


def test_the_workflow_has_47_steps_in_the_documented_shape() -> None:
    assert [len(steps_of(phase)) for phase in LIFECYCLE] == [5, 5, 5, 9, 8, 5, 5, 5]
    assert [step.id for step in STEPS][:6] == ["1.1", "1.2", "1.3", "1.4", "1.5", "2.1"]
    assert STEPS[-1].id == "8.5"


def test_every_workflow_step_is_enforced_by_a_rule_of_its_phase() -> None:
    for step in STEPS:
        enforcing = [
            rule.code
            for rule in OWN_RULES
            if rule.phase is step.phase and step.id in cited_steps(rule.rationale)
        ]
        assert enforcing, f"step {step.id} ({step.text}) is enforced by no rule"


def test_every_step_checked_beyond_its_checklist_row_is_listed() -> None:
    """The machine checks, as the closing note reports them (checklist rules excluded)."""
    machine_checked = {
        step
        for rule in OWN_RULES
        if not rule.code[-3:].startswith("1")
        for step in cited_steps(rule.rationale)
    }
    assert {"1.1", "1.2", "2.4", "2.5", "3.4", "3.5", "4.9", "5.3", "6.4", "7.3", "8.2"} <= (
        machine_checked
    )


@pytest.mark.parametrize("rule", OWN_RULES, ids=[r.code for r in OWN_RULES])
def test_every_rule_has_a_title_a_rationale_citing_a_step_and_a_fix(rule: Rule) -> None:
    assert rule.title.strip()
    assert rule.fix.strip()
    if rule.code != "GEN016":  # template drift guards the process itself, not one step
        assert cited_steps(rule.rationale), f"{rule.code} cites no workflow step"
    assert re.fullmatch(rf"{rule.phase.prefix}\d{{3}}", rule.code)
