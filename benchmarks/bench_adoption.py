"""Adoption, measured on the stand-in repositories the adoption tests build.

For each stand-in (a cookiecutter-data-science project, a DVC repository in DVC's own
conventions, an MLflow-only repository) and for a freshly generated project: crisp-lint's
findings before and after `crisp-ml adopt --yes`, the files adoption added, the team's files
it changed (must be 0; an existing pyproject.toml only grows by an appended [tool.crisp-lint]
table), the ML Test Score after adoption, and crisp-lint's time as a ratio of repo-review's,
measured side by side (interleaved repetitions, median of the children's CPU time).

    python benchmarks/bench_adoption.py [--repeats 5] [--project PATH]

``--project`` adds a generated project (after `make repro`, say) to the table.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TIMEOUT = 300
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "crisp-ml bench",
    "GIT_AUTHOR_EMAIL": "bench@crisp-ml.invalid",
    "GIT_COMMITTER_NAME": "crisp-ml bench",
    "GIT_COMMITTER_EMAIL": "bench@crisp-ml.invalid",
    "DVC_NO_ANALYTICS": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
}


def stand_ins() -> dict[str, Callable[[Path], Path]]:
    """The adoption tests' builders: one definition of each shape, here and there."""
    sys.path[:0] = [str(REPO_ROOT / "tests" / "adopt"), str(REPO_ROOT / "tests" / "template")]
    import test_adopt

    return test_adopt.STAND_INS


def run(args: list[str], cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=TIMEOUT, check=check
    )


def findings(root: Path) -> int:
    done = run([str(BIN / "crisp-lint"), "--output-format", "json", "."], root)
    return len(json.loads(done.stdout)["findings"])


def ml_test_score(root: Path) -> dict[str, float]:
    done = run(
        [str(BIN / "crisp-lint"), "--report", "ml-test-score", "--output-format", "json", "."],
        root,
    )
    report = json.loads(done.stdout)
    scores = {section["id"]: section["score"] for section in report["sections"]}
    return {**scores, "final": report["final_score"]}


def tree_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def cpu_seconds(args: list[str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run(args, cwd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def lint_ratio(root: Path, repeats: int) -> tuple[float, float, float]:
    """(crisp-lint CPU s, repo-review CPU s, their ratio), interleaved, medians."""
    tools = {
        "crisp-lint": [str(BIN / "crisp-lint"), "."],
        "repo-review": [str(BIN / "repo-review"), "."],
    }
    samples: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(repeats):
        for name, args in tools.items():
            samples[name].append(cpu_seconds(args, root))
    crisp, review = (statistics.median(samples[name]) for name in tools)
    return crisp, review, crisp / review


def adopt_one(name: str, build: Callable[[Path], Path], scratch: Path, repeats: int) -> dict:
    root = build(scratch / name)
    before_findings, before = findings(root), tree_hashes(root)
    run([str(BIN / "crisp-ml"), "adopt", "--yes", "--template", str(REPO_ROOT), "."], root, True)
    after = tree_hashes(root)
    changed = sorted(path for path in before if after.get(path) != before[path])
    grown = [p for p in changed if p == "pyproject.toml" and after[p] != before[p]]
    crisp, review, ratio = lint_ratio(root, repeats)
    return {
        "repository": name,
        "findings_before": before_findings,
        "findings_after": findings(root),
        "files_added": len(set(after) - set(before)),
        "team_files_changed": len([p for p in changed if p not in grown]),
        "ml_test_score": ml_test_score(root),
        "crisp_lint_s": crisp,
        "repo_review_s": review,
        "ratio": ratio,
    }


def project_row(root: Path, repeats: int) -> dict:
    crisp, review, ratio = lint_ratio(root, repeats)
    return {
        "repository": f"generated ({root.name})",
        "findings_before": None,
        "findings_after": findings(root),
        "files_added": None,
        "team_files_changed": None,
        "ml_test_score": ml_test_score(root),
        "crisp_lint_s": crisp,
        "repo_review_s": review,
        "ratio": ratio,
    }


def table(rows: list[dict]) -> str:
    head = (
        "| repository | findings before | after | files added | team files changed |"
        " ML Test Score (data/model/infra/monitor: final) | crisp-lint / repo-review (CPU) |\n"
        "|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for row in rows:
        score = row["ml_test_score"]
        sections = "/".join(f"{v:g}" for k, v in score.items() if k != "final")
        lines.append(
            f"| {row['repository']} | {dash(row['findings_before'])} | {row['findings_after']} |"
            f" {dash(row['files_added'])} | {dash(row['team_files_changed'])} |"
            f" {sections}: {score['final']:g} |"
            f" {row['crisp_lint_s']:.3f} s / {row['repo_review_s']:.3f} s = {row['ratio']:.2f}x |"
        )
    return "\n".join(lines)


def dash(value: object) -> str:
    return "-" if value is None else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--project", type=Path, action="append", default=[])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-adoption-") as scratch:
        for name, build in stand_ins().items():
            rows.append(adopt_one(name, build, Path(scratch), args.repeats))
    rows += [project_row(project.resolve(), args.repeats) for project in args.project]
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
