"""The vocabulary every part of crisp-lint shares: phases, severities, findings, rules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

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


CODE_PATTERN = re.compile(f"({'|'.join(CODE_PREFIX.values())})[0-9]{{3}}")


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` as editors number them, broken only at \\n, \\r\\n and \\r.

    ``str.splitlines`` also breaks at form feeds, U+2028 and other separators that text
    pasted from elsewhere may hold, which would shift every line number after one.
    """
    lines = _LINE_BREAK.split(text)
    if lines[-1] == "":
        lines.pop()
    return lines


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


# The value objects below are NamedTuples or slotted classes, not dataclasses: crisp-lint
# starts on every commit, and ``dataclasses`` (with the ``inspect`` it always imports) and
# the code it generates per class cost more start-up time than the rules themselves.


class Finding:
    """One unmet QA item. ``path`` is repository-relative with forward slashes.

    Frozen; equal (and hashed) by path, line, code and message: phase and severity follow
    from the code and the gating, so a finding is the same finding whatever its severity.
    """

    __slots__ = ("code", "line", "message", "path", "phase", "severity")
    __match_args__ = ("path", "line", "code", "message", "phase", "severity")

    path: str
    line: int | None
    code: str
    message: str
    phase: Phase
    severity: Severity

    def __init__(
        self,
        path: str,
        line: int | None,
        code: str,
        message: str,
        phase: Phase,
        severity: Severity = Severity.WARNING,
    ) -> None:
        for name, value in zip(
            self.__match_args__, (path, line, code, message, phase, severity), strict=True
        ):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Finding is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Finding is frozen")

    def _key(self) -> tuple[str, int | None, str, str]:
        return (self.path, self.line, self.code, self.message)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__match_args__)
        return f"{type(self).__qualname__}({fields})"

    @property
    def sort_key(self) -> tuple[str, int, str, str]:
        """Report order: by file, then line (file-level findings first), then code."""
        return (self.path, self.line or 0, self.code, self.message)


class Problem(NamedTuple):
    """What a rule's check yields: the engine adds code, phase and the gated severity.

    ``path`` is repository-relative with forward slashes; use ``"."`` for a problem of the
    repository as a whole.
    """

    path: str
    message: str
    line: int | None = None


Check = Callable[["RepoView"], Iterable[Problem]]


class Rule(NamedTuple):
    code: str
    phase: Phase
    title: str
    rationale: str  # cites the CRISP-ML workflow step it enforces, e.g. "Step 1.1: ..."
    fix: str  # a short "how to fix"
    check: Check
    # Rules that need more than the files (git history, a tracking server) run only
    # when the user passes the flag that names them (``crisp-lint --with NAME``).
    needs: str | None = None
    # Only for ``general`` rules, which phase gating does not grade: the severity of
    # their findings. Phase rules get theirs from the gating (see crisp_lint.engine).
    severity: Severity = Severity.ERROR


REGISTRY: dict[str, Rule] = {}
"""Every rule, by code. GEN001-GEN009 are the engine's own (crisp_lint.engine_rules):
unreadable and malformed input, rules that crashed, ignores without a reason."""


def rule(
    code: str,
    phase: Phase,
    title: str,
    *,
    rationale: str,
    fix: str,
    needs: str | None = None,
    severity: Severity = Severity.ERROR,
) -> Callable[[Check], Check]:
    """Register ``check`` as rule ``code``. Codes are stable: never reuse a retired one."""

    def register(check: Check) -> Check:
        if not CODE_PATTERN.fullmatch(code) or not code.startswith(phase.prefix):
            raise ValueError(
                f"rule {code} must be {phase.prefix} and three digits (phase {phase.value})"
            )
        if code in REGISTRY:
            raise ValueError(f"rule {code} is registered twice")
        REGISTRY[code] = Rule(code, phase, title, rationale, fix, check, needs, severity)
        return check

    return register
