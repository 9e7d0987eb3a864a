"""A complete, valid CRISP-ML project that each rule test breaks in one place.

``project`` is a repository at the final phase in which every rule passes: every checklist
row done with real evidence, every document written, the pipeline and its outputs in the
shapes the template produces. A test changes one thing and asks one rule what it reports,
so it reads as the specification of that rule.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from lint_helpers import GIT_IDENTITY

from crisp_lint.model import LIFECYCLE, REGISTRY, Phase, Problem
from crisp_lint.registry import load_all
from crisp_lint.repo import RepoView
from crisp_lint.workflow import steps_of

load_all()  # imports every rule module, which registers its rules in REGISTRY

BU, LR, DU, DP, MO, EV, DE, MN = LIFECYCLE
SIGNED = "ana | 2026-11-02"
DOCUMENT = "# Written by the team\n\nThe team's own text, reviewed and agreed.\n"

# Every document a rule checks, by phase; the first one of each phase is its checklist's
# evidence.
DOCUMENTS: dict[Phase, tuple[str, ...]] = {
    BU: (
        "business-objectives.md",
        "ml-objectives.md",
        "raw-data-verification.md",
        "feasibility.md",
        "poc-scope.md",
    ),
    LR: ("review-criteria.md", "landscape.md"),
    DU: ("data-sources.md", "data-quality.md"),
    DP: (),
    MO: ("modelling-plan.md", "baseline.md"),
    EV: ("evaluation-criteria.md", "model-card.md", "robustness.md", "explainability.md"),
    DE: (
        "deployment-strategy.md",
        "governance.md",
        "production-evaluation.md",
        "user-acceptance.md",
    ),
    MN: ("monitoring-plan.md", "retraining-policy.md", "labelling-procedure.md"),
}

SUCCESS_CRITERIA = "phases/01-business-understanding/success-criteria.yaml"
RAW_VERSION = "5f0c3a9e1b2d4c6e8f0a1b2c3d4e5f60.dir"
DATASET_VERSION = "0a1b2c3d4e5f60718293a4b5c6d7e8f9.dir"

PIPELINE: dict[str, Any] = {
    "stages": {
        "ingest": {"cmd": "python -m iris.ingest", "outs": ["data/raw"]},
        "validate": {
            "cmd": "python -m iris.validate",
            "deps": ["data/raw"],
            "outs": ["reports/data-quality/report.md"],
            "metrics": [{"reports/data-quality/report.json": {"cache": False}}],
        },
        "prepare": {
            "cmd": "python -m iris.prepare",
            "deps": ["data/raw"],
            "outs": ["data/prepared"],
        },
        "split": {
            "cmd": "python -m iris.split",
            "deps": ["data/prepared"],
            "params": ["split.seed"],
            "outs": ["data/split/indices.json"],
        },
        "baseline": {
            "cmd": "python -m iris.baseline",
            "deps": ["data/prepared", "data/split/indices.json"],
            "metrics": [{"reports/baseline/metrics.json": {"cache": False}}],
        },
        "train": {
            "cmd": "python -m iris.train",
            "deps": ["data/prepared", "data/split/indices.json"],
            "outs": ["models/model.joblib"],
            "metrics": [{"reports/train/metrics.json": {"cache": False}}],
        },
        "evaluate": {
            "cmd": "python -m iris.evaluate",
            "deps": ["models/model.joblib", "data/split/indices.json", SUCCESS_CRITERIA],
            "params": ["evaluate"],
            "metrics": [
                {"reports/evaluation/metrics.json": {"cache": False}},
                {"reports/evaluation/gate.json": {"cache": False}},
            ],
            "outs": [
                {"reports/evaluation/robustness.json": {"cache": False}},
                {"reports/evaluation/explainability.json": {"cache": False}},
            ],
            "plots": [{"reports/evaluation/plots/predictions.csv": {"cache": False}}],
        },
        "monitor": {
            "cmd": "python -m iris.monitor",
            "deps": ["models/model.joblib", SUCCESS_CRITERIA],
            "outs": [
                "reports/monitoring/drift.json",
                "reports/monitoring/dashboard.html",
                "reports/monitoring/retrain.json",
                # The production loop: the history the trigger reads, kept across runs.
                {"reports/monitoring/history.jsonl": {"cache": False, "persist": True}},
            ],
        },
    }
}

PARAMS: dict[str, Any] = {
    "split": {"seed": 42, "test_size": 0.2, "val_size": 0.2},
    "mlflow": {"tracking_uri": None, "experiment": "iris"},
    "evaluate": {"success_criteria": SUCCESS_CRITERIA},
    "monitor": {"success_criteria": SUCCESS_CRITERIA},
    "deploy": {"strategy": "ab", "challenger_share": 0.1},
    "serve": {"host": "127.0.0.1", "port": 8000, "prediction_log": None},
}

# The production loop's committed records (docs/production-loop.md), in the runtime's shapes.
HISTORY_ENTRY: dict[str, Any] = {
    "since": None,
    "until": "2026-11-30T12:00:00.000000Z",
    "rows": 120,
    "labelled_rows": 120,
    "violations": 0,
    "violation_examples": [],
    "quality": {
        "metric": "f1_macro",
        "direction": "maximize",
        "target": 0.95,
        "minimum": 0.9,
        "value": 0.96,
        "alert": "ok",
        "labelled_rows": 120,
    },
}
PROMOTION: dict[str, Any] = {
    "time": "2026-11-30T12:00:00.000000Z",
    "action": "champion",
    "model": "iris",
    "version": "2",
    "previous_champion": "1",
    "by": "ana",
    "reason": "won the A/B test",
}
CATALOG_COLUMNS: list[dict[str, Any]] = [
    {"name": "sample_id", "type": "integer", "role": "key", "range": [0, None]},
    {"name": "petal_length", "type": "number", "role": "feature", "range": [0, 10]},
    {"name": "colour", "type": "categorical", "allowed": ["white", "blue"], "nullable": True},
    {"name": "species", "type": "integer", "role": "target", "allowed": [0, 1, 2]},
]


def checklist(phase: Phase, evidence: str, rows: dict[str, str] | None = None) -> str:
    """A phase's CHECKLIST.md: every step done with ``evidence``; ``rows`` replace rows by id."""
    lines = [
        f"# {phase.value} checklist",
        "",
        "| ID | Step | Status | Evidence | Signed off by | Date | Notes |",
        "|----|------|--------|----------|---------------|------|-------|",
    ]
    for step in steps_of(phase):
        row = (rows or {}).get(step.id)
        lines.append(row or f"| {step.id} | {step.text} | done | {evidence} | {SIGNED} | |")
    return "\n".join(lines) + "\n"


class Project:
    """The fixture's repository, with the edits tests make and the rules they ask."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- writing ------------------------------------------------------------------------------

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")

    def write_bytes(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def write_yaml(self, rel: str, data: Any) -> None:
        self.write(rel, yaml.safe_dump(data, sort_keys=False))

    def write_json(self, rel: str, data: Any) -> None:
        self.write(rel, json.dumps(data, indent=2))

    def read_yaml(self, rel: str) -> Any:
        return yaml.safe_load((self.root / rel).read_text(encoding="utf-8"))

    def edit_yaml(self, rel: str, edit: Callable[[Any], object]) -> None:
        data = self.read_yaml(rel)
        edit(data)
        self.write_yaml(rel, data)

    def remove(self, rel: str) -> None:
        (self.root / rel).unlink()

    def replace(self, rel: str, old: str, new: str) -> None:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def set_checklist_row(self, phase: Phase, row: str) -> None:
        """Replace the row whose id starts ``row`` (``"| 1.1 | ..."``)."""
        step_id = row.split("|")[1].strip()
        rel = f"{phase.folder}/CHECKLIST.md"
        lines = (self.root / rel).read_text(encoding="utf-8").splitlines()
        index = next(i for i, line in enumerate(lines) if line.startswith(f"| {step_id} |"))
        lines[index] = row
        self.write(rel, "\n".join(lines) + "\n")

    def git(self, *args: str, author: tuple[str, str] | None = None) -> str:
        """Run git in the project; ``author`` (name, e-mail) commits as someone else."""
        identity = dict(GIT_IDENTITY)
        if author is not None:
            identity.update(GIT_AUTHOR_NAME=author[0], GIT_AUTHOR_EMAIL=author[1])
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **identity},
        )
        return done.stdout

    def track(self, *rels: str) -> None:
        """``git add -f``: track files even where .gitignore keeps them out."""
        self.git("add", "-f", *rels)

    # -- asking the rules ---------------------------------------------------------------------

    def problems(self, code: str) -> list[Problem]:
        """What rule ``code`` reports on the repository as it is now (a fresh view)."""
        return list(REGISTRY[code].check(RepoView(self.root)))

    def messages(self, code: str) -> list[str]:
        return [problem.message for problem in self.problems(code)]


def build_valid_project(root: Path) -> Project:
    project = Project(root)
    project.write(
        "pyproject.toml",
        """\
        [project]
        name = "iris"
        version = "0.1.0"

        [tool.crisp-lint]
        phase = "monitoring"
        """,
    )
    # DVC writes a .gitignore beside each cached output; one at the root stands for them.
    project.write(
        ".gitignore",
        """\
        /data/
        /models/
        /reports/monitoring/
        /reports/data-quality/report.md
        /mlflow.db
        /predictions.db*
        /predictions.spill.jsonl*
        """,
    )
    project.write(
        ".dvc/config",
        """\
        [core]
            remote = storage
            analytics = false
        ['remote "storage"']
            url = /srv/dvc-storage
        """,
    )
    project.write_yaml("dvc.yaml", PIPELINE)
    lock = {name: {"cmd": "..."} for name in PIPELINE["stages"]}
    lock["ingest"]["outs"] = [{"path": "data/raw", "md5": RAW_VERSION, "nfiles": 2}]
    lock["prepare"]["outs"] = [{"path": "data/prepared", "md5": DATASET_VERSION, "nfiles": 1}]
    project.write_yaml("dvc.lock", {"schema": "2.0", "stages": lock})
    project.write_yaml("params.yaml", PARAMS)

    for phase, documents in DOCUMENTS.items():
        for name in documents:
            project.write(f"{phase.folder}/{name}", DOCUMENT)
    project.write(
        SUCCESS_CRITERIA,
        """\
        metric: f1_macro
        direction: maximize
        target: 0.95
        minimum: 0.90
        """,
    )
    project.write(
        f"{LR.folder}/methods-comparison.md",
        """\
        # Methods comparison

        | Method | Pros | Cons |
        |--------|------|------|
        | Logistic regression | fast, interpretable | misses interactions |
        | Random forest | strong default | slower inference |
        """,
    )
    project.write(
        f"{LR.folder}/chosen-methods.md",
        """\
        # Chosen methods

        | Method | Role | Reason for choosing |
        |--------|------|---------------------|
        | Majority class | baseline | the floor every model must beat |
        | Random forest | first candidate | best trade-off in the comparison |

        ## Methods set aside

        | Method | Reason for not choosing now | Revisit if |
        |--------|-----------------------------|------------|
        | Deep tabular networks | too little data | the data grows tenfold |
        """,
    )
    project.write_yaml(
        f"{DU.folder}/data-catalog.yaml",
        {
            "sources": [
                {
                    "name": "measurements",
                    "owner": "botany lab",
                    "collection_frequency": "once",
                    "limitations": ["small and static"],
                    "reliability": {
                        "rows": "all cells present and in range",
                        "columns": "share of present cells",
                    },
                    "columns": CATALOG_COLUMNS,
                }
            ]
        },
    )
    project.write(
        f"{DP.folder}/preparation-log.md",
        "# Data preparation log\n\n"
        + "".join(
            f"## {title}\n\nDecided and explained.\n\n"
            for title in (
                "4.1 Feature selection (columns)",
                "4.2 Data sample selection (rows)",
                "4.3 Class balancing",
                "4.4 Cleaning",
                "4.5 Feature engineering",
                "4.6 Data augmentation",
                "4.7 Data standardisation",
            )
        ),
    )
    project.write(
        f"{MO.folder}/quality-measure.md",
        f"# Quality measure\n\nThe success metric is defined in `{SUCCESS_CRITERIA}`.\n",
    )
    project.write(
        f"{EV.folder}/deploy-decision.md",
        """\
        # Deployment decision

        | Field | Value |
        |-------|-------|
        | Gate decision | go |
        | Metric value | 0.96 |
        """,
    )
    evidence = {
        phase: f"{phase.folder}/{DOCUMENTS[phase][0]}" if DOCUMENTS[phase] else ""
        for phase in LIFECYCLE
    }
    evidence[DP] = f"{DP.folder}/preparation-log.md"
    for phase in LIFECYCLE:
        project.write(f"{phase.folder}/CHECKLIST.md", checklist(phase, evidence[phase]))

    project.write("src/iris/__init__.py", "")
    project.write("src/iris/tracking.py", "import mlflow\n\n\ndef start_run():\n    ...\n")
    project.write(
        "src/iris/train.py",
        """\
        from .datasets import load_split
        from .tracking import start_run

        split = load_split()
        train, val = split["train"], split["val"]
        """,
    )
    project.write("src/iris/baseline.py", 'split = {}\ntrain = split["train"]\n')
    project.write("src/iris/router.py", 'STRATEGIES = ("ab", "bandit", "shadow", "canary")\n')
    project.write_yaml(
        ".github/workflows/retrain.yml",
        {
            "on": {"workflow_dispatch": None},
            "jobs": {
                "evaluate": {"runs-on": "ubuntu-latest", "steps": [{"run": "dvc repro"}]},
                "promote": {
                    "needs": ["evaluate"],
                    "runs-on": "ubuntu-latest",
                    "steps": [
                        {"run": "make monitor && cat reports/monitoring/retrain.json"},
                        {"run": "echo promote"},
                    ],
                },
            },
        },
    )
    project.write_json(
        "reports/evaluation/gate.json",
        {"decision": "go", "metric": "f1_macro", "value": 0.96, "minimum": 0.9, "target": 0.95},
    )
    project.write_json("reports/evaluation/metrics.json", {"f1_macro": 0.96, "accuracy": 0.97})
    project.write("reports/evaluation/plots/predictions.csv", "actual,predicted\n1,1\n")
    project.write("reports/monitoring/history.jsonl", json.dumps(HISTORY_ENTRY) + "\n")
    project.write("reports/deployment/promotions.jsonl", json.dumps(PROMOTION) + "\n")
    project.git("init", "-q", "-b", "main", "--template=")  # no sample hooks to copy
    project.git("add", "-A")
    # `make tags` in a generated project: one annotated tag per data version.
    project.git("commit", "-q", "-m", "the project")
    for tag, path, version in (
        ("raw-v1", "data/raw", RAW_VERSION),
        ("dataset-v1", "data/prepared", DATASET_VERSION),
    ):
        project.git("tag", "--annotate", tag, "--message", f"{path} {version} (stage in dvc.lock)")
    return project
