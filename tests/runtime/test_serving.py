"""The serving app: every strategy through the router, feedback, restarts, bad input.

Real parts only: a tiny scikit-learn model logged to a real SQLite MLflow store and loaded
by registry alias, the real prediction log on SQLite in tmp_path, FastAPI's TestClient, and
one real uvicorn process.
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from crisp_ml.runtime.predlog import Prediction
from crisp_ml.runtime.registry import LoadedModel
from crisp_ml.runtime.router import CHALLENGER, CHAMPION
from crisp_ml.runtime.serving import Served, create_app, label_reward, main, serve_settings
from crisp_ml.runtime.serving_metrics import ServingMetrics
from crisp_ml.runtime.serving_models import Scorer, ServingError
from crisp_ml.runtime.serving_payload import check_features

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Tests that use the MLflow store: importing MLflow and logging two models take ~20 s.
store_test = pytest.mark.slow

FEATURES = ["mean radius", "mean texture"]
ROW = {"mean radius": 20.0, "mean texture": 10.0}
STRATEGIES = {
    "ab": {"challenger_fraction": 0.5},
    "bandit": {"algorithm": "thompson"},
    "shadow": {},
    "canary": {"steps": [0.5], "rollback_margin": 0.05, "min_rewards": 5},
}
CATALOG = {
    "sources": [
        {
            "name": "tumours",
            "columns": [
                {"name": "id", "type": "integer", "role": "key"},
                *({"name": f, "type": "number", "range": [0, 50]} for f in FEATURES),
                {"name": "diagnosis", "type": "integer", "role": "target"},
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real SQLite MLflow store with two logged classifiers: a fitted logistic regression
    (the champion) and a constant model that always says 0 (the challenger)."""
    import mlflow

    folder = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.create_experiment("serving", artifact_location=(folder / "a").as_uri())
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.uniform(0, 40, size=(60, 2)), columns=FEATURES)
    y = (X["mean radius"] > 20).astype(int)
    logged = {}
    for arm, model in (
        (CHAMPION, LogisticRegression().fit(X, y)),
        (CHALLENGER, DummyClassifier(strategy="constant", constant=0).fit(X, y)),
    ):
        with mlflow.start_run(experiment_id=experiment) as run:
            info = mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
        logged[arm] = (run.info.run_id, info.model_uri)
    if previous is None:  # set_tracking_uri exports MLFLOW_TRACKING_URI: undo it
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = previous
    return {"uri": uri, "logged": logged}


def register(store: dict[str, Any], name: str, aliases: dict[str, str]) -> None:
    """Register both logged models under ``name`` (champion v1, challenger v2), then set
    each alias to its arm's version."""
    from mlflow import MlflowClient

    from crisp_ml.runtime.registry import register as register_version

    client = MlflowClient(tracking_uri=store["uri"], registry_uri=store["uri"])
    versions = {
        arm: register_version(client, run_id, model_uri, name, {})
        for arm, (run_id, model_uri) in store["logged"].items()
    }
    for alias, arm in aliases.items():
        client.set_registered_model_alias(name, alias, versions[arm])


def make_project(
    root: Path,
    store: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    strategy: str = "ab",
    aliases: dict[str, str] | None = None,
    log: str | None = None,
) -> Path:
    """A project folder: params.yaml, the data catalog, a registered model of its own."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", store["uri"])
    monkeypatch.delenv("CRISP_PREDICTION_LOG_URL", raising=False)
    name = f"model-{root.name}"
    register(store, name, aliases or {CHAMPION: CHAMPION, CHALLENGER: CHALLENGER})
    params = {
        "mlflow": {"registered_model": name},
        "deploy": {"strategy": strategy, strategy: STRATEGIES[strategy], "seed": 0},
        "serve": {"prediction_log": log or f"sqlite:///{root / 'predictions.db'}"},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    catalog = root / "phases/03-data-understanding/data-catalog.yaml"
    catalog.parent.mkdir(parents=True)
    catalog.write_text(yaml.safe_dump(CATALOG, sort_keys=False), encoding="utf-8")
    return root


class Apps:
    """Starts apps on projects of one test and shuts down whichever are still running."""

    def __init__(self, root: Path, store: dict[str, Any], monkeypatch: pytest.MonkeyPatch):
        self.root, self.store, self.monkeypatch = root, store, monkeypatch
        self.running: list[TestClient] = []

    def __call__(self, strategy: str = "ab", root: Path | None = None, **options: Any):
        """A TestClient on the app of a new project (or of ``root``), started."""
        if root is None:
            root = make_project(self.root, self.store, self.monkeypatch, strategy, **options)
        client = TestClient(create_app(root))
        client.__enter__()  # runs the lifespan: shutdown saves the state and closes the log
        self.running.append(client)
        return client

    def stop(self, client: TestClient) -> None:
        self.running.remove(client)
        client.__exit__(None, None, None)


@pytest.fixture
def serve(tmp_path: Path, store: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Apps]:
    apps = Apps(tmp_path, store, monkeypatch)
    yield apps
    for client in list(apps.running):
        apps.stop(client)


def predict(client: TestClient, key: str | None = None, row: dict | None = None) -> dict:
    response = client.post("/predict", json={"features": row or ROW, "key": key})
    assert response.status_code == 200, response.text
    return response.json()


def logged_rows(client: TestClient) -> pd.DataFrame:
    log = client.app.state.service.log
    assert log.flush(timeout=10)
    return log.read_window(include_shadow=True)


# Predictions -------------------------------------------------------------------------------


@store_test
def test_a_single_row_gets_an_id_a_prediction_its_probabilities_arm_and_version(serve) -> None:
    client = serve("ab")
    answer = predict(client, key="alice")
    assert len(answer["ids"]) == 1
    assert answer["arm"] in (CHAMPION, CHALLENGER)
    assert answer["model_version"] == {CHAMPION: "1", CHALLENGER: "2"}[answer["arm"]]
    assert answer["predictions"][0] in (0, 1)
    assert set(answer["probabilities"][0]) == {"0", "1"}
    assert math.isclose(sum(answer["probabilities"][0].values()), 1.0)


@store_test
def test_a_batch_gets_one_id_and_one_prediction_per_row_and_each_row_is_logged(serve) -> None:
    client = serve("ab")
    rows = [
        ROW,
        {"mean radius": 30.0, "mean texture": 5.0},
        {"mean radius": 1.0, "mean texture": 1.0},
    ]
    response = client.post("/predict", json={"instances": rows, "key": "bob"})
    assert response.status_code == 200
    answer = response.json()
    assert len(answer["ids"]) == len(answer["predictions"]) == 3
    logged = logged_rows(client)
    assert sorted(logged["id"]) == sorted(answer["ids"])
    assert set(logged["arm"]) == {answer["arm"]}


@store_test
def test_ab_keeps_each_key_on_one_arm_and_splits_keys_between_the_arms(serve) -> None:
    client = serve("ab")
    for key in ("alice", "bob", "carol"):
        assert len({predict(client, key=key)["arm"] for _ in range(5)}) == 1
    arms = Counter(predict(client, key=f"user-{i}")["arm"] for i in range(60))
    assert arms[CHAMPION] > 10 and arms[CHALLENGER] > 10


@store_test
def test_the_bandit_learns_from_feedback_to_prefer_the_better_arm(serve) -> None:
    client = serve("bandit")
    for _ in range(80):
        answer = predict(client)
        reward = 1.0 if answer["arm"] == CHALLENGER else 0.0
        response = client.post("/feedback", json={"id": answer["ids"][0], "reward": reward})
        assert response.status_code == 200
    late = Counter(predict(client)["arm"] for _ in range(40))
    assert late[CHALLENGER] >= 36


@store_test
def test_shadow_answers_with_the_champion_and_logs_the_challenger_on_the_side(serve) -> None:
    client = serve("shadow")
    answers = [predict(client, row={"mean radius": 45.0, "mean texture": 3.0}) for _ in range(3)]
    assert {a["arm"] for a in answers} == {CHAMPION}
    assert {a["predictions"][0] for a in answers} == {1}  # the challenger would say 0
    logged = logged_rows(client)
    shadow = logged[logged["shadow"].astype(bool)]
    assert len(shadow) == 3
    assert set(shadow["arm"]) == {CHALLENGER} and set(shadow["model_version"]) == {"2"}
    assert list(shadow["prediction"]) == [0, 0, 0]
    assert not set(shadow["id"]) & {a["ids"][0] for a in answers}


@store_test
def test_canary_rolls_back_to_the_champion_after_bad_rewards(serve) -> None:
    client = serve("canary")
    for i in range(200):
        answer = predict(client, key=f"user-{i}")
        reward = 0.0 if answer["arm"] == CHALLENGER else 1.0
        client.post("/feedback", json={"id": answer["ids"][0], "reward": reward})
        if client.app.state.service.router.strategy.rolled_back:
            break
    assert client.app.state.service.router.strategy.rolled_back
    assert {predict(client, key=f"user-{i}")["arm"] for i in range(50)} == {CHAMPION}
    assert "crisp_serving_router_rolled_back 1" in client.get("/metrics").text


@store_test
def test_with_champion_and_challenger_on_one_version_the_champion_serves_alone(serve) -> None:
    client = serve("ab", aliases={CHAMPION: CHAMPION, CHALLENGER: CHAMPION})
    assert {predict(client, key=f"user-{i}")["arm"] for i in range(30)} == {CHAMPION}
    health = client.get("/health").json()
    assert health["strategy"] == "champion-only"
    assert health["models"] == {CHAMPION: "1", CHALLENGER: None}


@store_test
def test_without_a_champion_the_app_refuses_to_start_and_says_what_to_run(
    tmp_path: Path, store: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path, store, monkeypatch, aliases={CHALLENGER: CHALLENGER})
    with pytest.raises(
        ServingError, match=r"no model has the alias champion in sqlite:.*make promote"
    ):
        create_app(root)
    with pytest.raises(SystemExit, match=r"serve: error: no model has the alias champion"):
        main(["--root", str(root)])


# Feedback ----------------------------------------------------------------------------------


@store_test
def test_a_label_becomes_a_reward_for_the_arm_that_answered(serve) -> None:
    client = serve("ab")
    answer = predict(client, key="alice", row={"mean radius": 45.0, "mean texture": 3.0})
    right = 1 if answer["arm"] == CHAMPION else 0
    response = client.post("/feedback", json={"id": answer["ids"][0], "label": right})
    assert response.status_code == 200
    assert response.json() == {
        "id": answer["ids"][0],
        "status": "recorded",
        "reward": 1.0,
        "arm": answer["arm"],
    }
    stats = client.app.state.service.router.stats[answer["arm"]]
    assert (stats.rewards, stats.reward_sum) == (1, 1.0)


@store_test
def test_feedback_on_an_unknown_id_is_404_and_a_second_feedback_is_409(serve) -> None:
    client = serve("ab")
    unknown = client.post("/feedback", json={"id": "no-such-prediction", "reward": 1})
    assert unknown.status_code == 404
    assert "no-such-prediction" in unknown.json()["detail"]
    pid = predict(client, key="alice")["ids"][0]
    assert client.post("/feedback", json={"id": pid, "label": 1}).status_code == 200
    again = client.post("/feedback", json={"id": pid, "label": 0})
    assert again.status_code == 409
    assert "already has feedback" in again.json()["detail"]


@store_test
def test_feedback_after_a_restart_rewards_the_arm_that_answered_before_it(serve) -> None:
    first = serve("ab")
    answer = predict(first, key="alice", row={"mean radius": 45.0, "mean texture": 3.0})
    pid, arm = answer["ids"][0], answer["arm"]
    serve.stop(first)  # the log keeps the prediction; the answers held in memory are gone
    second = serve(root=first.app.state.service.root)
    service = second.app.state.service
    assert pid not in service.recent
    before = service.router.stats[arm].rewards
    right = 1 if arm == CHAMPION else 0  # the champion says 1 here, the challenger 0
    response = second.post("/feedback", json={"id": pid, "label": right})
    assert response.status_code == 200
    assert response.json() == {"id": pid, "status": "recorded", "reward": 1.0, "arm": arm}
    assert service.router.stats[arm].rewards == before + 1
    unknown = second.post("/feedback", json={"id": "no-such-prediction", "label": 1})
    assert unknown.status_code == 404


@store_test
def test_logged_answers_no_arm_of_this_release_gave_are_recorded_without_a_reward(
    serve,
) -> None:
    client = serve("shadow")
    service = client.app.state.service
    predict(client)
    old_release = Prediction(
        arm=CHAMPION, features=ROW, output=1, latency_ms=1.0, model_version="7"
    )
    service.log.append(old_release)
    assert service.log.flush(timeout=10)
    shadow_id = logged_rows(client).query("shadow")["id"].iloc[0]
    service.recent.clear()  # as after a restart: only the log knows these answers
    for pid in (old_release.id, shadow_id):
        response = client.post("/feedback", json={"id": pid, "reward": 1.0})
        assert response.status_code == 200
        assert "arm" not in response.json()
    assert {arm: stats.rewards for arm, stats in service.router.stats.items()} == {
        CHAMPION: 0,
        CHALLENGER: 0,
    }


@store_test
@pytest.mark.parametrize(
    "body",
    [{"id": "x"}, {"id": "x", "label": 1, "reward": 1}, {"id": "x", "reward": 1.5}, {"reward": 1}],
)
def test_feedback_needs_an_id_and_exactly_one_of_label_and_reward_in_range(
    serve, body: dict
) -> None:
    assert serve("ab").post("/feedback", json=body).status_code == 422


def test_a_regression_reward_is_1_when_exact_and_falls_with_the_relative_error() -> None:
    served = Served(CHAMPION, 100.0, classifier=False)
    assert label_reward(served, 100.0) == 1.0
    assert label_reward(served, 200.0) == pytest.approx(math.exp(-0.5))
    assert label_reward(Served(CHAMPION, 0.5, False), 0.0) == pytest.approx(math.exp(-0.5))
    assert label_reward(served, "high") is None
    assert label_reward(Served(CHAMPION, "yes", True), "yes") == 1.0
    assert label_reward(Served(CHAMPION, 1, True), "0") == 0.0


# Bad input ---------------------------------------------------------------------------------


@store_test
def test_a_value_out_of_the_catalog_range_is_422_naming_row_column_and_rule(serve) -> None:
    client = serve("ab")
    rows = [ROW, {"mean radius": 80.0, "mean texture": 10.0}]
    response = client.post("/predict", json={"instances": rows})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["row"] == 1 and problem["column"] == "mean radius"
    assert "50" in problem["check"] and "mean radius" in problem["message"]


@store_test
@pytest.mark.parametrize(
    ("row", "column", "check"),
    [
        ({"mean radius": "big", "mean texture": 1.0}, "mean radius", "type"),
        ({"mean radius": 1.0}, "mean texture", "missing_column"),
        ({**ROW, "colour": 3}, "colour", "unknown_column"),
    ],
)
def test_a_malformed_row_is_422_with_the_column_and_the_rule(
    serve, row: dict, column: str, check: str
) -> None:
    client = serve("ab")
    response = client.post("/predict", json={"features": row})
    assert response.status_code == 422
    assert [(p["row"], p["column"], p["check"]) for p in response.json()["detail"]] == [
        (0, column, check)
    ]
    assert "crisp_serving_rejected_requests_total 1" in client.get("/metrics").text


@store_test
@pytest.mark.parametrize(
    "body", [{}, {"features": ROW, "instances": [ROW]}, {"instances": []}, {"features": [1, 2]}]
)
def test_a_body_without_exactly_one_of_features_and_instances_is_422(serve, body: dict) -> None:
    assert serve("ab").post("/predict", json=body).status_code == 422


@store_test
def test_rows_the_model_itself_refuses_are_422_not_a_server_error(
    serve, tmp_path: Path, store: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path, store, monkeypatch, "shadow")  # the champion answers
    (root / "phases/03-data-understanding/data-catalog.yaml").unlink()
    client = serve(root=root)  # no catalog: nulls pass, and the champion has no imputer
    response = client.post("/predict", json={"features": {**ROW, "mean radius": None}})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["check"] == "model" and "NaN" in problem["message"]


@pytest.mark.parametrize(
    "model",
    [
        LogisticRegression(),
        RandomForestClassifier(n_estimators=15, random_state=0),
        GradientBoostingClassifier(n_estimators=15, random_state=0),
    ],
    ids=["logistic", "forest", "boosting"],
)
def test_a_classifier_is_called_once_and_answers_as_its_own_predict(model: Any) -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.uniform(0, 40, size=(200, 2)), columns=FEATURES)
    y = np.select([X["mean radius"] < 13, X["mean radius"] < 26], ["low", "mid"], "high")
    model.fit(X, y)
    scored = Scorer(LoadedModel(model, "m", "1", CHAMPION, None)).predict(X)
    assert scored.predictions == list(model.predict(X))
    assert scored.probabilities is not None and len(scored.probabilities) == len(X)


def test_without_a_catalog_the_model_features_are_checked() -> None:
    frame, problems = check_features([ROW, {"mean radius": True}], FEATURES)
    assert [(p["row"], p["column"], p["check"]) for p in problems] == [
        (1, "mean radius", "number"),
        (1, "mean texture", "present"),
    ]
    frame, problems = check_features([ROW], FEATURES)
    assert problems == [] and list(frame.columns) == FEATURES


# Restart, health, metrics ------------------------------------------------------------------


@store_test
def test_a_restarted_app_resumes_the_router_state_from_the_log(serve) -> None:
    first = serve("bandit")
    for _ in range(10):
        answer = predict(first)
        first.post("/feedback", json={"id": answer["ids"][0], "reward": 1.0})
    before = first.app.state.service.router.summary()["arms"]
    serve.stop(first)  # shutting down saves the state
    root = first.app.state.service.root
    second = serve(root=root)
    after = second.app.state.service.router.summary()["arms"]
    assert after == before
    assert sum(arm["rewards"] for arm in after.values()) == 10


@store_test
def test_saved_state_of_other_model_versions_is_not_restored(serve) -> None:
    first = serve("bandit")
    answer = predict(first)
    first.post("/feedback", json={"id": answer["ids"][0], "reward": 1.0})
    serve.stop(first)
    service = first.app.state.service
    saved = service.log.__class__(service.log.url)
    state = saved.load_state("router")
    state["model_versions"] = {CHAMPION: "1", CHALLENGER: "7"}
    saved.save_state("router", state)
    saved.close()
    second = serve(root=service.root)
    assert all(
        a["rewards"] == 0 for a in second.app.state.service.router.summary()["arms"].values()
    )


@store_test
def test_a_log_that_cannot_be_written_degrades_health_but_predictions_are_answered(
    serve, tmp_path: Path
) -> None:
    folder = tmp_path / "not-a-file.db"
    folder.mkdir()
    client = serve("ab", log=f"sqlite:///{folder}")
    assert predict(client, key="alice")["predictions"]
    health = client.get("/health")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded"
    assert "not-a-file.db" in body["reason"] and "cannot be written" in body["reason"]
    pid = predict(client, key="bob")["ids"][0]
    feedback = client.post("/feedback", json={"id": pid, "label": 1})
    assert feedback.status_code == 503
    assert "not-a-file.db" in feedback.json()["detail"]


@store_test
def test_health_is_ok_with_both_models_and_a_working_log(serve) -> None:
    response = serve("shadow").get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["strategy"] == "shadow"
    assert body["models"] == {CHAMPION: "1", CHALLENGER: "2"}


@store_test
def test_metrics_count_requests_per_arm_log_records_and_router_stats(serve) -> None:
    client = serve("shadow")
    for _ in range(3):
        predict(client)
    logged_rows(client)
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'crisp_serving_requests_total{arm="champion"} 3' in text
    assert 'crisp_serving_request_latency_seconds_count{arm="champion"} 3' in text
    assert 'crisp_serving_log_records_total{fate="written"} 6' in text  # 3 served, 3 shadow
    assert 'crisp_serving_router_shadowed{arm="challenger",strategy="shadow"} 3' in text
    assert "# TYPE crisp_serving_requests_total counter" in text


def test_metrics_render_one_sample_per_label_set_and_escape_labels() -> None:
    metrics = ServingMetrics()
    metrics.observe(CHAMPION, rows=2, seconds=0.5)
    metrics.count_feedback('odd"outcome')
    text = metrics.render({"strategy": "ab", "arms": {}}, {"written": 1, "last_error": None})
    assert 'crisp_serving_predicted_rows_total{arm="champion"} 2' in text
    assert 'crisp_serving_request_latency_seconds_sum{arm="champion"} 0.5' in text
    assert 'outcome="odd\\"outcome"' in text
    assert "last_error" not in text


def test_host_and_port_come_from_params_with_defaults() -> None:
    assert serve_settings({}) == ("127.0.0.1", 8000)
    assert serve_settings({"serve": {"host": "0.0.0.0", "port": 9000}}) == ("0.0.0.0", 9000)
    with pytest.raises(ValueError, match=r"serve\.port"):
        serve_settings({"serve": {"port": "eighty"}})


# A real server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@store_test
def test_a_real_uvicorn_process_serves_predictions_and_feedback(
    tmp_path: Path, store: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path, store, monkeypatch, "ab")
    port = free_port()
    env = {
        **os.environ,
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
    }
    command = [sys.executable, "-m", "crisp_ml.runtime.serving", "--root", str(root)]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        answer = httpx.post(f"{base}/predict", json={"features": ROW, "key": "a"}, timeout=10)
        assert answer.status_code == 200
        pid = answer.json()["ids"][0]
        feedback = httpx.post(f"{base}/feedback", json={"id": pid, "label": 1}, timeout=10)
        assert feedback.status_code == 200
        assert "crisp_serving_requests_total" in httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        os.kill(server.pid, signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            output, _ = server.communicate(timeout=10)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert server.returncode in (0, -signal.SIGTERM), output.decode()
    assert b"Application shutdown complete" in output
    from crisp_ml.runtime.predlog import PredictionLog

    with PredictionLog(f"sqlite:///{root / 'predictions.db'}") as log:
        assert log.load_state("router")["arms"][answer.json()["arm"]]["rewards"] == 1
