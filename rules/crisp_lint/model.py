"""The vocabulary every part of crisp-lint shares: phases, severities, findings, rules."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView


class Phase(StrEnum):
    """The CRISP-ML phases in lifecycle order, plus ``general`` for repo-wide rules."""

    BUSINESS_UNDERSTANDING = "business-understanding"
    LITERATURE_REVIEW = "literature-review"
    DATA_UNDERSTANDING = "data-understanding"
    DATA_PREPARATION = "data-preparation"
    MODELLING = "modelling"
    EVALUATION = "evaluation"
    DEPLOYMENT = "deployment"
    MONITORING = "monitoring"
    GENERAL = "general"

    @property
    def number(self) -> int:
        """1-8 in lifecycle order; 0 for ``general``."""
        return 0 if self is Phase.GENERAL else LIFECYCLE.index(self) + 1

    @property
    def folder(self) -> str:
        """The phase's folder in a generated project, e.g. ``phases/01-business-understanding``."""
        return f"phases/{self.number:02d}-{self.value}"

    @property
    def prefix(self) -> str:
        return CODE_PREFIX[self]


LIFECYCLE: tuple[Phase, ...] = tuple(p for p in Phase if p is not Phase.GENERAL)

CODE_PREFIX: dict[Phase, str] = {
    Phase.BUSINESS_UNDERSTANDING: "BU",
    Phase.LITERATURE_REVIEW: "LR",
    Phase.DATA_UNDERSTANDING: "DU",
    Phase.DATA_PREPARATION: "DP",
    Phase.MODELLING: "MO",
    Phase.EVALUATION: "EV",
    Phase.DEPLOYMENT: "DE",
    Phase.MONITORING: "MN",
    Phase.GENERAL: "GEN",
}


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, order=True)
class Finding:
    """One unmet QA item. ``path`` is repository-relative with forward slashes."""

    path: str
    line: int | None
    code: str
    message: str
    phase: Phase = field(compare=False)
    severity: Severity = field(default=Severity.WARNING, compare=False)


@dataclass(frozen=True)
class Problem:
    """What a rule's check yields: the engine adds code, phase and the gated severity."""

    path: str
    message: str
    line: int | None = None


Check = Callable[["RepoView"], Iterable[Problem]]


@dataclass(frozen=True)
class Rule:
    code: str
    phase: Phase
    title: str
    rationale: str  # cites the CRISP-ML workflow step it enforces, e.g. "Step 1.1: ..."
    fix: str  # a short "how to fix"
    check: Check
    # Rules that need more than the files (git history, a tracking server) run only
    # when the user passes the flag that names them.
    needs: str | None = None


REGISTRY: dict[str, Rule] = {}


def rule(
    code: str,
    phase: Phase,
    title: str,
    *,
    rationale: str,
    fix: str,
    needs: str | None = None,
) -> Callable[[Check], Check]:
    """Register ``check`` as rule ``code``. Codes are stable: never reuse a retired one."""

    def register(check: Check) -> Check:
        if not code.startswith(phase.prefix):
            raise ValueError(f"rule {code} must start with {phase.prefix} (phase {phase.value})")
        if code in REGISTRY:
            raise ValueError(f"rule {code} is registered twice")
        REGISTRY[code] = Rule(code, phase, title, rationale, fix, check, needs)
        return check

    return register
