"""The v2.0.0 migration carries projects generated before the runtime split over to it.

Before v2.0.0, the machinery every project shares (config, gate, router, monitor...) was
generated into ``src/<package>/`` with its tests in ``tests/``; now it is
``crisp_ml.runtime``. ``copier update`` leaves ``src/`` and ``tests/`` alone, so
``migrations/runtime_split.py`` deletes the copies the team never changed, keeps (and names)
the ones it did, and points the team's imports at ``crisp_ml.runtime``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from updatelib import (
    CRISP_ML,
    PRE_SPLIT_COMMIT,
    REPO_ROOT,
    build_split_template_repo,
    generate_project,
    git,
    run,
    tree_fingerprint,
)

SCRIPT = REPO_ROOT / "migrations" / "runtime_split.py"
MOVED = (
    "config",
    "pipeline",
    "datasets",
    "metrics",
    "gate",
    "gate_check",
    "router",
    "tracking",
    "tags",
    "dashboard",
    "monitor",
)
SHIPPED_TESTS = ("config", "gate", "gate_check", "metrics", "monitor", "router", "tags")
SHIPPED_TESTS += ("tracking",)
PACKAGE = "crisp_ml_demo"  # the default answers' package name
COPIER_UPDATE = ("--skip-answered", "--conflict", "inline", "--vcs-ref", "v2.0.0", ".")
JSON_NO_LINT = ("--output-format", "json", "--no-lint")
TEAM_CHANGE = "# Team: our gate also logs to the audit trail.\n"


def migrate(project: Path) -> subprocess.CompletedProcess[str]:
    """The migration as Copier runs it: in the project root, under this Python."""
    return run([sys.executable, str(SCRIPT)], cwd=project)


def shipped(path: str) -> bytes:
    """A file as the last pre-split template shipped it."""
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), "show", f"{PRE_SPLIT_COMMIT}:{path}"],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout


def write_answers(project: Path, **answers: str) -> None:
    defaults = {"package_name": "pkg", "metric": "f1_macro", "deployment_strategy": "ab"}
    text = yaml.safe_dump({"_commit": "v1.1.0", **defaults, **answers})
    (project / ".copier-answers.yml").write_text(text, encoding="utf-8")


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# --- the script on hand-made projects -----------------------------------------------------


def test_the_known_versions_file_matches_the_git_history():
    done = run([sys.executable, str(REPO_ROOT / "migrations" / "known_hashes.py"), "--check"])

    assert done.returncode == 0, done.stdout + done.stderr


def test_copier_yml_runs_the_migration_after_the_v2_0_0_merge():
    migrations = yaml.safe_load((REPO_ROOT / "copier.yml").read_text())["_migrations"]

    (step,) = [m for m in migrations if "runtime_split.py" in str(m["command"])]

    assert step["when"] == "{{ _stage == 'after' }}"
    assert step["command"] == [
        "{{ _copier_python }}",
        "{{ _copier_conf.src_path }}/migrations/runtime_split.py",
    ]


def test_a_shipped_module_goes_and_a_changed_one_stays_with_how_to_finish(tmp_path):
    write_answers(tmp_path)
    source = "template/src/{{package_name}}/%s.py"
    write(tmp_path / "src/pkg/metrics.py", shipped(source % "metrics"))
    write(tmp_path / "src/pkg/gate.py", shipped(source % "gate") + TEAM_CHANGE.encode())

    done = migrate(tmp_path)

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "src/pkg/metrics.py").exists()
    assert (tmp_path / "src/pkg/gate.py").read_bytes().endswith(TEAM_CHANGE.encode())
    (kept,) = [line for line in done.stdout.splitlines() if "kept src/pkg/gate.py" in line]
    assert "changed" in kept and "crisp_ml.runtime.gate" in kept and "delete it" in kept


def test_a_shipped_test_is_compared_as_rendered_with_the_projects_answers(tmp_path):
    write_answers(tmp_path, package_name="churn", metric="accuracy")
    config = shipped("template/tests/test_config.py.jinja").decode()
    rendered = config.replace("{{ package_name }}", "churn").replace("{{ metric }}", "accuracy")
    write(tmp_path / "tests/test_config.py", rendered.encode())
    gate = shipped("template/tests/test_gate.py.jinja").decode()
    write(tmp_path / "tests/test_gate.py", gate.replace("{{ package_name }}", "other").encode())
    write(tmp_path / "tests/test_tags.py", b"# the team's own tags test\n")

    done = migrate(tmp_path)

    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "tests/test_config.py").exists()
    # Rendered with other answers, or written by the team: not what this project was given.
    assert (tmp_path / "tests/test_gate.py").exists()
    assert (tmp_path / "tests/test_tags.py").exists()
    assert "kept tests/test_tags.py: your team changed it" in done.stdout


def test_imports_of_deleted_modules_now_name_the_runtime_and_nothing_else_changes(tmp_path):
    write_answers(tmp_path)
    write(tmp_path / "src/pkg/gate.py", b"# changed by the team\n")  # kept: imports stay
    stage = (
        b"from __future__ import annotations\r\n"
        b"from .config import ConfigError\r\n"
        b"from .gate import decide\r\n"
        b"from .models import build_model\r\n"
        b"from .gate_check import main\r\n"
        b"def run():\r\n"
        b"    from pkg.tracking import start_run\r\n"
        b'    text = "from .config import x"  # not an import line\r\n'
        b"    return start_run  # from .config import y"
    )
    write(tmp_path / "src/pkg/train.py", stage)
    nested = b"from .config import local\nfrom ..config import ConfigError\n"
    write(tmp_path / "src/pkg/sub/stage.py", nested)
    test = b"from pkg.config import ConfigError\nfrom .config import helper\n"
    write(tmp_path / "tests/test_train.py", test)

    done = migrate(tmp_path)

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "src/pkg/train.py").read_bytes() == (
        b"from __future__ import annotations\r\n"
        b"from crisp_ml.runtime.config import ConfigError\r\n"
        b"from .gate import decide\r\n"
        b"from .models import build_model\r\n"
        b"from crisp_ml.runtime.gate_check import main\r\n"
        b"def run():\r\n"
        b"    from crisp_ml.runtime.tracking import start_run\r\n"
        b'    text = "from .config import x"  # not an import line\r\n'
        b"    return start_run  # from .config import y"
    )
    # `.config` in a subpackage is its own module; `..config` is the package's.
    assert (tmp_path / "src/pkg/sub/stage.py").read_bytes() == (
        b"from .config import local\nfrom crisp_ml.runtime.config import ConfigError\n"
    )
    # Tests live outside the package: a relative import there is not the package's.
    assert (tmp_path / "tests/test_train.py").read_bytes() == (
        b"from crisp_ml.runtime.config import ConfigError\nfrom .config import helper\n"
    )


def test_a_second_run_and_a_project_without_the_old_files_change_nothing(tmp_path):
    write_answers(tmp_path)
    write(tmp_path / "src/pkg/config.py", shipped("template/src/{{package_name}}/config.py"))
    write(tmp_path / "src/pkg/train.py", b"from .config import ConfigError\n")
    assert migrate(tmp_path).returncode == 0
    before = tree_fingerprint(tmp_path)

    again = migrate(tmp_path)

    assert again.returncode == 0
    assert tree_fingerprint(tmp_path) == before
    assert "(nothing to do)" in again.stdout


@pytest.mark.parametrize(
    ("answers", "complaint"),
    [
        (None, "not found"),
        (b"package_name: [unclosed\n", "unreadable"),
        (b"- a list\n", "not a mapping"),
        (b"package_name: ../etc\n", "not a package name"),
    ],
)
def test_unreadable_answers_stop_it_with_the_fix_and_touch_nothing(tmp_path, answers, complaint):
    if answers is not None:
        write(tmp_path / ".copier-answers.yml", answers)
    write(tmp_path / "src/pkg/config.py", shipped("template/src/{{package_name}}/config.py"))
    before = tree_fingerprint(tmp_path)

    done = migrate(tmp_path)

    assert done.returncode == 2
    assert ".copier-answers.yml" in done.stderr and complaint in done.stderr
    assert "git checkout HEAD -- .copier-answers.yml" in done.stderr
    assert "Traceback" not in done.stderr
    assert tree_fingerprint(tmp_path) == before


# --- a real `copier update` from the last pre-split release --------------------------------


@pytest.fixture(scope="module")
def split_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_split_template_repo(tmp_path_factory.mktemp("split") / "template")


@pytest.fixture(scope="module")
def pre_split_project(split_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_project(split_template, tmp_path_factory.mktemp("v1") / "project", "v1.1.0")


@pytest.fixture
def updated(pre_split_project: Path, tmp_path: Path) -> tuple[Path, subprocess.CompletedProcess]:
    """The v1.1.0 project with one team change to gate.py, updated to v2.0.0 by Copier."""
    project = tmp_path / "project"
    shutil.copytree(pre_split_project, project, symlinks=True)
    with (project / "src" / PACKAGE / "gate.py").open("a", encoding="utf-8") as gate:
        gate.write(TEAM_CHANGE)
    git(project, "commit", "--quiet", "-am", "Team: the gate logs to the audit trail")
    done = run(
        [sys.executable, "-m", "copier", "update", "--trust", "--defaults", *COPIER_UPDATE],
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    return project, done


@pytest.mark.slow
def test_copier_update_deletes_unchanged_machinery_and_keeps_the_teams_change(updated):
    project, done = updated
    package = project / "src" / PACKAGE

    assert [m for m in MOVED if (package / f"{m}.py").exists()] == ["gate"]
    assert (package / "gate.py").read_text(encoding="utf-8").endswith(TEAM_CHANGE)
    assert f"kept src/{PACKAGE}/gate.py: your team changed it" in done.stdout
    # gate's shipped test stays with the team's gate; every other shipped test is gone.
    assert [m for m in SHIPPED_TESTS if (project / f"tests/test_{m}.py").exists()] == ["gate"]
    assert (project / "tests/test_stages.py").exists()  # a test of the team's stages


@pytest.mark.slow
def test_copier_update_points_the_teams_imports_at_the_runtime(updated):
    project, _ = updated
    sources = [*(project / "src" / PACKAGE).glob("*.py"), *(project / "tests").glob("*.py")]
    moved_but_gate = "|".join(m for m in MOVED if m != "gate")
    stale = re.compile(rf"^\s*from (\.|{PACKAGE}\.)({moved_but_gate}) import", re.MULTILINE)

    assert [p.name for p in sources if stale.search(p.read_text(encoding="utf-8"))] == []
    train = (project / "src" / PACKAGE / "train.py").read_text(encoding="utf-8")
    assert "from crisp_ml.runtime.config import" in train
    assert "from .gate import" in (project / "src" / PACKAGE / "evaluate.py").read_text()

    for module in ("train", "evaluate"):
        code = f"import sys; sys.path.insert(0, 'src'); import {PACKAGE}.{module}"
        imported = run([sys.executable, "-c", code], cwd=project)
        assert imported.returncode == 0, imported.stderr


@pytest.mark.slow
def test_dvc_yaml_runs_the_runtime_monitor_and_depends_on_no_deleted_file(updated):
    project, _ = updated
    stages = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))["stages"]

    assert stages["monitor"]["cmd"] == "python -m crisp_ml.runtime.monitor"
    source_deps = [d for s in stages.values() for d in s.get("deps", []) if d.startswith("src/")]
    assert source_deps and [d for d in source_deps if not (project / d).exists()] == []


@pytest.mark.slow
def test_after_the_update_the_migration_changes_nothing(updated):
    project, _ = updated
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "Update to v2.0.0")
    before = tree_fingerprint(project)

    again = migrate(project)

    assert again.returncode == 0, again.stderr
    assert tree_fingerprint(project) == before


@pytest.mark.slow
def test_a_project_generated_after_the_split_is_left_as_it_is(split_template, tmp_path):
    project = generate_project(split_template, tmp_path / "project", "v2.0.0")
    before = tree_fingerprint(project)

    done = migrate(project)

    assert done.returncode == 0, done.stderr
    assert "(nothing to do)" in done.stdout
    assert tree_fingerprint(project) == before


@pytest.mark.slow
def test_crisp_ml_update_commits_the_migration_and_lists_the_deleted_copies(pre_split_project):
    project = pre_split_project.parent / "via-crisp-ml"
    shutil.copytree(pre_split_project, project, symlinks=True)

    done = run([*CRISP_ML, "update", "--trust", "--vcs-ref", "v2.0.0", *JSON_NO_LINT, str(project)])

    assert done.returncode == 0, done.stdout + done.stderr
    (repo,) = yaml.safe_load(done.stdout)["repos"]
    assert repo["status"] == "updated"
    assert f"src/{PACKAGE}/gate.py" in repo["removed"]
    assert "tests/test_gate.py" in repo["removed"]
    # What the migration printed reaches the report (crisp-ml captures Copier's output).
    assert any(n.startswith("migration runtime_split: deleted") for n in repo["migration_notes"])
    assert git(project, "status", "--porcelain") == ""
