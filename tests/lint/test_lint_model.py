"""The @rule decorator keeps the registry's promises: codes name their phase, and are unique."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crisp_lint.model import REGISTRY, Phase, Problem, Severity, rule
from crisp_lint.registry import load_registry


def nothing(repo: object) -> Iterator[Problem]:
    yield from ()


@pytest.mark.parametrize(
    ("code", "phase"),
    [("DU999", Phase.BUSINESS_UNDERSTANDING), ("BU1", Phase.BUSINESS_UNDERSTANDING),
     ("GEN0001", Phase.GENERAL), ("bu999", Phase.BUSINESS_UNDERSTANDING)],
)  # fmt: skip
def test_a_code_must_be_its_phase_prefix_and_three_digits(code: str, phase: Phase) -> None:
    with pytest.raises(ValueError, match=f"rule {code} must be {phase.prefix} and three digits"):
        rule(code, phase, "t", rationale="r", fix="f")(nothing)
    assert code not in REGISTRY


def test_a_code_cannot_be_registered_twice() -> None:
    registered = next(iter(load_registry()))
    phase = REGISTRY[registered].phase
    with pytest.raises(ValueError, match=f"rule {registered} is registered twice"):
        rule(registered, phase, "t", rationale="r", fix="f")(nothing)


def test_a_rule_keeps_what_the_decorator_was_given() -> None:
    try:
        rule(
            "MN999", Phase.MONITORING, "title", rationale="why", fix="how", needs="server",
            severity=Severity.WARNING,
        )(nothing)  # fmt: skip
        registered = REGISTRY["MN999"]
        assert (registered.title, registered.rationale, registered.fix) == ("title", "why", "how")
        assert (registered.needs, registered.severity, registered.check) == (
            "server",
            Severity.WARNING,
            nothing,
        )
    finally:
        REGISTRY.pop("MN999", None)


def test_the_registry_lists_rules_in_lifecycle_order_with_general_last() -> None:
    phases = [r.phase for r in load_registry().values()]
    order = [p.number or 99 for p in phases]
    assert order == sorted(order)
    assert phases[-1] is Phase.GENERAL
