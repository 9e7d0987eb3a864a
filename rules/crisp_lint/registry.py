"""Loading every rule: the engine's own and those of the phase modules in crisp_lint.checks."""

from __future__ import annotations

from crisp_lint.model import REGISTRY, Phase, Rule


def load_registry() -> dict[str, Rule]:
    """Every registered rule by code, in lifecycle order (general last)."""
    import crisp_lint.checks
    import crisp_lint.engine_rules  # noqa: F401 - registers GEN001-GEN004

    return dict(sorted(REGISTRY.items(), key=lambda item: _order(item[1])))


def _order(rule: Rule) -> tuple[int, str]:
    return (rule.phase.number or len(Phase), rule.code)
