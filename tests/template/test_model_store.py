"""A generated project's committed model reference names the store it is configured for.

The train stage writes ``tracking_uri`` into run.json with crisp_ml.runtime.tracking's
public_uri; crisp-lint's MO010 compares it with params.yaml. A freshly generated project,
embedded store or tracking server, must agree with itself.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from crisp_lint.model import REGISTRY
from crisp_lint.registry import load_all
from crisp_lint.repo import RepoView
from crisp_ml.runtime.tracking import public_uri, tracking_uri

load_all()
pytestmark = pytest.mark.slow  # each test renders a project with Copier
GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid"]


def commit_run_record(project: Path) -> None:
    """run.json as the train stage writes it, committed."""
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    record = {
        "experiment": params["mlflow"]["experiment"],
        "tracking_uri": public_uri(tracking_uri(project, params), project),
    }
    path = project / "reports/train/run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["add", "-f", "reports/train/run.json"]):
        subprocess.run([*GIT, *args], cwd=project, check=True, timeout=60)
    subprocess.run([*GIT, "commit", "-qm", "train"], cwd=project, check=True, timeout=60)


@pytest.mark.parametrize(
    "answers",
    [{}, {"mlflow_tracking": "server", "mlflow_tracking_uri": "http://mlflow.internal:5000"}],
    ids=["embedded", "server"],
)
def test_a_fresh_project_points_at_its_configured_store(
    render: Any, answers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    project = render(answers)
    commit_run_record(project)
    assert list(REGISTRY["MO010"].check(RepoView(project))) == []


def test_the_fallback_store_is_caught_in_a_fresh_server_project(
    render: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = render({"mlflow_tracking": "server", "mlflow_tracking_uri": "http://mlflow:5000"})
    # What the error message of an unreachable server suggests, run from the project root.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project.resolve()}/mlflow.db")
    commit_run_record(project)
    (problem,) = REGISTRY["MO010"].check(RepoView(project))
    assert "`sqlite:///mlflow.db`" in problem.message and "`http://mlflow:5000`" in problem.message
