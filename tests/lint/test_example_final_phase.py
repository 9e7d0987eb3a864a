"""End to end: crisp-lint on a project generated from this checkout's template.

- A fresh project passes at its declared first phase: only warnings, exit 0.
- Declaring the next phase on that fresh project fails and lists what phase 1 still lacks.
- The runnable example, after `dvc repro` and once a team has written every document and
  signed off every checklist item, passes at the final phase with `--strict`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crisp_lint.checklist import parse_checklist
from crisp_lint.model import LIFECYCLE, Phase

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
IDENTITY = {
    "GIT_AUTHOR_NAME": "crisp-lint tests",
    "GIT_AUTHOR_EMAIL": "tests@crisp-lint.invalid",
    "GIT_COMMITTER_NAME": "crisp-lint tests",
    "GIT_COMMITTER_EMAIL": "tests@crisp-lint.invalid",
}
QUIET_TOOLS = {"DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
REVIEWER, REVIEWED_ON = "e2e-reviewer", "2026-11-26"
WRITTEN = "Written and reviewed by the team."
PHASE_LINE = re.compile(r'^phase = "[a-z-]+"$', re.MULTILINE)


def environment(root: Path) -> dict[str, str]:
    """This interpreter's tools first on PATH, the project's package importable, no telemetry."""
    tools = str(Path(sys.executable).parent)
    return {
        **os.environ,
        **IDENTITY,
        **QUIET_TOOLS,
        "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(root / "src"),
    }


def run(args: list[str], root: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=root,
        env=environment(root),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def must(args: list[str], root: Path, timeout: float = 120) -> str:
    done = run(args, root, timeout)
    assert done.returncode == 0, (
        f"`{' '.join(args)}` exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def crisp_lint(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "crisp_lint", str(root), *args], root)


def template_snapshot(destination: Path) -> Path:
    """The questionnaire and template as git sees the work tree (uncommitted edits included),
    in a folder without git, so Copier renders exactly what this checkout holds."""
    command = ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--"]
    listing = subprocess.run(
        [*command, "copier.yml", "template"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=30,
    )
    for name in filter(None, listing.stdout.decode().split("\0")):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def generate(tmp_path: Path) -> Path:
    import copier

    source = template_snapshot(tmp_path / "template")
    root = tmp_path / "project"
    copier.run_copy(str(source), root, defaults=True, quiet=True, unsafe=False)
    must(["git", "init", "-q", "-b", "main"], root)
    commit(root, "generated")
    return root


def commit(root: Path, message: str) -> None:
    must(["git", "add", "-A"], root)
    must(["git", "commit", "-q", "--allow-empty", "-m", message], root)


def declare_phase(root: Path, phase: Phase) -> None:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert PHASE_LINE.search(text), "the generated pyproject.toml declares no phase"
    pyproject.write_text(PHASE_LINE.sub(f'phase = "{phase.value}"', text), encoding="utf-8")


@pytest.fixture(scope="module")
def fresh_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("fresh"))


def test_a_fresh_project_passes_at_its_first_phase(fresh_project: Path) -> None:
    done = crisp_lint(fresh_project, "--output-format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["phase"] == "business-understanding"
    assert [f for f in report["findings"] if f["severity"] == "error"] == []
    # The current phase is a to-do list: its open items are there, as warnings.
    assert {f["code"] for f in report["findings"]} >= {"BU103"}


def test_declaring_the_next_phase_on_a_fresh_project_fails_listing_what_is_missing(
    fresh_project: Path, tmp_path: Path
) -> None:
    project = tmp_path / "moved-on"
    shutil.copytree(fresh_project, project, symlinks=True)
    declare_phase(project, Phase.LITERATURE_REVIEW)
    done = crisp_lint(project)
    assert done.returncode == 1
    assert "phase business-understanding is not clean" in done.stdout
    assert "phases/01-business-understanding/CHECKLIST.md" in done.stdout
    assert "step 1.1 (Define business objectives) is still open" in done.stdout
    assert "BU004 [error]" in done.stdout  # the business objectives are still a placeholder


# -- the example at the final phase -------------------------------------------------------------


def write_like_a_team(root: Path) -> None:
    """Replace every placeholder in the phase documents with the team's own words."""
    for path in sorted((root / "phases").rglob("*")):
        if path.is_file() and path.suffix in (".md", ".yaml", ".yml"):
            text = path.read_text(encoding="utf-8")
            path.write_text(text.replace("TODO(crisp)", WRITTEN), encoding="utf-8")
    # Tables whose rows a placeholder marked as still to be written.
    methods = root / "phases/02-literature-review/chosen-methods.md"
    methods.write_text(
        "# Chosen methods\n\n"
        "| Method | Role | Reason for choosing |\n"
        "|--------|------|---------------------|\n"
        "| Majority class | baseline | the floor every model must beat |\n"
        "| Random forest | first candidate | strong on small tabular data, little tuning |\n",
        encoding="utf-8",
    )
    gate = json.loads((root / "reports/evaluation/gate.json").read_text(encoding="utf-8"))
    decision = root / "phases/06-evaluation/deploy-decision.md"
    text = decision.read_text(encoding="utf-8")
    text = re.sub(
        r"^\| Gate decision \|[^\n]*$", f"| Gate decision | {gate['decision']} |", text, flags=re.M
    )
    decision.write_text(text, encoding="utf-8")


def sign_off_every_checklist(root: Path) -> None:
    for phase in LIFECYCLE:
        path = root / phase.folder / "CHECKLIST.md"
        text = path.read_text(encoding="utf-8")
        checklist = parse_checklist(text, f"{phase.folder}/CHECKLIST.md")
        assert checklist.errors == [], checklist.errors
        lines = text.splitlines()
        for row in checklist.rows:
            step = row.step.replace("|", "\\|")
            lines[row.line - 1] = (
                f"| {row.id} | {step} | done | {', '.join(row.evidence)} | {REVIEWER}"
                f" | {REVIEWED_ON} | |"
            )
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_example_passes_strictly_at_the_final_phase(tmp_path: Path) -> None:
    root = generate(tmp_path)
    must(["dvc", "repro"], root, timeout=600)
    commit(root, "dvc repro: every stage run, dvc.lock and small reports committed")

    write_like_a_team(root)
    sign_off_every_checklist(root)
    declare_phase(root, Phase.MONITORING)
    commit(root, "every phase done and signed off")

    done = crisp_lint(root, "--strict")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(crisp_lint(root, "--strict", "--output-format", "json").stdout)
    assert report["phase"] == "monitoring"
    assert report["findings"] == []
