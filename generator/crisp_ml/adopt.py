"""``crisp-ml adopt``: add the CRISP-ML layer to a repository a team already has.

Reads what is there (dvc.yaml stages, params and metrics files, ``.dvc`` files, MLflow or
DVCLive, the CI provider, a cookiecutter or cruft context), proposes a plan, and adds only
new files: the phase folders rendered from the template, the success criteria, the Copier
answers and ``[tool.crisp-lint]``. A file the team has is never rewritten; the one
exception is documented in docs/adopting.md: a pyproject.toml without a ``[tool.crisp-lint]``
table gets that table appended at its end (the team's bytes unchanged before it), because
crisp-lint reads its settings from pyproject.toml only.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml

from crisp_lint.checks._pipeline import roles_by_name

from .git import GitError, run_git
from .template_source import default_template

EXIT_FAILED = 1
EXIT_USAGE = 2
ANSWERS_FILE = ".copier-answers.yml"
CRITERIA = "phases/01-business-understanding/success-criteria.yaml"
PHASE = "business-understanding"

KNOWN_METRICS = (
    "accuracy",
    "f1_macro",
    "f1",
    "roc_auc",
    "precision_macro",
    "recall_macro",
    "rmse",
    "mae",
    "r2",
)
MINIMIZE = {"rmse", "mae"}
REGRESSION = {"rmse", "mae", "r2"}
# The template's questionnaire offers these; f1 is recorded as found but rendered as f1_macro's
# neighbour would be wrong, so it is written into success-criteria.yaml after rendering.
TEMPLATE_METRICS = set(KNOWN_METRICS) - {"f1"}

CCDS_LAYOUT = ("data/raw", "models", "notebooks")
LICENSES = {
    "mit": "MIT",
    "apache": "Apache-2.0",
    "bsd": "BSD-3-Clause",
}


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"crisp-ml adopt: {message}", err=True)
    sys.exit(code)


def stage_role(name: str) -> str | None:
    """The lifecycle role a stage plays, judged by its name; None when it cannot tell.

    The same vocabulary crisp-lint reads stage names with, so adoption and lint agree.
    """
    roles = roles_by_name(name.lower())
    return roles[0] if roles else None


@dataclass
class Inspection:
    """What the repository already has."""

    stages: dict[str, str | None] = field(default_factory=dict)  # name -> role
    stage_metrics: dict[str, list[str]] = field(default_factory=dict)
    stage_outs: dict[str, list[str]] = field(default_factory=dict)
    top_metrics: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    dvc_files: list[str] = field(default_factory=list)
    trackers: list[str] = field(default_factory=list)
    ci: str = "none"
    workflows: list[str] = field(default_factory=list)
    context: dict[str, str] = field(default_factory=dict)
    context_source: str | None = None
    metric: str | None = None
    direction: str | None = None
    metric_source: str | None = None

    def role_files(self, role: str, kind: str = "metrics") -> list[str]:
        found = self.stage_metrics if kind == "metrics" else self.stage_outs
        return [p for name, r in self.stages.items() if r == role for p in found.get(name, [])]


def _paths(entries: Any) -> list[str]:
    """Paths of a dvc.yaml outs/metrics/params list (strings or one-key mappings)."""
    paths: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str):
            paths.append(entry)
        elif isinstance(entry, dict):
            paths.extend(str(key) for key in entry)
    return paths


def tracked_files(root: Path) -> list[str]:
    done = run_git(root, "ls-files", "-co", "--exclude-standard", "-z", check=False)
    return sorted(p for p in done.stdout.split("\0") if p) if done.returncode == 0 else []


def inspect(root: Path) -> Inspection:
    seen = Inspection()
    files = tracked_files(root)
    _read_pipeline(root, seen)
    seen.dvc_files = [p for p in files if p.endswith(".dvc")]
    tracker = re.compile(r"^\s*(?:import|from)\s+(mlflow|dvclive)\b", re.MULTILINE)
    found: set[str] = set()
    for path in (p for p in files if p.endswith(".py")):
        try:
            text = (root / path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        found.update(tracker.findall(text))
    seen.trackers = sorted(found)
    workflows = root / ".github" / "workflows"
    if workflows.is_dir():
        seen.ci = "github"
        seen.workflows = sorted(
            f".github/workflows/{p.name}"
            for p in workflows.iterdir()
            if p.suffix in {".yml", ".yaml"}
        )
    elif (root / ".gitlab-ci.yml").is_file():
        seen.ci, seen.workflows = "gitlab", [".gitlab-ci.yml"]
    _read_context(root, seen)
    _read_metric(root, seen)
    return seen


def _read_pipeline(root: Path, seen: Inspection) -> None:
    try:
        pipeline = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        pipeline = None
    params: list[str] = []
    if isinstance(pipeline, dict):
        stages = pipeline.get("stages")
        for name, stage in (stages if isinstance(stages, dict) else {}).items():
            stage = stage if isinstance(stage, dict) else {}
            seen.stages[str(name)] = stage_role(str(name))
            seen.stage_metrics[str(name)] = _paths(stage.get("metrics"))
            seen.stage_outs[str(name)] = _paths(stage.get("outs"))
            for entry in stage.get("params") or []:
                if isinstance(entry, dict):
                    params.extend(str(key) for key in entry)
                elif isinstance(entry, str) and ":" in entry:
                    params.append(entry.split(":", 1)[0])
        seen.top_metrics = _paths(pipeline.get("metrics"))
        params.extend(_paths(pipeline.get("params")))
    if (root / "params.yaml").is_file():
        params.append("params.yaml")
    seen.params = sorted({p for p in params if (root / p).is_file()})


def _read_json_context(path: Path) -> dict[str, Any] | None:
    """The ``cookiecutter`` context of a .cruft.json or a replay file.

    The cookiecutter package is used when it is installed (``cookiecutter.replay.load``
    reads a replay file by template name from a replay folder, which is also the shape of a
    replay file kept in a repository). .cruft.json is plain JSON that cookiecutter has no
    reader for, and without the package the replay file is read as the same JSON with the
    standard library: both hold ``{"cookiecutter": {...}}``.
    """
    try:
        if path.name != ".cruft.json":
            from cookiecutter.replay import load  # type: ignore[import-not-found]

            data = load(str(path.parent), path.stem)
        else:
            raise ImportError
    except ImportError:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
    except Exception:  # the package refuses the file: the same as unreadable
        return None
    if isinstance(data, dict) and isinstance(data.get("context"), dict):
        data = data["context"]  # .cruft.json: {"template": ..., "context": {"cookiecutter": ...}}
    context = data.get("cookiecutter") if isinstance(data, dict) else None
    return context if isinstance(context, dict) else None


def _read_context(root: Path, seen: Inspection) -> None:
    candidates = [root / ".cruft.json"]
    replay = root / ".cookiecutter_replay"
    if replay.is_dir():
        candidates += sorted(replay.glob("*.json"))
    context: dict[str, Any] = {}
    for path in candidates:
        if path.is_file() and (found := _read_json_context(path)) is not None:
            context, seen.context_source = found, path.relative_to(root).as_posix()
            break
    ccds = all((root / p).is_dir() for p in CCDS_LAYOUT) and (
        (root / "reports").is_dir() or (root / "references").is_dir()
    )
    if seen.context_source is None and ccds:
        seen.context_source = "cookiecutter-data-science layout"
    project = _pyproject_project(root)
    authors = project.get("authors") if isinstance(project.get("authors"), list) else []
    author = authors[0] if authors and isinstance(authors[0], dict) else {}
    values = {
        "project_name": context.get("project_name") or project.get("name") or root.name,
        "author_name": context.get("author_name") or context.get("full_name") or author.get("name"),
        "author_email": context.get("email") or context.get("author_email") or author.get("email"),
        "description": context.get("description")
        or context.get("project_short_description")
        or project.get("description"),
        "license": _license(root, context.get("open_source_license") or context.get("license")),
    }
    seen.context = {
        k: str(v).strip() for k, v in values.items() if isinstance(v, str) and v.strip()
    }


def _pyproject_project(root: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    project = data.get("project")
    return project if isinstance(project, dict) else {}


def _license(root: Path, named: Any) -> str:
    text = named if isinstance(named, str) else ""
    if not text and (root / "LICENSE").is_file():
        try:
            text = (root / "LICENSE").read_text(encoding="utf-8", errors="replace")[:200]
        except OSError:
            text = ""
    for word, license_id in LICENSES.items():
        if word in text.lower():
            return license_id
    return "proprietary"  # no LICENSE the template would write; the team's stays theirs


def _read_metric(root: Path, seen: Inspection) -> None:
    files = [p for name in seen.stages for p in seen.stage_metrics.get(name, [])]
    for path in [*files, *seen.top_metrics]:
        if not path.endswith(".json"):
            continue
        try:
            data = json.loads((root / path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        seen.metric_source = path
        for name in KNOWN_METRICS:
            if isinstance(data.get(name), (int, float)):
                seen.metric = name
                seen.direction = "minimize" if name in MINIMIZE else "maximize"
                break
        return


# -- the plan ----------------------------------------------------------------------------


@dataclass
class Plan:
    root: Path
    seen: Inspection
    added: dict[str, bytes] = field(default_factory=dict)  # path -> content
    kept: list[str] = field(default_factory=list)
    append: bytes | None = None  # appended to the existing pyproject.toml
    config_note: str | None = None  # why [tool.crisp-lint] is not written

    @property
    def empty(self) -> bool:
        return not self.added and self.append is None


def answers_for(root: Path, seen: Inspection) -> dict[str, Any]:
    context = seen.context
    name = re.sub(r'["\\]', "", context.get("project_name", root.name)) or "ML Project"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    if not re.match(r"^[a-z]", slug):
        slug = f"project-{slug}".strip("-")
    package = slug.replace("-", "_")
    if package in sys.stdlib_module_names or package in {"test", "tests", "src", "crisp_ml"}:
        package = f"{package}_model"
    answers: dict[str, Any] = {
        "project_name": name,
        "project_slug": slug,
        "package_name": package,
        "license": context.get("license", "proprietary"),
        "ci_provider": seen.ci,
        "dvc_remote": "none",
        "include_example": False,
        "default_branch": _branch(root),
    }
    author = re.sub(r'["\\]', "", context.get("author_name", ""))
    if author:
        answers["author_name"] = author
    email = context.get("author_email", "")
    if re.match(r'^[^@ "]+@[^@ "]+[.][^@ "]+$', email):
        answers["author_email"] = email
    description = re.sub(r'["\\]', "", context.get("description", ""))
    if description:
        answers["description"] = description
    if seen.metric in TEMPLATE_METRICS:
        answers["ml_task"] = "regression" if seen.metric in REGRESSION else "classification"
        answers["metric"] = seen.metric
        answers["metric_direction"] = seen.direction
    return answers


def _branch(root: Path) -> str:
    done = run_git(root, "symbolic-ref", "--short", "-q", "HEAD", check=False)
    branch = done.stdout.strip()
    return branch if re.match(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", branch) else "main"


def make_plan(root: Path, source: str, vcs_ref: str | None) -> Plan:
    from .new import copy

    seen = inspect(root)
    plan = Plan(root, seen)
    answers = answers_for(root, seen)
    with tempfile.TemporaryDirectory(prefix="crisp-ml-adopt-") as scratch:
        rendered = Path(scratch) / "project"
        copy(source, rendered, answers, vcs_ref, defaults=True, quiet=True, skip_tasks=True)
        candidates = sorted(p for p in (rendered / "phases").rglob("*") if p.is_file())
        candidates.append(rendered / ANSWERS_FILE)
        for path in candidates:
            relative = path.relative_to(rendered).as_posix()
            if os.path.lexists(root / relative):
                plan.kept.append(relative)
                continue
            content = path.read_bytes()
            if relative.endswith("/CHECKLIST.md"):
                content = point_evidence(content.decode("utf-8"), root, seen).encode("utf-8")
            elif relative == CRITERIA:
                content = criteria(content.decode("utf-8"), seen).encode("utf-8")
            plan.added[relative] = content
    _plan_config(plan)
    return plan


def criteria(text: str, seen: Inspection) -> str:
    """The rendered success criteria, with the detected metric or TODO placeholders."""
    if seen.metric in TEMPLATE_METRICS:
        return text
    if seen.metric is not None:  # known but not a template choice (f1)
        metric, direction = seen.metric, seen.direction
    else:
        where = f" ({seen.metric_source} has none of {', '.join(KNOWN_METRICS)})"
        metric = "TODO(crisp)  # name the metric your evaluation computes" + (
            where if seen.metric_source else ""
        )
        direction = "TODO(crisp)  # maximize or minimize"
    text = re.sub(r"(?m)^metric: .*$", lambda _: f"metric: {metric}", text, count=1)
    return re.sub(r"(?m)^direction: .*$", lambda _: f"direction: {direction}", text, count=1)


def substitutes(path: str, root: Path, seen: Inspection) -> list[str] | None:
    """The repository's own files for a template evidence path; None: keep the path."""
    if path.startswith("phases/") or (root / path).exists():
        return None
    evaluate = seen.role_files("evaluate") or seen.top_metrics
    table = {
        "reports/train/metrics.json": seen.role_files("train"),
        "reports/baseline/metrics.json": seen.role_files("baseline"),
        "reports/evaluation/metrics.json": evaluate,
        "reports/evaluation/gate.json": evaluate,
        "data/split/indices.json": seen.role_files("split", "outs"),
        "reports/monitoring/drift.json": seen.role_files("monitor"),
    }
    ci = path.startswith((".github/", ".gitlab-ci"))
    found = seen.workflows if ci else table.get(path, [])
    return [p for p in found if (root / p).exists()]


def point_evidence(text: str, root: Path, seen: Inspection) -> str:
    """Checklist rows whose evidence names the repository's real files where they exist.

    A template path the repository lacks is replaced by the file playing that part (the
    train stage's metrics for 5.5...) or dropped; a row left with no evidence keeps the
    template's paths. The table's shape and the `open` status are unchanged.
    """
    lines = []
    for line in text.splitlines(keepends=True):
        cells = line.split("|")
        if len(cells) >= 9 and re.match(r"^\s*\d+\.\d+\s*$", cells[1]):
            paths = [p.strip() for p in cells[4].split(",") if p.strip()]
            evidence: list[str] = []
            for path in paths:
                swap = substitutes(path, root, seen)
                for item in [path] if swap is None else swap:
                    if item not in evidence:
                        evidence.append(item)
            if evidence and evidence != paths:
                cells[4] = f" {', '.join(evidence)} "
                line = "|".join(cells)
        lines.append(line)
    return "".join(lines)


def lint_table(seen: Inspection) -> str:
    roles = {name: role for name, role in seen.stages.items() if role and role != name}
    lines = ["[tool.crisp-lint]", f'phase = "{PHASE}"']
    if roles:
        pairs = ", ".join(
            f"{json.dumps(name)} = {json.dumps(role)}" for name, role in roles.items()
        )
        lines.append(f"stage-roles = {{ {pairs} }}")
    return "\n".join(lines) + "\n"


def _plan_config(plan: Plan) -> None:
    pyproject = plan.root / "pyproject.toml"
    table = lint_table(plan.seen)
    if not os.path.lexists(pyproject):
        plan.added["pyproject.toml"] = (
            "# crisp-lint's settings, added by `crisp-ml adopt` (see docs/adopting.md).\n" + table
        ).encode("utf-8")
        return
    try:
        data = pyproject.read_bytes()
        parsed = tomllib.loads(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        plan.config_note = "pyproject.toml does not parse: add [tool.crisp-lint] by hand"
        return
    tool = parsed.get("tool")
    if isinstance(tool, dict) and "crisp-lint" in tool:
        plan.config_note = "pyproject.toml already has [tool.crisp-lint]: kept as it is"
        return
    addition = ("" if data.endswith(b"\n") or not data else "\n") + "\n" + table
    try:
        tomllib.loads(data.decode("utf-8") + addition)
    except tomllib.TOMLDecodeError:  # e.g. the file defines `tool` inline
        plan.config_note = "[tool.crisp-lint] cannot be appended to pyproject.toml: add it by hand"
        return
    plan.append = addition.encode("utf-8")


def describe(plan: Plan) -> str:
    seen = plan.seen
    out = [f"crisp-ml adopt: plan for {plan.root}", "Read:"]
    if seen.stages:
        for name, role in seen.stages.items():
            if role is None:
                out.append(f"  stage {name}: role unknown, declare it in stage-roles")
            elif role == name:
                out.append(f"  stage {name}: {role}")
            else:
                out.append(f"  stage {name}: {role} (declared in stage-roles)")
    else:
        out.append("  no dvc.yaml stages")
    metrics = [p for name in seen.stages for p in seen.stage_metrics.get(name, [])]
    out.append(f"  params files: {', '.join(seen.params) or 'none'}")
    out.append(f"  metrics files: {', '.join([*metrics, *seen.top_metrics]) or 'none'}")
    out.append(f"  .dvc files: {', '.join(seen.dvc_files) or 'none'}")
    out.append(f"  trackers: {', '.join(seen.trackers) or 'none'}")
    out.append(f"  CI: {seen.ci}")
    context = ", ".join(f"{k}={v!r}" for k, v in seen.context.items())
    out.append(f"  context ({seen.context_source or 'pyproject.toml / folder name'}): {context}")
    if seen.metric:
        out.append(
            f"Success criterion: {seen.metric}, {seen.direction} (from {seen.metric_source});"
            " target and minimum are the template's defaults: agree them with the business"
        )
    else:
        out.append(f"Success criterion: TODO (no known metric found); fill in {CRITERIA}")
    out.append(f"Will add ({len(plan.added)} files):")
    out.extend(f"  + {path}" for path in sorted(plan.added))
    if plan.append is not None:
        out.append("  ~ pyproject.toml (appended at its end: a [tool.crisp-lint] table;")
        out.append("    your lines are unchanged)")
    for line in plan.append.decode().strip().splitlines() if plan.append else []:
        out.append(f"      {line}")
    if plan.kept:
        out.append(f"Kept (already there, not written): {len(plan.kept)}")
        out.extend(f"  = {path}" for path in plan.kept)
    if plan.config_note:
        out.append(f"Note: {plan.config_note}")
    return "\n".join(out)


def apply(plan: Plan) -> None:
    for relative, content in sorted(plan.added.items()):
        target = plan.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as handle:  # never over a file that appeared meanwhile
            handle.write(content)
    if plan.append is not None:
        with open(plan.root / "pyproject.toml", "ab") as handle:
            handle.write(plan.append)


def already_adopted(root: Path) -> bool:
    """A layer from crisp-ml: the Copier answers beside phase checklists or success criteria."""
    if not (root / ANSWERS_FILE).is_file():
        return False
    return (root / CRITERIA).is_file() or any((root / "phases").glob("*/CHECKLIST.md"))


@click.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--yes", is_flag=True, help="Apply the plan without asking (for scripts).")
@click.option(
    "--template",
    metavar="SRC",
    help="Template to render the layer from (as for crisp-ml new). Default: $CRISP_ML_TEMPLATE, "
    "else the template beside this installation, else the published one.",
)
@click.option("--vcs-ref", metavar="REF", help="Template version (git tag, branch or commit).")
def adopt(path: Path, dry_run: bool, yes: bool, template: str | None, vcs_ref: str | None) -> None:
    """Add the CRISP-ML layer to the existing git repository at PATH, never touching its files."""
    from .new import recordable_source

    root = path.resolve()
    try:
        inside = run_git(root, "rev-parse", "--show-toplevel", check=False)
    except GitError as error:
        fail(str(error))
    if inside.returncode != 0:
        fail(f"{path}: not a git repository; adopt works on an existing repository (git init)")
    if already_adopted(root):
        click.echo(f"crisp-ml adopt: {path}: already adopted; nothing to do")
        return
    source = recordable_source(template or default_template())
    if vcs_ref is None and template is None and Path(source).is_dir():
        vcs_ref = "HEAD"  # the template beside the running code, as crisp-ml new does
    plan = make_plan(root, source, vcs_ref)
    if plan.empty:
        click.echo(f"crisp-ml adopt: {path}: already adopted; nothing to do")
        return
    click.echo(describe(plan))
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    if not yes:
        if not sys.stdin.isatty():
            fail("no terminal to confirm the plan on: pass --yes to apply it, or --dry-run")
        if not click.confirm("Add these files?", default=False):
            fail("nothing was written", EXIT_FAILED)
    apply(plan)
    click.echo(
        f"Added {len(plan.added)} files"
        + (" and appended [tool.crisp-lint] to pyproject.toml" if plan.append else "")
        + ". Review them, then commit: git add phases .copier-answers.yml pyproject.toml"
    )
