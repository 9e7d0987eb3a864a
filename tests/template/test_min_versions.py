"""Issue 7: the generated project's declared lower bounds are true.

The default project (with the example) is installed at the LOWEST versions its own
pyproject.toml allows, then driven through its README's commands: `make setup`,
`make repro`, `make test`. The constraints file is derived from that pyproject.toml (each
direct and dev-extra dependency's floor becomes ``name==floor``, exact pins stay), so it can
never drift from what the template declares; transitive dependencies resolve to their
newest, as they would for a new team. The installed versions are then checked against the
floors, so a floor pip could not honour fails here too.

Slow: the install alone resolves and downloads a whole scientific stack (minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

INSTALL_TIMEOUT_SECONDS = 900  # `make setup`: resolving and downloading old releases
RUN_TIMEOUT_SECONDS = 600  # `make repro`, `make test`, pip list
PIP_TIMEOUT_SECONDS = 60
# Pinned exactly to this checkout's release, and installed from the wheelhouse.
NOT_CONSTRAINED = {"crisp-ml"}
FLOOR_OPERATORS = {">=", "~=", "=="}
IDENTITY = {
    "GIT_AUTHOR_NAME": "crisp-ml tests",
    "GIT_AUTHOR_EMAIL": "tests@crisp-ml.invalid",
    "GIT_COMMITTER_NAME": "crisp-ml tests",
    "GIT_COMMITTER_EMAIL": "tests@crisp-ml.invalid",
}


CRISP_ML_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def runtime_requirements() -> list[str]:
    """What crisp-ml's `runtime` extra, which every generated project installs, declares."""
    project = tomllib.loads(CRISP_ML_PYPROJECT.read_text(encoding="utf-8"))["project"]
    return project["optional-dependencies"]["runtime"]


def declared_floors(pyproject: Path) -> dict[str, Version]:
    """Each direct, dev-extra and crisp-ml runtime dependency -> the lowest version it allows.

    The runtime's floors count too: they are what a project gets when the resolver picks the
    oldest release allowed, and the runtime's code runs in every stage.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    floors: dict[str, Version] = {}
    lines = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    for line in [*lines, *runtime_requirements()]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name in NOT_CONSTRAINED:
            continue
        bounds = [
            Version(spec.version)
            for spec in requirement.specifier
            if spec.operator in FLOOR_OPERATORS and "*" not in spec.version
        ]
        assert bounds, f"pyproject.toml: {line!r} declares no lower bound to test"
        floor = max(bounds)
        assert requirement.specifier.contains(floor, prereleases=True), (
            f"pyproject.toml: {line!r} excludes its own floor {floor}"
        )
        assert floors.setdefault(name, floor) == floor, f"{name}: two different floors"
    return floors


def configured_constraints(env: dict[str, str]) -> list[str]:
    """Constraint files pip already has; PIP_CONSTRAINT would override its config files'."""
    if env.get("PIP_CONSTRAINT"):
        return env["PIP_CONSTRAINT"].split()
    files: list[str] = []
    for key in ("global.constraint", "install.constraint"):
        result = subprocess.run(
            [sys.executable, "-m", "pip", "config", "get", key],
            capture_output=True,
            text=True,
            env=env,
            timeout=PIP_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode == 0:
            files += result.stdout.split()
    return files


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    try:
        result = subprocess.run(
            args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`{' '.join(args)}` ran past {timeout} s in {cwd}")
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(args)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def at_floors(render, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory):
    """The default project, `make setup` done with every dependency at its floor.

    ``wheelhouse`` (conftest.py) holds crisp-ml's wheel, which the dev extra pins by name.
    """
    root = render({})
    floors = declared_floors(root / "pyproject.toml")
    scratch = tmp_path_factory.mktemp("min-versions")
    constraints = scratch / "floors.txt"
    constraints.write_text("".join(f"{name}=={v}\n" for name, v in floors.items()), "utf-8")
    # `make setup` bootstraps .venv with `python3`: make that this interpreter, so the floors
    # are tried on the Python the tests run on (CI: the project's oldest, 3.11).
    bin_dir = scratch / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(Path(sys.executable).resolve())
    # A user's shell: no tracking URI another test's MLflow client left in os.environ.
    leaked = {"VIRTUAL_ENV", "PYTHONPATH", "MLFLOW_TRACKING_URI"}
    env = {key: value for key, value in os.environ.items() if key not in leaked}
    env |= IDENTITY | {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "PIP_CONSTRAINT": " ".join([*configured_constraints(env), str(constraints)]),
        "PIP_FIND_LINKS": f"{wheelhouse} {env.get('PIP_FIND_LINKS', '')}".strip(),
        "PIP_NO_INPUT": "1",
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "DVC_SITE_CACHE_DIR": str(scratch / "dvc-site-cache"),
    }
    setup_output = run(["make", "setup"], root, env, INSTALL_TIMEOUT_SECONDS)
    return root, env, floors, setup_output


def test_installed_versions_are_the_declared_floors(at_floors) -> None:
    root, env, floors, setup_output = at_floors
    listing = run(
        [str(root / ".venv/bin/python"), "-m", "pip", "list", "--format", "json"],
        root,
        env,
        RUN_TIMEOUT_SECONDS,
    )
    # pip may print warnings around the JSON; the listing is its one line starting with '['.
    rows = json.loads(next(line for line in listing.splitlines() if line.startswith("[")))
    installed = {canonicalize_name(row["name"]): Version(row["version"]) for row in rows}
    wrong = {
        name: f"floor {floor}, installed {installed.get(name, 'nothing')}"
        for name, floor in floors.items()
        if installed.get(name) != floor
    }
    assert not wrong, f"make setup did not install the declared floors: {wrong}"
    # A yanked floor is one no `>=` resolution would pick: declare the next release instead.
    assert "yanked version" not in setup_output, setup_output[-4000:]


def test_repro_and_tests_pass_at_the_floors(at_floors) -> None:
    root, env, _, _ = at_floors
    run(["make", "repro"], root, env, RUN_TIMEOUT_SECONDS)
    for report in ("models/model.joblib", "reports/evaluation/gate.json"):
        assert (root / report).is_file(), f"make repro wrote no {report}"
    run(["make", "test"], root, env, RUN_TIMEOUT_SECONDS)
