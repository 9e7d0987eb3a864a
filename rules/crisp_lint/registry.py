"""Every rule, by code, imported only when a run needs it.

crisp-lint runs on every commit, and a run judges only the phases up to the current one: a
project in business understanding has no use for the modelling or monitoring rules, nor for
the time their modules take to import. So the rule modules are listed here, with the codes
each registers, and :class:`Rules` imports a module the first time one of its rules is
looked up. tests/lint/test_lint_imports.py imports every module and fails when this index
and what the modules really register drift apart.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from crisp_lint.model import CODE_PREFIX, REGISTRY, Phase, Rule

# One line per rule module (a path under crisp_lint) with the codes it registers, as single
# codes or ranges of one prefix ("BU001-BU008"). A new rule module is one more line here; a
# new rule in a module widens its range. The phase of a code is its prefix's (the ``rule``
# decorator refuses a code whose prefix is not its phase's).
RULE_MODULES: dict[str, str] = {
    "engine_rules": "GEN001-GEN006",
    "checks.business_understanding": "BU001-BU008 BU101-BU109",
    "checks.literature_review": "LR001-LR004 LR101-LR109",
    "checks.data_understanding": "DU001-DU008 DU101-DU109",
    "checks.data_preparation": "DP001-DP006 DP101-DP109",
    "checks.modelling": "MO001-MO010 MO101-MO109",
    "checks.evaluation": "EV001-EV009 EV101-EV109",
    "checks.deployment": "DE001-DE009 DE101-DE109",
    "checks.monitoring": "MN001-MN009 MN101-MN109",
    "checks.general": "GEN010-GEN012 GEN014-GEN016 GEN025",
    "checks.secrets": "GEN013 GEN020-GEN024",
}

_PHASE_OF_PREFIX = {prefix: phase for phase, prefix in CODE_PREFIX.items()}


def expand(codes: str) -> list[str]:
    """``"BU001-BU003 BU101"`` -> ``["BU001", "BU002", "BU003", "BU101"]``."""
    expanded: list[str] = []
    for part in codes.split():
        first, _, last = part.partition("-")
        prefix = first.rstrip("0123456789")
        start, stop = int(first[len(prefix) :]), int((last or first)[len(prefix) :])
        expanded += [f"{prefix}{number:03d}" for number in range(start, stop + 1)]
    return expanded


def phase_of(code: str) -> Phase:
    return _PHASE_OF_PREFIX[code.rstrip("0123456789")]


def _order(code: str) -> tuple[int, str]:
    """Lifecycle order, general last."""
    return (phase_of(code).number or len(Phase), code)


def _index() -> dict[str, str]:
    """Code -> module, in lifecycle order (general last)."""
    index = {code: module for module, codes in RULE_MODULES.items() for code in expand(codes)}
    return {code: index[code] for code in sorted(index, key=_order)}


class Rules(Mapping[str, Rule]):
    """Every rule by code, in lifecycle order (general last), importing a rule's module the
    first time the rule is looked up.

    As a Mapping it is the whole registry: iterating it, or its values, imports every rule
    module (``--list-rules``, the docs, SARIF's rule table). The engine asks only for
    :meth:`codes` and :meth:`phase`, which import nothing, and looks up the rules it runs.
    """

    def __init__(self) -> None:
        self._modules = _index()

    def codes(self) -> list[str]:
        return list(self._modules)

    def phase(self, code: str) -> Phase:
        return phase_of(code)

    def __getitem__(self, code: str) -> Rule:
        module = self._modules.get(code)
        if module is None:
            raise KeyError(code)
        if code not in REGISTRY:
            importlib.import_module(f"crisp_lint.{module}")
        return REGISTRY[code]

    def __contains__(self, code: object) -> bool:
        return code in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        # Whoever iterates the registry is about to use every rule (and may read REGISTRY
        # directly): import them all first, as the registry always did.
        for module in RULE_MODULES:
            importlib.import_module(f"crisp_lint.{module}")
        return iter(self._modules)


def load_registry() -> Rules:
    """Every rule by code, in lifecycle order (general last); modules import on first use."""
    return Rules()


def load_all() -> dict[str, Rule]:
    """Every rule by code, every rule module imported (for tests and tools that want them)."""
    return dict(load_registry().items())
