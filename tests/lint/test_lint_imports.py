"""crisp-lint runs on every commit: starting it must not import any heavy library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lint_helpers import RepoMaker

import crisp_lint.checks
from crisp_lint.model import REGISTRY
from crisp_lint.registry import RULE_MODULES, expand, load_all, load_registry

HEAVY = ("dvc", "mlflow", "pandas", "numpy", "sklearn", "rich", "copier", "pydantic", "jinja2")

PROBE = """
import json, sys
from crisp_lint.cli import run
code = run([sys.argv[1], "--output-format", "json", "--all-phases", "--output-file", sys.argv[2]])
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.slow
def test_a_run_on_a_generated_project_imports_no_heavy_library(
    generated_project: Path, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(generated_project), str(tmp_path / "report.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["exit"] == 0
    loaded = {name.partition(".")[0] for name in result["modules"]}
    assert sorted(loaded.intersection(HEAVY)) == []
    # Every rule ran (later phases as info), so no rule module hides a heavy import.
    assert json.loads((tmp_path / "report.json").read_text())["phase"] == "business-understanding"


HOOK_PROBE = """
import contextlib, io, json, sys
from crisp_lint.cli import run
with contextlib.redirect_stdout(io.StringIO()):
    run([sys.argv[1]])
print(json.dumps(sorted(sys.modules)))
"""
# What the hook's own call has no need for, each costing a tenth of a run or so to import:
# argparse (with gettext and shutil), dataclasses (with inspect), packaging (for a template
# commit that is a hash, not a version).
NOT_AT_START_UP = ("argparse", "dataclasses", "gettext", "inspect", "packaging", "shutil")


@pytest.mark.slow
def test_the_hooks_call_on_a_generated_project_imports_none_of_the_slow_modules(
    generated_project: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", HOOK_PROBE, str(generated_project)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = {name.partition(".")[0] for name in json.loads(done.stdout)}
    assert sorted(loaded.intersection(NOT_AT_START_UP)) == []


# -- lazy rule modules (crisp_lint.registry) -------------------------------------------------

LATER_PHASE_PROBE = """
import json, sys
from crisp_lint.cli import run
code = run([sys.argv[1], "--output-format", "json", "--output-file", sys.argv[2], *sys.argv[3:]])
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


def _rule_modules_imported(project: Path, tmp_path: Path, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", LATER_PHASE_PROBE, str(project), str(tmp_path / "r.json"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    modules = json.loads(done.stdout)["modules"]
    prefix = "crisp_lint."
    return {m.removeprefix(prefix) for m in modules if m.removeprefix(prefix) in RULE_MODULES}


@pytest.mark.slow
def test_linting_at_the_default_phase_imports_no_later_phase_module(
    generated_project: Path, tmp_path: Path
) -> None:
    """A generated project is in business understanding: the modules of the seven phases
    after it are never imported, the general and secret rules are."""
    imported = _rule_modules_imported(generated_project, tmp_path)
    assert imported == {
        "engine_rules",
        "checks.business_understanding",
        "checks.general",
        "checks.secrets",
    }


def test_a_phase_imports_its_own_and_earlier_modules_only(
    make_repo: RepoMaker, tmp_path: Path
) -> None:
    root = make_repo({"pyproject.toml": '[tool.crisp-lint]\nphase = "data-understanding"\n'})
    assert _rule_modules_imported(root, tmp_path, "--select", "BU,LR,DU,MO") == {
        "engine_rules",
        "checks.business_understanding",
        "checks.literature_review",
        "checks.data_understanding",
    }  # MO is selected but later: skipped without its module
    assert _rule_modules_imported(root, tmp_path, "--select", "DU001") == {
        "engine_rules",
        "checks.data_understanding",
    }
    assert _rule_modules_imported(root, tmp_path, "--all-phases") == set(RULE_MODULES)
    # monitoring reads the success criteria with business understanding's helpers
    assert _rule_modules_imported(root, tmp_path, "--explain", "MN001") == {
        "checks.business_understanding",
        "checks.monitoring",
    }
    assert _rule_modules_imported(root, tmp_path, "--list-rules") == set(RULE_MODULES)


def test_the_index_names_what_every_rule_module_registers() -> None:
    """RULE_MODULES must not drift from the modules: each module, imported alone in a fresh
    interpreter in index order after the ones before it, registers exactly its codes."""
    probe = """
import importlib, json
from crisp_lint.model import REGISTRY
from crisp_lint.registry import RULE_MODULES
found = {}
for module in RULE_MODULES:
    before = set(REGISTRY)
    importlib.import_module(f"crisp_lint.{module}")
    found[module] = sorted(set(REGISTRY) - before)
print(json.dumps(found))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    registered = json.loads(done.stdout)
    assert registered == {module: expand(codes) for module, codes in RULE_MODULES.items()}
    # ...and nothing else under crisp_lint.checks registers a rule.
    public = {
        f"checks.{path.stem}"
        for path in (Path(crisp_lint.checks.__file__).parent).glob("*.py")
        if not path.stem.startswith("_")
    }
    assert public == {m for m in RULE_MODULES if m.startswith("checks.")}


def test_the_lazy_registry_is_the_registry_in_lifecycle_order() -> None:
    rules = load_all()
    assert list(rules) == sorted(REGISTRY, key=lambda c: (REGISTRY[c].phase.number or 99, c))
    assert all(rules[code] is REGISTRY[code] for code in REGISTRY)
    assert all(load_registry().phase(code) is rule.phase for code, rule in rules.items())


# -- patterns compiled when first used -------------------------------------------------------

COMPILE_PROBE = """
import json, re, sys
compiled = []
original = re._compile
def recording(pattern, flags):
    caller = sys._getframe(1)
    while caller is not None and caller.f_code.co_filename == re.__file__:
        caller = caller.f_back
    where = caller.f_code.co_filename.replace(chr(92), "/") if caller is not None else ""
    if "/crisp_lint/checks/" in where:
        compiled.append(f"{caller.f_code.co_filename}:{caller.f_lineno}")
    return original(pattern, flags)
re._compile = recording
import crisp_lint.cli, crisp_lint.engine
from crisp_lint.registry import load_all
load_all()
print(json.dumps(compiled))
"""


def test_no_rule_module_compiles_a_pattern_at_import() -> None:
    """Every rule module (and its helpers) compiles its patterns on first use, so a run pays
    only for the patterns of the rules and detectors that have something to look at."""
    done = subprocess.run(
        [sys.executable, "-c", COMPILE_PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == []
