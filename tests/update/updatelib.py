"""Build what update tests need: a tagged template repository and user projects.

The template repository is made at test time from the *current* copier.yml, template/ and
migrations/ of this checkout, so the tests follow the template as it evolves. Three
versions differ the way real releases do:

- v1.0.0: phase 1's success criteria still live at the old path (``success_criteria.yml``,
  every reference too), the plumbing file carries revision 1.0.0, and an obsolete
  ``.flake8`` ships;
- v1.1.0: the current file names (the copier.yml migration moves the team's file), the
  plumbing line says 1.1.0, a new plumbing line appears and ``.flake8`` is gone;
- HEAD (untagged): the plumbing line says 1.2.0 and a second plumbing file changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CRISP_ML = [str(Path(sys.executable).parent / "crisp-ml")]  # the installed console script

NEW_CRITERIA = "phases/01-business-understanding/success-criteria.yaml"
OLD_CRITERIA = "phases/01-business-understanding/success_criteria.yml"

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Team",
    "GIT_AUTHOR_EMAIL": "team@example.com",
    "GIT_COMMITTER_NAME": "Test Team",
    "GIT_COMMITTER_EMAIL": "team@example.com",
}
QUIET_TOOLS = {"DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}
TIMEOUT = 300


def clean_env() -> dict[str, str]:
    """This environment without git settings or a template override, plus a git identity."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.pop("CRISP_ML_TEMPLATE", None)  # no test template is trusted by accident
    env.update(IDENTITY)
    env.update(QUIET_TOOLS)
    return env


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=TIMEOUT,
        check=True,
    )
    return done.stdout


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )


# --- the template repository --------------------------------------------------------------


@dataclass(frozen=True)
class PlumbingFiles:
    """Template files (paths under template/) the versions change, and their rendered paths."""

    main: str  # the revision line lives here
    second: str  # changes only at HEAD

    @staticmethod
    def rendered(template_path: str) -> str:
        return template_path.removesuffix(".jinja")


def choose_plumbing(template_dir: Path) -> PlumbingFiles:
    """The Makefile (or pyproject.toml) and the pre-commit config (or .gitignore)."""

    def first(*names: str) -> str:
        for name in names:
            if (template_dir / name).is_file():
                return name
        raise AssertionError(f"template/ has none of {names}: cannot build update fixtures")

    main = first("Makefile.jinja", "Makefile", "pyproject.toml.jinja")
    second = first(".pre-commit-config.yaml.jinja", ".pre-commit-config.yaml", ".gitignore")
    return PlumbingFiles(main, second)


def revision_line(version: str) -> str:
    return f"# crisp-ml plumbing revision {version}: keep this line for template updates"


OBSOLETE_PLUMBING = ".flake8"  # in v1.0.0 only
FLAKE8_CONFIG = "[flake8]\nmax-line-length = 100\n"
ADDED_IN_1_1 = "# added in v1.1.0: `crisp-ml check-update` tells when a new template is out"
ADDED_AT_HEAD = "# added after v1.1.0: `crisp-ml update --jobs N` updates a fleet"


def build_template_repo(destination: Path) -> tuple[Path, PlumbingFiles]:
    """A git repository with the template tagged v1.0.0, v1.1.0 and one untagged commit."""
    destination.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "copier.yml", destination / "copier.yml")
    shutil.copytree(REPO_ROOT / "template", destination / "template")
    shutil.copytree(REPO_ROOT / "migrations", destination / "migrations")
    template = destination / "template"
    plumbing = choose_plumbing(template)
    git(destination, "init", "--quiet", "--initial-branch=main")

    # v1.0.0: the old success-criteria path everywhere, plumbing revision 1.0.0.
    renamed = _rename_in_template(template, NEW_CRITERIA, OLD_CRITERIA)
    _append(template / plumbing.main, revision_line("1.0.0"))
    (template / OBSOLETE_PLUMBING).write_text(FLAKE8_CONFIG, encoding="utf-8")
    _commit_and_tag(destination, "v1.0.0")

    # v1.1.0: back to the current names (the migration's job), plumbing changes, and the
    # flake8 config is gone (ruff replaced it).
    _restore(template, renamed)
    (template / OBSOLETE_PLUMBING).unlink()
    _replace_line(template / plumbing.main, revision_line("1.0.0"), revision_line("1.1.0"))
    _append(template / plumbing.main, ADDED_IN_1_1)
    _commit_and_tag(destination, "v1.1.0")

    # HEAD: one more plumbing change in each file, no tag.
    _replace_line(template / plumbing.main, revision_line("1.1.0"), revision_line("1.2.0"))
    _append(template / plumbing.second, ADDED_AT_HEAD)
    _commit_and_tag(destination, None)
    return destination, plumbing


def _rename_in_template(template: Path, new: str, old: str) -> dict[Path, bytes]:
    """Rename the template file rendering to ``new`` and rewrite references; return originals."""
    originals: dict[Path, bytes] = {}
    for suffix in ("", ".jinja"):
        source = template / (new + suffix)
        if source.is_file():
            originals[source] = source.read_bytes()
            source.rename(template / (old + suffix))
            break
    else:
        raise AssertionError(f"template/ renders no {new}: the v1.1.0 migration has no subject")
    new_name, old_name = Path(new).name, Path(old).name
    for path in template.rglob("*"):
        if not path.is_file() or path.name.startswith(old_name):
            continue
        data = path.read_bytes()
        if new_name.encode() in data:
            originals[path] = data
            path.write_bytes(data.replace(new_name.encode(), old_name.encode()))
    return originals


def _restore(template: Path, originals: dict[Path, bytes]) -> None:
    for path in template.rglob("*"):
        if path.is_file() and path.name.startswith(Path(OLD_CRITERIA).name):
            path.unlink()
    for path, data in originals.items():
        path.write_bytes(data)


def _append(path: Path, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + line + "\n", encoding="utf-8")


def _replace_line(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} lost the line {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _commit_and_tag(repo: Path, tag: str | None) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", f"template {tag or 'HEAD'}")
    if tag:
        git(repo, "tag", tag)


PRE_SPLIT_COMMIT = "b79b2f8"  # the last template that generated the machinery into src/
PRE_SPLIT_PATHS = ("copier.yml", "template", "migrations")


def build_split_template_repo(destination: Path) -> Path:
    """A template repository tagged v1.1.0 (before the runtime split) and v2.0.0 (this checkout).

    v1.1.0 is extracted from this repository's history, so its projects carry the machinery
    modules and their tests as they were really shipped.
    """
    destination.mkdir(parents=True)
    git(destination, "init", "--quiet", "--initial-branch=main")
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", PRE_SPLIT_COMMIT, *PRE_SPLIT_PATHS],
        capture_output=True,
        env=clean_env(),
        timeout=TIMEOUT,
        check=True,
    ).stdout
    subprocess.run(
        ["tar", "-x", "-C", str(destination)], input=archive, timeout=TIMEOUT, check=True
    )
    _commit_and_tag(destination, "v1.1.0")
    for name in ("template", "migrations"):
        shutil.rmtree(destination / name)
        shutil.copytree(REPO_ROOT / name, destination / name)
    shutil.copy2(REPO_ROOT / "copier.yml", destination / "copier.yml")
    _commit_and_tag(destination, "v2.0.0")
    return destination


# --- user projects --------------------------------------------------------------------------


def generate_project(template_repo: Path, destination: Path, vcs_ref: str) -> Path:
    """``copier copy`` at ``vcs_ref`` with default answers, then a first git commit."""
    done = run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--defaults",
            "--trust",
            "--quiet",
            "--vcs-ref",
            vcs_ref,
            # Absolute: Copier records the source as given and resolves it later from
            # whatever directory `copier update` runs in.
            str(template_repo.resolve()),
            str(destination),
        ]
    )
    assert done.returncode == 0, done.stderr
    git(destination, "init", "--quiet", "--initial-branch=main")
    git(destination, "add", "--all")
    git(destination, "commit", "--quiet", "-m", f"Generate from template {vcs_ref}")
    return destination


@dataclass
class TeamEdits:
    """Every line the team wrote, by file, so a test can prove none was lost."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def wrote(self, path: str, *lines: str) -> None:
        self.lines.setdefault(path, []).extend(lines)

    def moved(self, old: str, new: str) -> None:
        """The file at ``old`` now lives at ``new``, and the team's lines name it there."""
        if old in self.lines:
            self.lines[new] = self.lines.pop(old)
        for path, lines in self.lines.items():
            self.lines[path] = [line.replace(old, new) for line in lines]

    def lost_in(self, project: Path) -> list[tuple[str, str]]:
        """(path, line) of every team line no longer present in its file."""
        lost = []
        for path, lines in self.lines.items():
            target = project / path
            text = target.read_text(encoding="utf-8") if target.exists() else ""
            present = set(text.splitlines())
            lost += [(path, line) for line in lines if line not in present]
        return lost

    @property
    def count(self) -> int:
        return sum(len(lines) for lines in self.lines.values())


def edit_like_a_team(project: Path) -> TeamEdits:
    """Fill in phase documents, add a DVC stage, change params and code, delete a file."""
    edits = TeamEdits()
    documents = sorted(p for p in (project / "phases").rglob("*.md") if p.name != "CHECKLIST.md")
    assert documents, "the template has no phase documents to fill in"
    for number, document in enumerate(documents[1:], start=1):
        relative = document.relative_to(project).as_posix()
        text = document.read_text(encoding="utf-8")
        filled = f"Team answer {number}: agreed with the product owner in review {number}."
        if "TODO(crisp)" in text:
            lines = text.splitlines()
            index = next(i for i, line in enumerate(lines) if "TODO(crisp)" in line)
            lines[index] = filled
            text = "\n".join(lines) + "\n"
        else:
            text += filled + "\n"
        extra = [f"- Team note {number}.{i}: evidence kept in the shared drive." for i in (1, 2)]
        document.write_text(text + "\n" + "\n".join(extra) + "\n", encoding="utf-8")
        edits.wrote(relative, filled, *extra)
    edits.wrote(*_sign_off_step_1_2(project))
    # The optional document the team decided they do not need.
    deleted = documents[0].relative_to(project).as_posix()
    documents[0].unlink()
    edits.deleted.append(deleted)

    criteria = _criteria_path(project)
    text = criteria.read_text(encoding="utf-8")
    edits.wrote(criteria.relative_to(project).as_posix(), *_set_criteria(criteria, text))

    dvc_yaml = project / "dvc.yaml"
    assert dvc_yaml.is_file(), "the template has no dvc.yaml"
    edits.wrote("dvc.yaml", *_add_dvc_stage(dvc_yaml))

    params = project / "params.yaml"
    assert params.is_file(), "the template has no params.yaml"
    edits.wrote("params.yaml", *_change_params(params))

    package = next(p for p in (project / "src").iterdir() if p.is_dir())
    module = package / "team_features.py"
    code = [
        '"""Features only our team uses."""',
        "",
        "",
        "def petal_ratio(length: float, width: float) -> float:",
        "    return length / width if width else 0.0",
    ]
    module.write_text("\n".join(code) + "\n", encoding="utf-8")
    edits.wrote(module.relative_to(project).as_posix(), *[line for line in code if line])
    # models.py: team code every template version generates (config.py moved to
    # crisp_ml.runtime in v2.0.0).
    models = package / "models.py"
    tweak = ["", "", "TEAM_RANDOM_SEED = 20260301  # agreed in the modelling review"]
    original = models.read_text(encoding="utf-8")
    models.write_text(original + "\n".join(tweak) + "\n", encoding="utf-8")
    edits.wrote(models.relative_to(project).as_posix(), tweak[-1])

    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Team work: documents, pipeline, params, code")
    return edits


def _sign_off_step_1_2(project: Path) -> tuple[str, str]:
    """Mark checklist step 1.2 (whose evidence names the success criteria) done."""
    checklist = project / "phases/01-business-understanding/CHECKLIST.md"
    lines = checklist.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("| 1.2 |"))
    cells = [cell.strip() for cell in lines[index].strip().strip("|").split("|")]
    assert len(cells) == 7, f"unexpected checklist row: {lines[index]}"
    cells[2], cells[4], cells[5], cells[6] = "done", "Alice Example", "2026-03-02", "sprint 3"
    lines[index] = "| " + " | ".join(cells) + " |"
    checklist.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return checklist.relative_to(project).as_posix(), lines[index]


def _criteria_path(project: Path) -> Path:
    for relative in (NEW_CRITERIA, OLD_CRITERIA):
        if (project / relative).is_file():
            return project / relative
    raise AssertionError("the project has no success criteria file")


def _set_criteria(criteria: Path, text: str) -> list[str]:
    lines = text.splitlines()
    written = []
    for index, line in enumerate(lines):
        if line.startswith("target:"):
            lines[index] = "target: 0.97  # raised after the kickoff with the business owner"
            written.append(lines[index])
    lines.append("# Reviewed by the team on 2026-03-02.")
    written.append(lines[-1])
    criteria.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def _add_dvc_stage(dvc_yaml: Path) -> list[str]:
    lines = dvc_yaml.read_text(encoding="utf-8").splitlines()
    start = lines.index("stages:")
    indent = " " * (len(lines[start + 1]) - len(lines[start + 1].lstrip()))
    stage = [
        f"{indent}team_report:",
        f"{indent}{indent}cmd: python -c \"print('weekly report for the business owner')\"",
        f"{indent}{indent}deps:",
        f"{indent}{indent}- params.yaml",
    ]
    updated = lines[: start + 1] + stage + lines[start + 1 :]
    dvc_yaml.write_text("\n".join(updated) + "\n", encoding="utf-8")
    return stage


def _change_params(params: Path) -> list[str]:
    lines = params.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        key, _, value = line.partition(":")
        if line.startswith("  ") and value.strip().replace(".", "", 1).isdigit():
            lines[index] = f"{key}: {value.strip()}1  # tuned by the team"
            changed = lines[index]
            break
    else:
        raise AssertionError("params.yaml has no numeric parameter to tune")
    added = ["team:", "  owner: data-science@example.com"]
    params.write_text("\n".join(lines + added) + "\n", encoding="utf-8")
    return [changed, *added]


TEAM_LINE = "# our CI needs this exact line, agreed with the platform team"


def edit_plumbing_line(project: Path, plumbing: PlumbingFiles, version: str) -> Path:
    """The team rewrites the very line the template changes in its next release."""
    target = project / PlumbingFiles.rendered(plumbing.main)
    target.write_text(target.read_text().replace(revision_line(version), TEAM_LINE))
    git(project, "commit", "--quiet", "-am", "Team: adapt plumbing")
    return target


# --- observations -------------------------------------------------------------------------


def tree_fingerprint(root: Path) -> str:
    """A hash of every file under ``root`` (names, modes, bytes), .git included."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            digest.update(f"L {relative} {os.readlink(path)}\n".encode())
        elif path.is_file():
            digest.update(f"F {relative} {path.stat().st_mode:o}\n".encode())
            digest.update(path.read_bytes())
        elif path.is_dir():
            digest.update(f"D {relative}\n".encode())
    return digest.hexdigest()


def crisp_lint_errors(project: Path) -> set[tuple[str, str]] | None:
    """(code, path) of crisp-lint's error findings, or None when crisp-lint gives no JSON."""
    import json

    crisp_lint = str(Path(sys.executable).parent / "crisp-lint")
    done = run([crisp_lint, "--output-format", "json"], cwd=project)
    try:
        findings = json.loads(done.stdout)["findings"]
    except (ValueError, KeyError, TypeError):
        return None
    return {(f["code"], f["path"]) for f in findings if f["severity"] == "error"}
