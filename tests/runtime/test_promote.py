"""Promotion: aliases move only on a go gate and a live comparison, and always on record."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from crisp_ml.runtime.promote import AUDIT_FILE, HISTORY_FILE, main
from crisp_ml.runtime.registry import CHALLENGER, CHAMPION, PREVIOUS_CHAMPION, register
from crisp_ml.runtime.tracking import MODEL_SHA256_TAG

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Importing MLflow and logging the module's model take about 20 seconds.
pytestmark = pytest.mark.slow

GO_GATE = {
    "decision": "go",
    "metric": "f1_macro",
    "value": 0.95,
    "minimum": 0.85,
    "target": 0.9,
    "baseline": 0.4,
    "decide_on": "lower_bound",
    "compared_value": 0.91,
    "interval": {"low": 0.91, "high": 0.98, "confidence": 0.95, "resamples": 1000, "skipped": 0},
    "reasons": ["the lower bound 0.91 meets the minimum 0.85"],
}
NO_GO_GATE = {**GO_GATE, "decision": "no-go", "reasons": ["the lower bound 0.8 misses 0.85"]}


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A real SQLite store with one run and a tiny logged model, shared by the module; each
    test registers it under a registered-model name of its own."""
    import mlflow

    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("promote", artifact_location=(folder / "art").as_uri())
    model = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    with mlflow.start_run(experiment_id=experiment) as run:
        info = mlflow.sklearn.log_model(model, name="model")
    # set_tracking_uri exports MLFLOW_TRACKING_URI: leave the environment as it was.
    if previous is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous
    return {"uri": uri, "run_id": run.info.run_id, "model_uri": info.model_uri}


class Project:
    """A project folder on the shared store: params, run.json, gate.json and history."""

    def __init__(self, root: Path, logged: dict[str, str]) -> None:
        from mlflow import MlflowClient

        self.root = root
        self.logged = logged
        self.name = f"model-{root.name}"
        self.client = MlflowClient(tracking_uri=logged["uri"], registry_uri=logged["uri"])
        params = {
            "mlflow": {"registered_model": self.name},
            "deploy": {"canary": {"min_rewards": 10, "rollback_margin": 0.05}},
        }
        (root / "params.yaml").write_text(yaml.safe_dump(params))

    def train(self, sha256: str) -> str:
        """Register a version for model hash ``sha256`` and record it in run.json."""
        version = register(
            self.client,
            self.logged["run_id"],
            self.logged["model_uri"],
            self.name,
            {MODEL_SHA256_TAG: sha256},
        )
        record = {
            "model_sha256": sha256,
            "registered_model": {"name": self.name, "version": version},
        }
        self.write("reports/train/run.json", json.dumps(record))
        return version

    def write(self, path: str, text: str) -> None:
        (self.root / path).parent.mkdir(parents=True, exist_ok=True)
        (self.root / path).write_text(text)

    def gate(self, gate: dict[str, Any]) -> None:
        self.write("reports/evaluation/gate.json", json.dumps(gate))

    def history(
        self, challenger: tuple[int, float | None], champion: tuple[int, float], **extra: Any
    ) -> None:
        arms = {
            CHALLENGER: {"rewards": challenger[0], "mean_reward": challenger[1], **extra},
            CHAMPION: {"rewards": champion[0], "mean_reward": champion[1]},
        }
        entry = {"until": "2026-12-01T13:00:00.000000Z", "arms": arms}
        self.write(str(HISTORY_FILE), json.dumps({"until": "old", "arms": {}}) + "\n")
        with (self.root / HISTORY_FILE).open("a") as file:
            file.write(json.dumps(entry) + "\n")

    def promote(self, *argv: str) -> int:
        return main(list(argv), root=self.root)

    def alias(self, alias: str) -> str | None:
        from mlflow.exceptions import MlflowException

        try:
            return str(self.client.get_model_version_by_alias(self.name, alias).version)
        except MlflowException:
            return None

    def tags(self, version: str) -> dict[str, str]:
        return self.client.get_model_version(self.name, version).tags

    def audit(self) -> list[dict[str, Any]]:
        path = self.root / AUDIT_FILE
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def project(tmp_path: Path, logged: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", logged["uri"])
    # No git identity from this machine: the promoter falls back to the login name.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for login in ("LOGNAME", "USER"):  # getpass.getuser reads LOGNAME first
        monkeypatch.setenv(login, "ada")
    return Project(tmp_path, logged)


@pytest.fixture
def champion_and_challenger(project: Project) -> tuple[str, str]:
    """Version 1 champion (the first go), version 2 challenger (a second go)."""
    project.gate(GO_GATE)
    first = project.train("first")
    assert project.promote("challenger") == 0
    second = project.train("second")
    assert project.promote("challenger") == 0
    return first, second


# make promote ------------------------------------------------------------------------------


def test_a_go_gate_makes_the_version_challenger_and_tags_the_gate(project: Project) -> None:
    project.gate(GO_GATE)
    version = project.train("aaa")
    assert project.promote("challenger") == 0
    assert project.alias(CHALLENGER) == version
    tags = project.tags(version)
    assert tags["crisp.gate"] == "go"
    assert tags["crisp.gate.metric"] == "f1_macro"
    assert (tags["crisp.gate.interval.low"], tags["crisp.gate.interval.high"]) == ("0.91", "0.98")


def test_the_first_go_version_becomes_champion_too_and_says_so(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gate(GO_GATE)
    version = project.train("aaa")
    assert project.promote("challenger") == 0
    assert project.alias(CHAMPION) == version
    assert "nothing to compare it with" in capsys.readouterr().out
    [line] = project.audit()
    assert line["first_champion"] is True
    assert (line["action"], line["version"], line["by"]) == ("challenger", version, "ada")


def test_every_audit_line_names_the_store_its_version_belongs_to(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    assert project.promote("champion", "--reason", "won the A/B test", "--force") == 0
    # The store is a file outside the project, named by MLFLOW_TRACKING_URI only: its path
    # says whose machine it is, so the line keeps the file name alone.
    lines = project.audit()
    assert len(lines) == 3
    assert {line["tracking_uri"] for line in lines} == {"sqlite:///<machine-local>/mlflow.db"}


def test_a_later_go_version_is_challenger_only(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    first, second = champion_and_challenger
    assert (project.alias(CHAMPION), project.alias(CHALLENGER)) == (first, second)


def test_promoting_the_same_version_again_changes_nothing(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    before = project.audit()
    assert project.promote("challenger") == 0
    assert project.audit() == before


def test_a_no_go_gate_refuses_with_its_reasons_and_leaves_the_aliases(
    champion_and_challenger: tuple[str, str],
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = champion_and_challenger
    third = project.train("third")
    project.gate(NO_GO_GATE)
    assert project.promote("challenger") == 1
    output = capsys.readouterr()
    assert "the lower bound 0.8 misses 0.85" in output.out
    assert "no-go" in output.err
    assert (project.alias(CHAMPION), project.alias(CHALLENGER)) == (first, second)
    assert project.tags(third)["crisp.gate"] == "no-go"


def test_without_a_gate_file_promote_exits_3_and_names_the_stage(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.train("aaa")
    assert project.promote("challenger") == 3
    assert "dvc repro evaluate" in capsys.readouterr().err
    assert project.alias(CHALLENGER) is None


def test_an_unreadable_gate_or_run_record_is_a_usage_error(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.train("aaa")
    project.write("reports/evaluation/gate.json", "{not json")
    assert project.promote("challenger") == 2
    project.gate(GO_GATE)
    project.write("reports/train/run.json", json.dumps({"model_sha256": "aaa"}))
    assert project.promote("challenger") == 2
    assert "dvc repro --force train" in capsys.readouterr().err


def test_a_run_record_from_another_store_is_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    # A clone's run.json names version 1, but this store's version 1 is another model.
    project.gate(GO_GATE)
    project.train("ours")
    record = json.loads((project.root / "reports/train/run.json").read_text())
    project.write("reports/train/run.json", json.dumps({**record, "model_sha256": "theirs"}))
    assert project.promote("challenger") == 2
    assert "is another model" in capsys.readouterr().err
    project.write(
        "reports/train/run.json",
        json.dumps({**record, "registered_model": {"name": project.name, "version": "42"}}),
    )
    assert project.promote("challenger") == 2
    assert "does not exist" in capsys.readouterr().err
    assert project.alias(CHALLENGER) is None


def test_a_gate_older_than_the_model_is_refused(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    project.gate(GO_GATE)
    project.train("aaa")
    stale = hashlib.md5(b"the run.json evaluate judged").hexdigest()
    lock = {"stages": {"evaluate": {"deps": [{"path": "reports/train/run.json", "md5": stale}]}}}
    project.write("dvc.lock", yaml.safe_dump(lock))
    assert project.promote("challenger") == 2
    assert "run `dvc repro evaluate` first" in capsys.readouterr().err
    assert project.alias(CHALLENGER) is None


# promote champion ---------------------------------------------------------------------------


def test_a_good_live_comparison_makes_the_challenger_champion_on_record(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    first, second = champion_and_challenger
    project.history(challenger=(50, 0.90), champion=(400, 0.92), model_versions=[second])
    assert project.promote("champion", "--reason", "canary held for a week", "--by", "bo") == 0
    assert project.alias(CHAMPION) == second
    assert project.alias(PREVIOUS_CHAMPION) == first
    assert project.alias(CHALLENGER) is None
    tags = project.tags(second)
    assert tags["crisp.promoted_by"] == "bo"
    assert tags["crisp.promoted_reason"] == "canary held for a week"
    assert tags["crisp.previous_champion"] == first
    assert tags["crisp.promoted_at"].endswith("Z")
    line = project.audit()[-1]
    assert (line["action"], line["version"], line["previous_champion"]) == (
        "champion",
        second,
        first,
    )
    assert (line["by"], line["reason"]) == ("bo", "canary held for a week")
    assert line["live"]["challenger"] == {"rewards": 50, "mean_reward": 0.90}


def test_without_a_live_comparison_champion_is_refused_unless_forced(
    champion_and_challenger: tuple[str, str],
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = champion_and_challenger
    assert project.promote("champion", "--reason", "looks fine") == 1
    assert "make monitor" in capsys.readouterr().err
    assert project.alias(CHAMPION) == first
    assert project.promote("champion", "--reason", "no traffic yet", "--force") == 0
    assert project.alias(CHAMPION) == second
    assert project.audit()[-1]["live"]["forced"] is True


def test_a_window_without_challenger_feedback_is_no_comparison(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    _, second = champion_and_challenger
    project.history(challenger=(0, None), champion=(500, 0.92))
    assert project.promote("champion", "--reason", "x") == 1
    assert project.promote("champion", "--reason", "x", "--force") == 0
    assert project.alias(CHAMPION) == second


def test_a_worse_challenger_is_refused(
    champion_and_challenger: tuple[str, str],
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, _ = champion_and_challenger
    project.history(challenger=(500, 0.80), champion=(500, 0.92))
    assert project.promote("champion", "--reason", "x", "--force") == 1
    assert "below the champion's 0.92" in capsys.readouterr().err
    assert project.alias(CHAMPION) == first


def test_too_few_rewards_are_refused_even_when_forced(
    champion_and_challenger: tuple[str, str],
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    project.history(challenger=(9, 0.99), champion=(500, 0.92))
    assert project.promote("champion", "--reason", "x", "--force") == 1
    assert "9 rewards, fewer than the 10 needed" in capsys.readouterr().err


def test_a_comparison_of_an_older_challenger_does_not_count(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    first, _ = champion_and_challenger
    project.history(challenger=(500, 0.99), champion=(500, 0.92), model_versions=["999"])
    assert project.promote("champion", "--reason", "x") == 1
    assert project.alias(CHAMPION) == first


def test_promote_min_feedback_overrides_the_canary_setting(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    params = yaml.safe_load((project.root / "params.yaml").read_text())
    params["promote"] = {"min_feedback": 1000}
    (project.root / "params.yaml").write_text(yaml.safe_dump(params))
    project.history(challenger=(500, 0.99), champion=(500, 0.92))
    assert project.promote("champion", "--reason", "x") == 1


def test_champion_needs_a_reason(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    first, _ = champion_and_challenger
    with pytest.raises(SystemExit) as exit_:
        project.promote("champion")
    assert exit_.value.code == 2
    assert project.promote("champion", "--reason", "  ") == 2
    assert project.alias(CHAMPION) == first


def test_champion_needs_a_challenger_with_a_go_gate(
    project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    assert project.promote("champion", "--reason", "x") == 1
    assert "run `make promote` first" in capsys.readouterr().err
    # An alias set by hand, around make promote: no gate tag, no promotion.
    version = project.train("aaa")
    project.client.set_registered_model_alias(project.name, CHALLENGER, version)
    project.history(challenger=(500, 0.99), champion=(500, 0.92))
    assert project.promote("champion", "--reason", "x", "--force") == 1
    assert "has no go gate" in capsys.readouterr().err


def test_the_promoter_defaults_to_git_user_name(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    subprocess.run(["git", "init", "-q"], cwd=project.root, check=True, timeout=10)
    subprocess.run(
        ["git", "config", "user.name", "Grace"], cwd=project.root, check=True, timeout=10
    )
    project.history(challenger=(50, 0.9), champion=(50, 0.9))
    assert project.promote("champion", "--reason", "x") == 0
    assert project.audit()[-1]["by"] == "Grace"


# promote rollback ----------------------------------------------------------------------------


def test_rollback_restores_the_previous_champion_and_can_itself_be_undone(
    champion_and_challenger: tuple[str, str], project: Project
) -> None:
    first, second = champion_and_challenger
    project.history(challenger=(50, 0.9), champion=(50, 0.9))
    assert project.promote("champion", "--reason", "better") == 0
    assert project.promote("rollback", "--reason", "complaints", "--by", "cy") == 0
    assert (project.alias(CHAMPION), project.alias(PREVIOUS_CHAMPION)) == (first, second)
    assert project.tags(second)["crisp.rolled_back_reason"] == "complaints"
    line = project.audit()[-1]
    assert (line["action"], line["version"], line["by"]) == ("rollback", first, "cy")
    assert project.promote("rollback", "--reason", "false alarm") == 0
    assert project.alias(CHAMPION) == second


def test_rollback_without_a_previous_champion_is_refused(project: Project) -> None:
    assert project.promote("rollback", "--reason", "x") == 1
