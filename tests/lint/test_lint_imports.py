"""crisp-lint runs on every commit: starting it must not import any heavy library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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
