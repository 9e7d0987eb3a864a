"""Choosing the rules, running them, and grading each finding by phase.

Phase gating, given the current phase P:

| rule's phase   | judged?                    | severity                              |
|----------------|----------------------------|---------------------------------------|
| before P       | always                     | error                                 |
| P              | always                     | warning (error with ``strict``)       |
| after P        | only with ``all_phases``   | info (never fails the run)            |
| general        | always                     | the rule's own (error unless it says) |
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import NamedTuple

from crisp_lint.config import ConfigError, check_selectors
from crisp_lint.model import LIFECYCLE, Finding, Phase, Problem, Rule, Severity
from crisp_lint.registry import Rules
from crisp_lint.repo import RepoView
from crisp_lint.selection import is_selected

DEFAULT_PHASE = LIFECYCLE[0]
NOT_SELECTED = "not selected"  # why a rule did not run, in Report.skipped
NOT_A_PROJECT = "not a CRISP-ML project (run `crisp-ml adopt`)"  # ditto, for phase rules
# What makes a repository a CRISP-ML project (any one is enough): see has_crisp_ml_layer.
SUCCESS_CRITERIA = f"{LIFECYCLE[0].folder}/success-criteria.yaml"
CHECKLIST = "CHECKLIST.md"


# A NamedTuple and a slotted class rather than dataclasses: see crisp_lint.model.
class Options(NamedTuple):
    """What the command line adds to, or overrides in, the configuration."""

    phase: Phase | None = None  # overrides the declared phase
    strict: bool = False  # or-ed with the configuration's ``strict``
    all_phases: bool = False
    select: tuple[str, ...] | None = None  # replaces the configuration's select
    extend_select: tuple[str, ...] = ()  # added to the configuration's
    ignore: tuple[str, ...] = ()  # added to the configuration's
    needs: frozenset[str] = frozenset()  # extra inputs the user allows (``--with``)
    time_budget: float | None = None  # seconds (0: no limit); overrides the configuration's


class Report:
    """What a run found. Frozen, compared and shown by all its fields, as a dataclass."""

    __slots__ = ("adopted", "findings", "phase", "phase_declared", "ran", "rules", "skipped")
    _FIELDS = ("phase", "phase_declared", "findings", "rules", "ran", "skipped", "adopted")

    phase: Phase
    phase_declared: bool  # False: no phase configured, the first one was assumed
    findings: list[Finding]
    rules: Mapping[str, Rule]  # every known rule, for reporters that describe them
    ran: tuple[str, ...]  # codes of the rules that ran, in order
    skipped: Mapping[str, str]  # code -> why it did not run
    adopted: bool  # False: no CRISP-ML layer, the phase rules were skipped (GEN006)

    def __init__(
        self,
        phase: Phase,
        phase_declared: bool,
        findings: list[Finding],
        rules: Mapping[str, Rule],
        ran: tuple[str, ...],
        skipped: Mapping[str, str] | None = None,
        adopted: bool = True,
    ) -> None:
        skipped = {} if skipped is None else skipped
        values = (phase, phase_declared, findings, rules, ran, skipped, adopted)
        for name, value in zip(self._FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}: a Report is frozen")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: a Report is frozen")

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"Report({fields})"

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def exit_code(self, *, exit_zero: bool = False) -> int:
        return 1 if self.has_errors and not exit_zero else 0

    def unclean_earlier_phases(self) -> list[tuple[Phase, list[Finding]]]:
        """Phases before the current one that still have findings, in lifecycle order."""
        earlier = LIFECYCLE[: LIFECYCLE.index(self.phase)]
        return [
            (phase, found)
            for phase in earlier
            if (found := [f for f in self.findings if f.phase is phase])
        ]

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)


def lint(
    repo: RepoView,
    options: Options | None = None,
    rules: Mapping[str, Rule] | None = None,
) -> Report:
    """Run the selected rules over ``repo`` and grade their findings.

    ``rules`` defaults to the full registry (crisp_lint.registry, whose rule modules import
    only when one of their rules runs); tests pass their own. Raises ConfigError for an
    unknown selector.
    """
    options = options or Options()
    if rules is None:
        from crisp_lint.registry import load_registry

        rules = load_registry()
    config = repo.config
    phase = options.phase or config.phase or DEFAULT_PHASE
    strict = options.strict or config.strict
    selected = _selected_codes(rules, options, repo)
    if not selected:
        raise ConfigError(
            "no rule selected: select, extend-select and ignore (in the configuration and"
            ' on the command line) leave nothing to run; select = ["ALL"] runs every rule'
        )
    budget = options.time_budget if options.time_budget is not None else config.time_budget
    deadline = time.monotonic() + budget if budget > 0 else None
    from crisp_lint.engine_rules import COLLECTORS, NOT_ADOPTED, OUT_OF_TIME

    # GEN006 judges whether there is a CRISP-ML layer at all; ignoring it (or a rule set
    # without it) judges the phases whatever the repository holds.
    adopted = NOT_ADOPTED not in selected or has_crisp_ml_layer(repo)

    ran: list[str] = []
    skipped: dict[str, str] = {}
    cut_short: list[str] = []
    findings: list[Finding] = []
    # Every decision up to "it runs" takes only the code and its phase, so a rule that does
    # not run is never looked up, and its module (see crisp_lint.registry) never imported.
    for code in _run_order(selected):
        if (
            deadline is not None
            and code not in COLLECTORS
            and (cut_short or time.monotonic() > deadline)
        ):
            cut_short.append(code)
            skipped[code] = f"the time budget of {budget:g} s ran out"
            continue
        rule_phase = _phase(rules, code)
        if not adopted and rule_phase is not Phase.GENERAL:
            skipped[code] = NOT_A_PROJECT
            continue
        if not judged(rule_phase, phase, all_phases=options.all_phases):
            skipped[code] = f"a later phase than {phase.value} (use --all-phases)"
            continue
        rule = rules[code]
        severity = _severity(rule, phase, strict=strict)
        if rule.needs is not None and rule.needs not in options.needs:
            skipped[code] = f"needs {rule.needs} (use --with {rule.needs})"
            continue
        ran.append(code)
        for problem in _run(rule, repo):
            path = _normalise(problem.path)
            if config.exclude and repo.is_excluded(path):
                continue
            message = _printable(problem.message)
            findings.append(
                Finding(_printable(path), problem.line, rule.code, message, rule.phase, severity)
            )
    if not adopted:
        findings.append(_not_adopted(rules[NOT_ADOPTED]))
    if cut_short and OUT_OF_TIME in rules:
        findings.append(_out_of_time(rules[OUT_OF_TIME], cut_short, budget, repo))
    findings.sort(key=lambda f: f.sort_key)
    for code in _codes(rules):
        if code not in ran and code not in skipped:
            skipped[code] = NOT_SELECTED
    return Report(
        phase=phase,
        phase_declared=(options.phase or config.phase) is not None,
        findings=findings,
        rules=rules,
        ran=tuple(ran),
        skipped=skipped,
        adopted=adopted,
    )


def has_crisp_ml_layer(repo: RepoView) -> bool:
    """Whether ``repo`` has adopted CRISP-ML: any one of a phase checklist
    (``phases/NN-<phase>/CHECKLIST.md``), the success criteria of phase 1, or a ``phase``
    declared in [tool.crisp-lint]. A few stat calls: nothing is listed or parsed."""
    if repo.config.phase is not None:
        return True
    return repo.is_file(SUCCESS_CRITERIA) or any(
        repo.is_file(f"{phase.folder}/{CHECKLIST}") for phase in LIFECYCLE
    )


def _not_adopted(rule: Rule) -> Finding:
    return Finding(
        ".",
        None,
        rule.code,
        "not a CRISP-ML project: no phases/ folder with checklists, no"
        f" {SUCCESS_CRITERIA} and no `phase` in [tool.crisp-lint]; run `crisp-ml adopt` to"
        " add the CRISP-ML layer (phase folders, checklists, success criteria) without"
        " touching your files",
        rule.phase,
        rule.severity,
    )


def _out_of_time(rule: Rule, cut_short: list[str], budget: float, repo: RepoView) -> Finding:
    """The one finding that names the rules a spent time budget skipped."""
    shown = ", ".join(cut_short[:20]) + (
        f" and {len(cut_short) - 20} more" if len(cut_short) > 20 else ""
    )
    return Finding(
        repo.config.source or ".",
        None,
        rule.code,
        f"the time budget of {budget:g} s ran out; {len(cut_short)} rule(s) did not run: {shown}"
        " (raise `time-budget` in [tool.crisp-lint] or pass --time-budget 0 for no limit)",
        rule.phase,
        rule.severity,
    )


def grade(rule: Rule, current: Phase, *, strict: bool, all_phases: bool) -> Severity | None:
    """The severity of ``rule``'s findings in phase ``current``; None when it is not judged."""
    if not judged(rule.phase, current, all_phases=all_phases):
        return None
    return _severity(rule, current, strict=strict)


def judged(rule_phase: Phase, current: Phase, *, all_phases: bool) -> bool:
    """Whether rules of ``rule_phase`` run in phase ``current``: all but later phases'."""
    if rule_phase is Phase.GENERAL or all_phases:
        return True
    return LIFECYCLE.index(rule_phase) <= LIFECYCLE.index(current)


def _severity(rule: Rule, current: Phase, *, strict: bool) -> Severity:
    """The severity of a judged rule's findings (see the table at the top)."""
    if rule.phase is Phase.GENERAL:
        return rule.severity
    distance = LIFECYCLE.index(rule.phase) - LIFECYCLE.index(current)
    if distance < 0:
        return Severity.ERROR
    if distance == 0:
        return Severity.ERROR if strict else Severity.WARNING
    return Severity.INFO


def _selected_codes(rules: Mapping[str, Rule], options: Options, repo: RepoView) -> list[str]:
    """The codes that the selectors select, in ``rules``' order; looks no rule up."""
    config = repo.config
    codes = _codes(rules)
    known = set(codes)
    where = config.source or "configuration"
    for selectors, origin in (
        (config.select or (), f"{where}: select"),
        (config.extend_select, f"{where}: extend-select"),
        (config.ignore_selectors, f"{where}: ignore"),
        (options.select or (), "--select"),
        (options.extend_select, "--extend-select"),
        (options.ignore, "--ignore"),
    ):
        check_selectors(selectors, known, origin)
    select = options.select if options.select is not None else config.select
    extend = (*config.extend_select, *options.extend_select)
    ignore = (*config.ignore_selectors, *options.ignore)
    if options.needs:  # which inputs a rule may need is known only by looking at every rule
        needs_known = {r.needs for r in rules.values() if r.needs}
        unknown = sorted(options.needs - needs_known)
        if unknown:
            raise ConfigError(
                f"--with: unknown input `{unknown[0]}` "
                f"(known: {', '.join(sorted(needs_known)) or 'none'})"
            )
    return [code for code in codes if is_selected(code, select, extend, ignore)]


def _codes(rules: Mapping[str, Rule]) -> list[str]:
    """The codes of ``rules`` in order, without importing a lazily loaded rule module."""
    return rules.codes() if isinstance(rules, Rules) else list(rules)


def _phase(rules: Mapping[str, Rule], code: str) -> Phase:
    """The phase of rule ``code``, without importing a lazily loaded rule module."""
    return rules.phase(code) if isinstance(rules, Rules) else rules[code].phase


def _run_order(codes: list[str]) -> list[str]:
    """The engine's collector rules last: they report what the others ran into."""
    from crisp_lint.engine_rules import COLLECTORS

    return sorted(codes, key=lambda code: code in COLLECTORS)


def _run(rule: Rule, repo: RepoView) -> list[Problem]:
    """The rule's problems; a crash becomes a GEN003 finding instead of ending the run."""
    from crisp_lint.engine_rules import INTERNAL_ERROR

    try:
        return list(rule.check(repo))
    except Exception as error:
        repo.record(
            INTERNAL_ERROR,
            ".",
            f"internal error in rule {rule.code}: {type(error).__name__}: {error}",
        )
        return []


def _printable(text: str) -> str:
    """``text`` as valid Unicode that every output can encode.

    git lists a file name that is not UTF-8 with surrogate escapes (so the name still opens
    the file), which no encoder accepts: its bad bytes are shown as ``\\xNN`` instead.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no escape produced
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _normalise(path: str) -> str:
    path = path.replace("\\", "/").removeprefix("./")
    return path or "."
