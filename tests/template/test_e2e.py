"""End to end: generate a project and drive it through its own README, as a new team would.

Per answer set with the example: render with Copier's Python API, then run, one by one, the
commands of the generated README's "Getting started" block (`make setup`, a first commit
that runs the pre-commit hooks, `make repro`, `make test`, `make lint`, `pre-commit run
--all-files`, `make gate`, a second commit, `make tags`), exactly as written. Nothing is
installed the test's own way: `make setup` installs the project and crisp-ml's wheel (built
from this checkout, found through pip's own `PIP_FIND_LINKS`), and no command may reach a
code host. Then check what the run left behind: MLflow runs tied to code and data, the gate
decision, a self-contained dashboard, hooks that really guard commits, and a fresh clone
that gets every output back from the DVC remote.

Only the first project pays for `make setup`'s downloads: later projects get a `.venv`
symlink to the same environment, and their own `make setup` then installs just themselves.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from template_rendering import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from readme_commands import (
    activate,
    background_command,
    background_commands,
    background_logs,
    getting_started_commands,
    start_background,
)

# The README's own commands, twice over (two answer sets), with a server in the loop: the
# fixtures that run them outlast the suite's default 900 s per test on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

IDENTITY = {
    "GIT_AUTHOR_NAME": "crisp-ml tests",
    "GIT_AUTHOR_EMAIL": "tests@crisp-ml.invalid",
    "GIT_COMMITTER_NAME": "crisp-ml tests",
    "GIT_COMMITTER_EMAIL": "tests@crisp-ml.invalid",
}
# Distinct names, so both projects can be installed in the one shared environment.
VARIANTS = {
    "classification": {"project_name": "E2E Classification"},
    "regression": {"project_name": "E2E Regression", "ml_task": "regression", "metric": "rmse"},
}
COMMAND_TIMEOUT_SECONDS = 900  # `make setup` downloads mlflow, dvc and scikit-learn once
# An external script or stylesheet would make the dashboard depend on the network.
EXTERNAL_RESOURCE = re.compile(
    r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//"""
    r"""|@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE,
)


@dataclass
class Generated:
    """A generated project after its README's getting-started commands."""

    root: Path
    env: dict[str, str]  # with the project's .venv activated, as the README does
    answers: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)  # per README command

    @property
    def python(self) -> Path:
        return self.root / ".venv" / "bin" / "python"

    @property
    def package(self) -> str:
        return self.answers_file()["package_name"]

    def answers_file(self) -> dict[str, Any]:
        return yaml.safe_load((self.root / ".copier-answers.yml").read_text(encoding="utf-8"))

    def run(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        return run(list(args), self.root, self.env, timeout, check).stdout

    def json(self, path: str) -> Any:
        return json.loads((self.root / path).read_text(encoding="utf-8"))


def run(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"`{' '.join(args)}` exited {result.returncode} in {cwd}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )
    return result


def outside_environment(scratch: Path, wheelhouse: Path) -> dict[str, str]:
    """The environment of a new user's shell: no test venv on PATH, crisp-ml's wheel findable."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"VIRTUAL_ENV", "PYTHONPATH", "MLFLOW_TRACKING_URI", "PYTHONHOME"}
    }
    own_bin = str(Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != own_bin)
    env.update(IDENTITY)
    env.update(
        {
            "DVC_NO_ANALYTICS": "1",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DO_NOT_TRACK": "1",
            "DVC_SITE_CACHE_DIR": str(scratch / "dvc-site-cache"),
            "PRE_COMMIT_HOME": str(scratch / "pre-commit-home"),  # no cached hook repos
            "PIP_FIND_LINKS": f"{wheelhouse} {os.environ.get('PIP_FIND_LINKS', '')}".strip(),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
    )
    return env


def follow_readme(root: Path, env: dict[str, str]) -> tuple[dict[str, str], dict[str, float]]:
    """Run the README's getting-started commands; the activated env and each one's seconds.

    Background commands (`make serve &`) run until the last command is done and are then
    stopped by their PIDs, as scripts/readme_commands.py does for `make demo`.
    """
    commands = getting_started_commands((root / "README.md").read_text(encoding="utf-8"))
    seconds: dict[str, float] = {}
    with background_commands() as started:
        for command in commands:
            activated = activate(command, root, env)
            if activated is not None:
                env = activated
                continue
            if (in_background := background_command(command)) is not None:
                start_background(in_background, root, env, started)
                continue
            print(f"\n{root.name}: $ {command}", flush=True)
            began = time.monotonic()
            result = run(["bash", "-c", command], root, env, COMMAND_TIMEOUT_SECONDS, check=False)
            if result.returncode != 0:
                pytest.fail(
                    f"`{command}` exited {result.returncode} in {root}\n"
                    f"--- stdout ---\n{result.stdout[-4000:]}\n"
                    f"--- stderr ---\n{result.stderr[-4000:]}\n{background_logs(started)}"
                )
            seconds[command] = time.monotonic() - began
    return env, seconds


@pytest.fixture(scope="session")
def shared_venv(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The first project's .venv, once it exists: later projects link to it."""
    return {}


def readme_project(
    answers: dict[str, Any],
    render: Any,
    wheelhouse: Path,
    shared_venv: dict[str, Path],
    scratch: Path,
) -> Generated:
    root = render(answers)
    if "venv" in shared_venv:
        (root / ".venv").symlink_to(shared_venv["venv"], target_is_directory=True)
    env, seconds = follow_readme(root, outside_environment(scratch, wheelhouse))
    shared_venv.setdefault("venv", (root / ".venv").resolve())
    for command, took in seconds.items():
        print(f"\n{root.name}: `{command}` took {took:.1f} s")
    return Generated(root, env, answers, seconds)


@pytest.fixture(scope="module", params=list(VARIANTS))
def generated(
    request: pytest.FixtureRequest,
    render: Any,
    wheelhouse: Path,
    shared_venv: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Generated]:
    scratch = tmp_path_factory.mktemp(f"e2e-{request.param}")
    yield readme_project(VARIANTS[request.param], render, wheelhouse, shared_venv, scratch)


# What the README's commands did --------------------------------------------------------------


def test_make_setup_installed_crisp_ml_by_name_from_pip_s_own_sources(
    generated: Generated, wheelhouse: Path
) -> None:
    pyproject = tomllib.loads((generated.root / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = pyproject["project"]["dependencies"]
    assert f"crisp-ml[runtime]=={project_version()}" in dependencies, (
        "pinned to the release that generated it"
    )
    installed = json.loads(generated.run("python", "-m", "pip", "list", "--format", "json"))
    versions = {package["name"].lower(): package["version"] for package in installed}
    assert versions["crisp-ml"] == project_version()
    assert list(wheelhouse.glob(f"crisp_ml-{project_version()}-*.whl"))
    origin = "import importlib.metadata as m; print(m.distribution('crisp-ml').read_text(%r))"
    direct_url = generated.run("python", "-c", origin % "direct_url.json").strip()
    assert direct_url == "None", f"installed from a URL or path: {direct_url}"


def project_version() -> str:
    return tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_git_init_made_the_branch_ci_runs_on(generated: Generated) -> None:
    branch = generated.run("git", "branch", "--show-current").strip()
    ci = yaml.safe_load((generated.root / ".github/workflows/ci.yml").read_text())
    assert branch == "main" == generated.answers_file()["default_branch"]
    assert ci[True]["push"]["branches"] == [branch]  # YAML 1.1 reads the key `on` as True


def test_dvc_lock_covers_every_stage_and_nothing_is_stale(generated: Generated) -> None:
    stages = yaml.safe_load((generated.root / "dvc.yaml").read_text())["stages"]
    lock = yaml.safe_load((generated.root / "dvc.lock").read_text())["stages"]
    assert set(lock) == set(stages)
    assert {
        "ingest",
        "validate",
        "prepare",
        "split",
        "baseline",
        "train",
        "evaluate",
        "monitor",
    } <= set(stages)
    assert json.loads(generated.run("dvc", "status", "--json")) == {}


def test_every_commit_passed_the_hooks_and_left_a_clean_tree(generated: Generated) -> None:
    log = generated.run("git", "log", "--format=%s").splitlines()
    assert log == ["Monitoring history", "Pipeline results", "Start from the crisp-ml template"]
    assert "pre-commit" in (generated.root / ".git/hooks/pre-commit").read_text()
    assert generated.run("git", "status", "--porcelain") == ""


def test_the_commit_hooks_refuse_what_they_guard_against(generated: Generated) -> None:
    secret = generated.root / "notes" / "deploy-key.txt"
    secret.parent.mkdir()
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n")
    generated.run("git", "add", "notes")
    try:
        refused = run(
            ["git", "commit", "--quiet", "-m", "A key"], generated.root, generated.env, 300, False
        )
        assert refused.returncode != 0
        assert "detect private key" in refused.stdout + refused.stderr
    finally:
        generated.run("git", "rm", "--cached", "--quiet", "-r", "notes")
        secret.unlink()
        secret.parent.rmdir()


def test_checking_out_a_branch_runs_the_dvc_hook_without_errors(generated: Generated) -> None:
    switched = run(["git", "checkout", "-b", "try-out"], generated.root, generated.env, 300)
    back = run(["git", "checkout", "main"], generated.root, generated.env, 300)
    for result in (switched, back):
        assert "error" not in (result.stdout + result.stderr).lower(), result.stderr
    generated.run("git", "branch", "-D", "try-out")


# What the pipeline produced ------------------------------------------------------------------


def test_the_gate_decides_on_the_phase_one_criteria(generated: Generated) -> None:
    criteria = yaml.safe_load(
        (generated.root / "phases/01-business-understanding/success-criteria.yaml").read_text()
    )
    gate = generated.json("reports/evaluation/gate.json")
    assert gate["decision"] == "go", gate["reasons"]  # the README's `make gate` passed
    assert (gate["metric"], gate["minimum"], gate["target"]) == (
        criteria["metric"],
        criteria["minimum"],
        criteria["target"],
    )
    assert gate["decide_on"] == criteria["decide_on"] == "lower_bound"
    interval = gate["interval"]
    assert interval["low"] <= gate["value"] <= interval["high"]
    assert interval["confidence"] == 0.95 and interval["resamples"] >= 500
    decision = (generated.root / "reports/evaluation/decision.md").read_text()
    assert "GO: deploy" in decision and "95% CI" in decision


def test_a_no_go_model_fails_make_gate_and_the_ci_gate_step(generated: Generated) -> None:
    criteria = generated.root / "phases/01-business-understanding/success-criteria.yaml"
    original = criteria.read_text(encoding="utf-8")
    direction = yaml.safe_load(original)["direction"]
    unreachable = {"maximize": "0.99999", "minimize": "0.00001"}[direction]
    criteria.write_text(
        re.sub(r"(?m)^(minimum|target): .*$", rf"\1: {unreachable}", original), encoding="utf-8"
    )
    try:
        generated.run("dvc", "repro", "evaluate")
        assert generated.json("reports/evaluation/gate.json")["decision"] == "no-go"
        made = run(["make", "gate"], generated.root, generated.env, 120, check=False)
        assert made.returncode != 0 and "no-go (gate_check exit code 1)" in made.stderr
        ci = yaml.safe_load((generated.root / ".github/workflows/ci.yml").read_text())
        step = next(s for s in ci["jobs"]["repro"]["steps"] if s.get("name") == "evaluation gate")
        in_ci = run(["bash", "-e", "-c", step["run"]], generated.root, generated.env, 120, False)
        assert in_ci.returncode == 1, in_ci.stdout + in_ci.stderr
    finally:
        criteria.write_text(original, encoding="utf-8")
        generated.run("dvc", "repro")
    assert generated.run("git", "status", "--porcelain") == ""


def test_evaluation_reports_robustness_and_explainability(generated: Generated) -> None:
    metric = generated.json("reports/evaluation/gate.json")["metric"]
    assert metric in generated.json("reports/evaluation/metrics.json")["model"]
    robustness = generated.json("reports/evaluation/robustness.json")
    levels = [point["noise"] for point in robustness["noise"]]
    assert levels[0] == 0.0 and levels == sorted(levels) and len(levels) > 1
    assert robustness["slices"]
    importance = generated.json("reports/evaluation/explainability.json")["features"]
    assert importance and all("importance_mean" in entry for entry in importance)
    quality = generated.json("reports/data-quality/report.json")
    assert quality["passed"] and "rows" in quality["reliability"]


def test_the_dashboard_is_one_self_contained_page(generated: Generated) -> None:
    html = (generated.root / "reports/monitoring/dashboard.html").read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert not EXTERNAL_RESOURCE.search(html), EXTERNAL_RESOURCE.search(html)
    assert "drifted_features" in generated.json("reports/monitoring/drift.json")["drift"]
    assert "retrain" in generated.json("reports/monitoring/retrain.json")
    shown = run(["make", "dashboard"], generated.root, {**generated.env, "DISPLAY": ""}, 120)
    assert "reports/monitoring/dashboard.html" in shown.stdout


# The production loop the README ran: promote, serve, simulate, monitor ----------------------


def test_make_promote_gave_the_go_version_both_aliases(
    generated: Generated, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    store = f"sqlite:///{generated.root / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    registered = generated.json("reports/train/run.json")["registered_model"]
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    # The first go version has nothing to compare with, so it is champion and challenger.
    for alias in ("champion", "challenger"):
        version = client.get_model_version_by_alias(registered["name"], alias)
        assert str(version.version) == str(registered["version"]), alias
        assert version.tags["crisp.gate"] == "go", alias
    audit = (generated.root / "reports/deployment/promotions.jsonl").read_text(encoding="utf-8")
    promotions = [json.loads(line) for line in audit.splitlines()]
    assert [entry["action"] for entry in promotions] == ["challenger"]
    assert promotions[0]["by"] and promotions[0]["version"] == str(registered["version"])


def prediction_log(generated: Generated) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(generated.root / "predictions.db") as db:
        served = db.execute("SELECT count(*) FROM predictions WHERE NOT shadow").fetchone()[0]
        labelled = db.execute("SELECT count(*) FROM feedback").fetchone()[0]
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    return {"served": served, "labelled": labelled, "wal": int(mode == "wal")}


def test_every_simulated_request_and_label_reached_the_prediction_log(
    generated: Generated,
) -> None:
    history = history_entries(generated)
    logged = prediction_log(generated)
    # Held-out rows, then their shifted copy: each served once and labelled once.
    assert logged["served"] == sum(entry["rows"] for entry in history) > 0
    assert logged["labelled"] == logged["served"]
    assert logged["wal"] == 1
    assert "predictions.db" in generated.run("git", "check-ignore", "predictions.db")


def history_entries(generated: Generated) -> list[dict[str, Any]]:
    text = (generated.root / "reports/monitoring/history.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_monitoring_kept_a_history_of_two_windows_and_saw_the_shift(generated: Generated) -> None:
    held_out, shifted = history_entries(generated)  # the last `make monitor` added nothing
    assert held_out["since"] is None and shifted["since"] == held_out["until"]
    criteria = yaml.safe_load(
        (generated.root / "phases/01-business-understanding/success-criteria.yaml").read_text()
    )
    for entry in (held_out, shifted):
        assert entry["labelled_rows"] == entry["rows"]
        assert entry["quality"]["value"] is not None
        assert entry["quality"]["target"] == criteria["target"]
        assert entry["quality"]["minimum"] == criteria["minimum"]
        assert entry["arms"]["champion"]["served"] > 0
    assert shifted["drift"]["drifted_share"] > held_out["drift"]["drifted_share"]
    trigger = generated.json("reports/monitoring/retrain.json")
    assert isinstance(trigger["retrain"], bool) and "reasons" in trigger


def chromium() -> str | None:
    import shutil

    found = (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome"))
    return next((path for path in found if path), None)


def test_the_dashboard_shows_the_history_in_headless_chromium(
    generated: Generated, tmp_path: Path
) -> None:
    browser = chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (.ci/run installs Debian's package)")
        pytest.skip("no Chromium here: .ci/run installs it")
    page = (generated.root / "reports/monitoring/dashboard.html").resolve()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]
    dom = run([browser, *flags, "--dump-dom", page.as_uri()], tmp_path, dict(os.environ), 120)
    rendered = dom.stdout
    assert "<svg" in rendered, "the trend is drawn"
    for entry in history_entries(generated):
        assert entry["until"][:10] in rendered or entry["until"][:16] in rendered
    screenshot = tmp_path / "dashboard.png"
    run(
        [browser, *flags, f"--screenshot={screenshot}", "--window-size=1280,2000", page.as_uri()],
        tmp_path,
        dict(os.environ),
        120,
    )
    assert screenshot.stat().st_size > 10_000, "a blank page is a few hundred bytes"


def test_an_unchanged_rerun_rewrites_no_committed_output(generated: Generated) -> None:
    generated.run("dvc", "repro", "--force", timeout=600)
    assert generated.run("git", "status", "--porcelain") == "", "a weekly retrain would open a PR"


def test_mlflow_holds_train_and_evaluate_runs_tied_to_code_and_data(
    generated: Generated, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    # set_tracking_uri also exports MLFLOW_TRACKING_URI; monkeypatch takes it back afterwards,
    # so no later test's subprocess inherits this project's store.
    store = f"sqlite:///{generated.root / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    mlflow.set_tracking_uri(store)
    experiment = yaml.safe_load((generated.root / "params.yaml").read_text())["mlflow"]
    runs = mlflow.search_runs(experiment_names=[experiment["experiment"]], output_format="list")
    # Newest first, so the earliest run of each stage is the one left in the mapping.
    first = {r.data.tags.get("stage"): r for r in sorted(runs, key=start_time, reverse=True)}
    assert {"train", "evaluate"} <= set(first)

    # The README commits before the first `make repro`, so the first runs name that commit.
    commit = generated.run("git", "rev-list", "--max-parents=0", "HEAD").strip()
    lock = yaml.safe_load((generated.root / "dvc.lock").read_text())["stages"]
    dataset_md5 = next(o["md5"] for o in lock["prepare"]["outs"] if o["path"] == "data/prepared")
    raw_md5 = next(o["md5"] for o in lock["ingest"]["outs"] if o["path"] == "data/raw")
    for stage in ("train", "evaluate"):
        tags = first[stage].data.tags
        assert tags["mlflow.source.git.commit"] == commit, stage
        assert tags["crisp.git.state"] == "clean", stage
        assert tags["data_version"] == tags["dvc.dataset.md5"] == dataset_md5, stage
        assert tags["dvc.raw.md5"] == raw_md5, stage
        assert first[stage].data.params, stage

    train, evaluate = first["train"], first["evaluate"]
    metric = generated.json("reports/evaluation/gate.json")["metric"]
    assert train.data.params["model"] == "random_forest"
    assert f"val_{metric}" in train.data.metrics
    assert evaluate.data.metrics[f"test_{metric}"] == pytest.approx(
        generated.json("reports/evaluation/gate.json")["value"]
    )
    assert evaluate.data.tags["train_run_id"] == train.info.run_id

    pointer = generated.json("reports/train/run.json")
    # The registered version is train's too: the registry tags it with the same model hash.
    registered = pointer.pop("registered_model")
    # Explicit stores: an earlier test in this process may have set MLflow's global registry.
    client = mlflow.MlflowClient(tracking_uri=store, registry_uri=store)
    version = client.get_model_version(registered["name"], registered["version"])
    assert registered["name"] == experiment["experiment"]
    assert version.tags["model.sha256"] == train.data.tags["model.sha256"]
    assert pointer == {
        "experiment": experiment["experiment"],
        "tracking_uri": "sqlite:///mlflow.db",  # project-relative: the same in every clone
        "model_sha256": train.data.tags["model.sha256"],
        "git_state": "clean",
    }
    assert evaluate.data.tags["model.sha256"] == pointer["model_sha256"]
    info = mlflow.models.get_model_info(train.data.tags["model_uri"])
    assert info.run_id == train.info.run_id
    assert info.signature is not None and info.signature.inputs.input_names()
    assert info.saved_input_example_info is not None


def start_time(run_: Any) -> int:
    return run_.info.start_time


def test_make_tags_marked_the_committed_data_versions(generated: Generated) -> None:
    assert generated.run("git", "tag", "--list").split() == ["dataset-v1", "raw-v1"]
    assert "already tagged raw-v1" in generated.run("make", "tags")


def test_git_push_pushes_the_data_and_a_fresh_clone_pulls_it_back(generated: Generated) -> None:
    # `git push` runs the dvc-pre-push hook: data and models reach the DVC remote with the
    # commits that need them. Both folders sit beside the original, so the default local
    # remote (a path relative to the project) is the same folder for the clone.
    origin = generated.root.parent / f"{generated.root.name}-origin.git"
    generated.run("git", "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    generated.run("git", "remote", "add", "origin", str(origin))
    pushed = run(["git", "push", "origin", "main"], generated.root, generated.env, 300)
    assert "dvc push" in pushed.stdout + pushed.stderr  # the hook's name in pre-commit's output
    clone = generated.root.parent / f"{generated.root.name}-clone"
    generated.run("git", "clone", "--quiet", str(origin), str(clone))
    run(["dvc", "pull"], clone, generated.env, 300)
    status = run(["dvc", "status", "--json"], clone, generated.env, 120)
    assert json.loads(status.stdout) == {}
    assert (clone / "models/model.joblib").is_file()


# Every success metric on offer, and a project without the example ---------------------------

# Every success metric the questionnaire offers, with the task that measures it. The two
# `generated` variants run the whole pipeline for f1_macro and rmse; the others must at
# least get through the example's stages (roc_auc once failed on a slice missing a class).
OTHER_METRICS = {
    "accuracy": "classification",
    "roc_auc": "classification",
    "precision_macro": "classification",
    "recall_macro": "classification",
    "mae": "regression",
    "r2": "regression",
}


def test_every_metric_on_offer_is_covered_here(questionnaire: dict[str, Any]) -> None:
    offered = {choice["value"] for choice in questionnaire["metric"]["choices"].values()}
    assert offered == set(OTHER_METRICS) | {"f1_macro", "rmse"}


@pytest.mark.parametrize("metric", list(OTHER_METRICS))
def test_the_example_stages_run_for_every_success_metric(render: Any, metric: str) -> None:
    root = render({"ml_task": OTHER_METRICS[metric], "metric": metric})
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    env["PYTHONPATH"] = str(root / "src")
    run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_stages.py"],
        root,
        env,
        600,
    )


@pytest.fixture(scope="module")
def without_example(
    render: Any,
    wheelhouse: Path,
    shared_venv: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Generated:
    scratch = tmp_path_factory.mktemp("e2e-no-example")
    answers = {"project_name": "E2E Bare", "include_example": False}
    return readme_project(answers, render, wheelhouse, shared_venv, scratch)


def test_a_project_without_the_example_follows_its_readme_too(without_example: Generated) -> None:
    root = without_example.root
    assert not list((root / "src").glob("*/train.py"))
    assert yaml.safe_load((root / "dvc.yaml").read_text()) == {"stages": {}}
    assert "make repro" in without_example.seconds


def test_without_the_example_make_dashboard_and_make_gate_say_why(
    without_example: Generated,
) -> None:
    dashboard = run(["make", "dashboard"], without_example.root, without_example.env, 60, False)
    assert dashboard.returncode != 0 and "no `monitor` stage" in dashboard.stderr
    gate = run(["make", "gate"], without_example.root, without_example.env, 60, False)
    assert gate.returncode != 0 and "no gate result yet" in gate.stderr
    checked = run(
        ["python", "-m", "crisp_ml.runtime.gate_check"],
        without_example.root,
        without_example.env,
        60,
        False,
    )
    assert checked.returncode == 3, checked.stderr
