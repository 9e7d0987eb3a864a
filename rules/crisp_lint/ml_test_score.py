"""The ML Test Score of a repository (Breck et al., 2017, "The ML Test Score: A Rubric for
ML Production Readiness and Technical Debt Reduction"), from what crisp-lint already knows.

The rubric has 28 tests in four sections of seven. A test scores 0.5 when it is done by hand
with its results documented, 1 when a system runs it automatically and repeatedly; a
section's score is the sum of its tests, and the final score is the lowest section's, so a
project cannot make up for missing monitoring with more data tests.

How crisp-lint decides, per test (the table TESTS says what each one needs):

1. a test crisp-lint cannot see at all scores 0, "not observable by crisp-lint";
2. any finding of a rule that backs the test, or a backing rule that did not run, is 0:
   the report never credits what it did not check (a rule that needs an input not given,
   ``--with git-history``, is listed as unchecked instead, as it is optional evidence);
3. an automation signal (a DVC stage that CI reproduces, a CI step, tests CI runs, a
   scheduled workflow...) is 1;
4. every checklist step the test names marked ``done`` (crisp-lint has already checked its
   evidence and sign-off) is 0.5;
5. otherwise 0.

Only the standard library and crisp-lint's own readers: it runs inside ``crisp-lint``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from crisp_lint.model import LIFECYCLE, Finding, Phase

if TYPE_CHECKING:
    from crisp_lint.engine import Report
    from crisp_lint.repo import RepoView

NOT_OBSERVABLE = "not observable by crisp-lint"
MANUAL_POINTS, AUTOMATED_POINTS = 0.5, 1.0
TESTS_PER_SECTION = 7


class How(StrEnum):
    AUTOMATED = "automated"
    MANUAL = "manual"
    NONE = "none"  # observable, but not met
    NOT_OBSERVABLE = "not observable"


class Section(StrEnum):
    DATA = "data"
    MODEL = "model"
    INFRASTRUCTURE = "infrastructure"
    MONITORING = "monitoring"

    @property
    def title(self) -> str:
        return SECTION_TITLES[self]

    @property
    def label(self) -> str:
        """The paper's prefix of a test number: Data 1, Model 1, Infra 1, Monitor 1."""
        return SECTION_LABELS[self]


SECTION_TITLES = {
    Section.DATA: "Tests for features and data",
    Section.MODEL: "Tests for model development",
    Section.INFRASTRUCTURE: "Tests for ML infrastructure",
    Section.MONITORING: "Monitoring tests for ML",
}
SECTION_LABELS = {
    Section.DATA: "Data",
    Section.MODEL: "Model",
    Section.INFRASTRUCTURE: "Infra",
    Section.MONITORING: "Monitor",
}


class Signal(StrEnum):
    """Kinds of evidence that a test runs automatically (see :func:`_automation`)."""

    STAGE = "stage"  # a dvc.yaml stage of this role, and a CI job that runs `dvc repro`
    CI = "ci"  # a CI job whose commands contain this text
    TESTS = "tests"  # a test file whose name holds this word, and a CI job that runs pytest
    SCHEDULE = "schedule"  # a scheduled GitHub workflow that runs `dvc repro`
    FILE = "file"  # this file is in the repository (e.g. a Dependabot configuration)
    LINT = "lint"  # crisp-lint itself runs in CI or as a pre-commit hook


@dataclass(frozen=True)
class Probe:
    signal: Signal
    arg: str = ""

    def describe(self) -> str:
        """The probe in words, for the rule reference."""
        return {
            Signal.STAGE: f"a dvc.yaml stage in the `{self.arg}` role that CI reproduces"
            " (`dvc repro`)",
            Signal.CI: f"a CI job that runs `{self.arg}`",
            Signal.TESTS: f"a test file named for `{self.arg}` that CI runs (pytest)",
            Signal.SCHEDULE: "a scheduled workflow that runs `dvc repro`",
            Signal.FILE: f"`{self.arg}` exists",
            Signal.LINT: "crisp-lint runs in CI or as a pre-commit hook",
        }[self.signal]


@dataclass(frozen=True)
class MLTest:
    """One of the 28 tests, and what in a repository shows it is met."""

    section: Section
    number: int
    title: str
    rules: tuple[str, ...] = ()  # crisp-lint rules whose passing the test needs
    steps: tuple[str, ...] = ()  # CRISP-ML checklist steps that document it done by hand
    automated_by: tuple[Probe, ...] = ()  # any one of these makes it automated
    observable: bool = True
    note: str = ""  # why this mapping, or why crisp-lint cannot see the test

    @property
    def id(self) -> str:
        return f"{self.section.value}-{self.number}"

    @property
    def label(self) -> str:
        return f"{self.section.label} {self.number}"


def _stage(role: str) -> Probe:
    return Probe(Signal.STAGE, role)


CREDENTIAL_RULES = ("GEN011", "GEN012", "GEN013", "GEN020", "GEN021", "GEN022", "GEN023")

# The rubric, test by test. Titles are the paper's (Tables I-IV, Monitor 2 as its heading).
TESTS: tuple[MLTest, ...] = (
    MLTest(
        Section.DATA, 1, "Feature expectations are captured in a schema",
        rules=("DU001", "DU003", "DU008"), steps=("3.2", "3.4"),
        automated_by=(_stage("validate"),),
        note="the data catalog's columns (the one schema) and the validate stage's checks",
    ),
    MLTest(
        Section.DATA, 2, "All features are beneficial",
        rules=("DP001", "EV007"), steps=("4.1", "6.3"), automated_by=(_stage("evaluate"),),
        note="feature selection is logged; the evaluate stage measures each feature's"
        " permutation importance",
    ),
    MLTest(
        Section.DATA, 3, "No feature's cost is too much", observable=False,
        note="the latency and memory each feature costs are measured nowhere crisp-lint reads",
    ),
    MLTest(
        Section.DATA, 4, "Features adhere to meta-level requirements",
        rules=("DP001",), steps=("4.1",),
        note="the reviewed feature selection of the preparation log; no automatic check of"
        " forbidden features",
    ),
    MLTest(
        Section.DATA, 5, "The data pipeline has appropriate privacy controls",
        rules=("DU002", *CREDENTIAL_RULES), steps=("3.1",), automated_by=(Probe(Signal.LINT),),
        note="data stays out of git and credentials out of tracked files; the data sources"
        " notes record access restrictions",
    ),
    MLTest(
        Section.DATA, 6, "New features can be added quickly", observable=False,
        note="the calendar time to add a feature is not in the repository",
    ),
    MLTest(
        Section.DATA, 7, "All input feature code is tested",
        automated_by=tuple(
            Probe(Signal.TESTS, word)
            for word in ("ingest", "validate", "prepare", "feature", "stages")
        ),
        note="tests of the ingest, validate and prepare code that CI runs",
    ),
    MLTest(
        Section.MODEL, 1, "Model specs are reviewed and submitted",
        rules=("MO009", "MO107", "MO109"), steps=("5.1", "5.5"),
        note="the model is trained from committed code and its steps are signed off by a"
        " reviewer; enforced code review (branch protection) is not visible",
    ),
    MLTest(
        Section.MODEL, 2, "Offline and online metrics correlate",
        rules=("DE005",), steps=("7.1",),
        note="the model evaluated once more in production conditions, by hand",
    ),
    MLTest(
        Section.MODEL, 3, "All hyperparameters have been tuned",
        rules=("MO001", "MO006"), steps=("5.5",),
        note="trials are tracked and documented; no tuning sweep is recognised",
    ),
    MLTest(
        Section.MODEL, 4, "The impact of model staleness is known",
        rules=("MN002",), steps=("8.3",),
        note="the retraining policy says when a model is too old",
    ),
    MLTest(
        Section.MODEL, 5, "A simpler model is not better",
        rules=("MO003", "MO005", "EV006"), steps=("5.3",),
        automated_by=(_stage("baseline"),),
        note="a baseline stage, and a gate that requires beating it",
    ),
    MLTest(
        Section.MODEL, 6, "Model quality is sufficient on important data slices",
        rules=("EV004", "EV007"), steps=("6.2",), automated_by=(_stage("evaluate"),),
        note="the robustness report scores the success metric per slice and under noise",
    ),
    MLTest(
        Section.MODEL, 7, "The model is tested for considerations of inclusion",
        rules=("EV002",), steps=("6.5",),
        note="the model card's fairness section, reviewed by hand",
    ),
    MLTest(
        Section.INFRASTRUCTURE, 1, "Training is reproducible",
        rules=("DU002", "DU004", "DP002", "DP003", "DP004", "MO008", "MO009"),
        steps=("4.9", "5.1"), automated_by=(Probe(Signal.CI, "dvc repro"),),
        note="DVC versions data, seeded split and dvc.lock; CI reruns the pipeline",
    ),
    MLTest(
        Section.INFRASTRUCTURE, 2, "Model specs are unit tested",
        automated_by=tuple(Probe(Signal.TESTS, word) for word in ("model", "train", "stages")),
        note="tests of the model and training code that CI runs",
    ),
    MLTest(
        Section.INFRASTRUCTURE, 3, "The ML pipeline is integration tested",
        rules=("GEN025", "MO008"), automated_by=(Probe(Signal.CI, "dvc repro"),),
        note="CI reproduces the whole DVC pipeline end to end",
    ),
    MLTest(
        Section.INFRASTRUCTURE, 4, "Model quality is validated before attempting to serve it",
        rules=("EV006", "EV008", "EV009", "DE004"), steps=("6.1", "6.4"),
        automated_by=(Probe(Signal.CI, "gate_check"),),
        note="the evaluation gate on the success criteria, which promotion in CI depends on",
    ),
    MLTest(
        Section.INFRASTRUCTURE, 5, "The model is debuggable",
        rules=("EV005", "MO006"), steps=("6.3",),
        note="runs traceable to code and data, predictions explained; no debugging tool is"
        " recognised, so at most manual",
    ),
    MLTest(
        Section.INFRASTRUCTURE, 6, "Models are canaried before serving",
        rules=("DE001", "DE003"), steps=("7.3",),
        note="a configured rollout strategy (A/B, bandit, shadow, canary) the router supports;"
        " the serving system itself is not visible",
    ),
    MLTest(
        Section.INFRASTRUCTURE, 7, "Serving models can be rolled back",
        rules=("DE002", "DE007", "DE009", "MO008", "DU004"), steps=("7.5",),
        note="every model version is pinned by dvc.lock and pullable from the DVC remote;"
        " serving follows registry aliases, so a rollback is an alias change, audited in"
        " promotions.jsonl; the governance procedure says how",
    ),
    MLTest(
        Section.MONITORING, 1, "Dependency changes result in notification",
        rules=("GEN016",),
        automated_by=(
            Probe(Signal.FILE, ".github/dependabot.yml"),
            Probe(Signal.FILE, ".github/dependabot.yaml"),
            Probe(Signal.FILE, "renovate.json"),
            Probe(Signal.FILE, ".github/renovate.json"),
        ),
        note="Dependabot or Renovate announces dependency updates; GEN016 an outdated"
        " template",
    ),
    MLTest(
        Section.MONITORING, 2, "Data invariants hold in training and serving inputs",
        rules=("DU003", "DU008", "DE008", "MN005", "MN006", "MN007"), steps=("3.2", "8.1"),
        automated_by=(_stage("monitor"),),
        note="validation of the training data, of each request against the catalog's"
        " schema, and drift tests of each logged feature against it, kept in the history",
    ),
    MLTest(
        Section.MONITORING, 3, "Training and serving are not skewed", observable=False,
        note="whether serving computes features as training did needs the serving code path",
    ),
    MLTest(
        Section.MONITORING, 4, "Models are not too stale",
        rules=("MN002", "MN005"), steps=("8.3",), automated_by=(Probe(Signal.SCHEDULE),),
        note="the retraining trigger, run on a schedule",
    ),
    MLTest(
        Section.MONITORING, 5, "Models are numerically stable", observable=False,
        note="NaNs and infinities during training are not recorded where crisp-lint reads",
    ),
    MLTest(
        Section.MONITORING, 6, "Computing performance has not regressed", observable=False,
        note="training speed, serving latency, throughput and memory are not measured",
    ),
    MLTest(
        Section.MONITORING, 7, "Prediction quality has not regressed",
        rules=("MN001", "MN004", "MN005", "MN009"), steps=("8.1", "8.2"),
        automated_by=(_stage("monitor"),),
        note="the monitor stage scores served predictions against the success criteria",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Result:
    test: MLTest
    score: float
    how: How
    reason: str
    evidence: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()  # backing rules that need an input not given


@dataclass(frozen=True)
class SectionResult:
    section: Section
    results: tuple[Result, ...]

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)


@dataclass(frozen=True)
class Score:
    sections: tuple[SectionResult, ...]
    adopted: bool = True
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def final(self) -> float:
        """The lowest section's score: the rubric's final ML Test Score."""
        return min(s.score for s in self.sections)

    @property
    def results(self) -> tuple[Result, ...]:
        return tuple(r for s in self.sections for r in s.results)


def score(report: Report, repo: RepoView) -> Score:
    """The ML Test Score of ``repo``, from ``report``: a lint of it with every phase judged."""
    facts = _Facts(repo)
    results = [_judge(test, report, repo, facts) for test in TESTS]
    sections = tuple(
        SectionResult(section, tuple(r for r in results if r.test.section is section))
        for section in Section
    )
    return Score(sections, adopted=report.adopted, skipped=dict(report.skipped))


def all_phases() -> Phase:
    """The phase to lint as, so that every phase is judged: the last one."""
    return LIFECYCLE[-1]


def _judge(test: MLTest, report: Report, repo: RepoView, facts: _Facts) -> Result:
    if not test.observable:
        return Result(test, 0.0, How.NOT_OBSERVABLE, f"{NOT_OBSERVABLE}: {test.note}")
    failing = [f for f in report.findings if f.code in test.rules]
    if failing:  # evidence is what shows a test met; the reason says where it fails
        return Result(test, 0.0, How.NONE, _failing(failing))
    not_run, unchecked = _not_run(test, report)
    if not_run:
        return Result(test, 0.0, How.NONE, "not checked: " + "; ".join(not_run))
    automated = [e for probe in test.automated_by for e in facts.evidence(probe)]
    if automated:
        return Result(
            test, AUTOMATED_POINTS, How.AUTOMATED, _passing(test, "runs automatically"),
            tuple(dict.fromkeys(automated)), unchecked,
        )  # fmt: skip
    rows, open_steps = _steps(test, repo)
    if test.steps and not open_steps:
        evidence = tuple(dict.fromkeys(p for row in rows for p in row))
        reason = _passing(test, f"step(s) {', '.join(test.steps)} done by hand")
        return Result(test, MANUAL_POINTS, How.MANUAL, reason, evidence, unchecked)
    return Result(test, 0.0, How.NONE, _unmet(test, open_steps), (), unchecked)


def _failing(findings: list[Finding]) -> str:
    first = findings[0]
    where = first.path if first.line is None else f"{first.path}:{first.line}"
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    return f"{first.code} fails: {where}: {first.message}{more}"


def _not_run(test: MLTest, report: Report) -> tuple[list[str], tuple[str, ...]]:
    """Backing rules that did not run: blocking ones (with why), and optional ones that
    need an input the user did not give (``--with``)."""
    blocking: list[str] = []
    optional: list[str] = []
    for code in test.rules:
        if code in report.ran:
            continue
        rule = report.rules.get(code)
        if rule is not None and rule.needs is not None:
            optional.append(code)
            continue
        why = report.skipped.get(code, "unknown rule")
        blocking.append(f"{code} did not run ({why})")
    return blocking, tuple(optional)


def _steps(test: MLTest, repo: RepoView) -> tuple[list[list[str]], list[str]]:
    """The evidence of each named checklist step that is done, and the steps that are not."""
    rows = {}
    for phase in LIFECYCLE:
        checklist = repo.checklist(phase)
        for row in checklist.rows if checklist else ():
            rows.setdefault(row.id, row)
    done, not_done = [], []
    for step in test.steps:
        row = rows.get(step)
        if row is not None and row.status == "done":
            done.append(row.evidence)
        else:
            not_done.append(step if row is None else f"{step} is {row.status}")
    return done, not_done


def _passing(test: MLTest, how: str) -> str:
    checked = f"{', '.join(test.rules)} pass" if test.rules else "no crisp-lint rule backs it"
    return f"{how}; {checked}"


def _unmet(test: MLTest, open_steps: list[str]) -> str:
    parts = []
    if test.automated_by:
        parts.append("no automation found (" + "; or ".join(_describe(test)) + ")")
    if open_steps:
        parts.append(f"checklist step(s) not done: {', '.join(open_steps)}")
    return "; ".join(parts) or "nothing shows it is done"


def _describe(test: MLTest) -> list[str]:
    return list(dict.fromkeys(probe.describe() for probe in test.automated_by))


class _Facts:
    """What the automation probes look at (CI jobs, stages, test files), read once."""

    def __init__(self, repo: RepoView) -> None:
        from crisp_lint.checks import _ci

        self._repo = repo
        self._jobs = _ci.jobs(repo)

    def evidence(self, probe: Probe) -> list[str]:
        """Where ``probe`` holds ("dvc.yaml: stage validate"), or nothing when it does not."""
        if probe.signal is Signal.STAGE:
            return self._stage(probe.arg)
        if probe.signal is Signal.CI:
            return self._ci(probe.arg)
        if probe.signal is Signal.TESTS:
            return self._tests(probe.arg)
        if probe.signal is Signal.SCHEDULE:
            return self._schedule()
        if probe.signal is Signal.FILE:
            return [probe.arg] if self._repo.is_file(probe.arg) else []
        return self._lint()

    def _ci(self, text: str) -> list[str]:
        return [f"{j.path} (job {j.id})" for j in self._jobs if text in j.commands]

    def _stage(self, role: str) -> list[str]:
        from crisp_lint.checks._pipeline import PIPELINE_FILE, stages_with_role

        found = stages_with_role(self._repo, role)
        ci = self._ci("dvc repro")
        if not found or not ci:
            return []
        return [f"{PIPELINE_FILE} (stage {found[0].name})", ci[0]]

    def _tests(self, word: str) -> list[str]:
        ci = self._ci("pytest")
        if not ci:
            return []
        tests = [rel for rel in self._repo.files() if word in _test_name(rel)]
        return [*tests[:3], ci[0]] if tests else []

    def _schedule(self) -> list[str]:
        scheduled = {
            rel
            for rel in self._repo.files()
            if rel.startswith(".github/workflows/") and _on_schedule(self._repo.yaml(rel))
        }
        return [e for e in self._ci("dvc repro") if e.split(" (", 1)[0] in scheduled][:1]

    def _lint(self) -> list[str]:
        found = self._ci("crisp-lint")[:1]
        hooks = ".pre-commit-config.yaml"
        if self._repo.is_file(hooks) and "crisp-lint" in (self._repo.text(hooks) or ""):
            found.append(hooks)
        return found


def _test_name(rel: str) -> str:
    """The name of a pytest test file (``test_*.py``, ``*_test.py``); "" for other files."""
    name = rel.rsplit("/", 1)[-1]
    is_test = name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))
    return name if is_test else ""


def _on_schedule(workflow: object) -> bool:
    """Whether a GitHub workflow runs on a ``schedule:`` trigger. PyYAML reads the key
    ``on`` as True (YAML 1.1), so both spellings are looked up."""
    if not isinstance(workflow, dict):
        return False
    triggers = workflow.get("on", workflow.get(True))
    return isinstance(triggers, dict) and bool(triggers.get("schedule"))
