"""make simulate: held-out and shifted rows through a running server, each with its label."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException

from crisp_ml.runtime.config import ConfigError
from crisp_ml.runtime.simulate import (
    SimulateSettings,
    main,
    parse_args,
    prediction_of,
    run,
    shifted_rows,
    wait_until_serving,
)


class StandIn:
    """A tiny serving app with the real one's endpoints: it answers x1 > 0 and records
    every request, so the test sees exactly what simulate sent."""

    def __init__(self, refuse_above: float | None = None) -> None:
        self.predicted: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []
        self.app = FastAPI()
        self.app.post("/predict")(self.predict)
        self.app.post("/feedback")(self.give_feedback)
        self.refuse_above = refuse_above

    def predict(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.refuse_above is not None and body["features"]["x1"] > self.refuse_above:
            raise HTTPException(status_code=422, detail=[{"column": "x1", "check": "range"}])
        self.predicted.append(body)
        arm = "challenger" if len(self.predicted) % 5 == 0 else "champion"
        pid = f"p{len(self.predicted)}"
        prediction = int(body["features"]["x1"] > 0)
        return {"ids": [pid], "predictions": [prediction], "arm": arm, "model_version": "1"}

    def give_feedback(self, body: dict[str, Any]) -> dict[str, Any]:
        self.feedback.append(body)
        return {"id": body["id"], "status": "recorded"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the stand-in server did not start in 10 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def stand_in() -> Iterator[tuple[StandIn, str]]:
    app = StandIn()
    for url in serve(app.app):
        yield app, url


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "row_id": range(100),
            "x1": rng.normal(0, 2.0, 100),
            "x2": rng.normal(5, 1.0, 100),
            "label": rng.integers(0, 2, 100),
        }
    )
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    frame.to_csv(prepared / "dataset.csv", index=False)
    schema = {
        "task": "classification",
        "key": "row_id",
        "target": "label",
        "features": ["x1", "x2"],
    }
    (prepared / "schema.json").write_text(json.dumps(schema))
    (tmp_path / "data" / "split").mkdir()
    split = {"train": list(range(60)), "val": list(range(60, 80)), "test": list(range(80, 100))}
    (tmp_path / "data" / "split" / "indices.json").write_text(json.dumps(split))
    return tmp_path


def args(url: str, *extra: str):
    return parse_args(["--url", url, *extra])


def test_held_out_then_shifted_rows_reach_the_server_each_with_its_label(
    project: Path, stand_in: tuple[StandIn, str], capsys: pytest.CaptureFixture[str]
) -> None:
    app, url = stand_in
    params = {"simulate": {"shift": 2.0, "shifted_features": ["x2"], "seed": 3}}
    held_out, shifted = run(project, params, args(url))
    assert (held_out.sent, held_out.predicted, held_out.labelled) == (20, 20, 20)
    assert (shifted.sent, shifted.labelled) == (20, 20)
    assert len(app.predicted) == len(app.feedback) == 40
    test = pd.read_csv(project / "data/prepared/dataset.csv").iloc[80:]
    train = pd.read_csv(project / "data/prepared/dataset.csv").iloc[:60]
    sent = pd.DataFrame([body["features"] for body in app.predicted])
    assert sorted(sent["x1"][:20]) == pytest.approx(sorted(test["x1"])), "each test row once"
    moved = sent["x2"][20:].to_numpy() - sent["x2"][:20].to_numpy()
    assert moved == pytest.approx(2.0 * train["x2"].std(ddof=0))
    assert sent["x1"][20:].tolist() == sent["x1"][:20].tolist(), "x1 is not shifted"
    labels = {row.row_id: row.label for row in test.itertuples()}
    for body, feedback in zip(app.predicted, app.feedback, strict=True):
        row_id = int(body["key"].rsplit("-", 1)[1])
        assert feedback["label"] == labels[row_id]
    assert held_out.arms == {"champion": 16, "challenger": 4}
    out = capsys.readouterr().out
    assert "simulate: held-out: 20 rows sent, 20 answered" in out
    assert "shifted x2 by 2 training standard deviation(s)" in out


def test_flags_override_params_and_rows_caps_each_part(
    project: Path, stand_in: tuple[StandIn, str]
) -> None:
    app, url = stand_in
    (only,) = run(
        project, {"simulate": {"rows": 15}}, args(url, "--rows", "5", "--part", "shifted")
    )
    assert only.part == "shifted" and only.sent == 5 and len(app.predicted) == 5


def test_rows_the_server_refuses_are_counted_and_named(project: Path) -> None:
    app = StandIn(refuse_above=0.0)
    for url in serve(app.app):
        (held_out,) = run(project, {}, args(url, "--part", "held-out"))
    assert held_out.refused > 0 and held_out.predicted + held_out.refused == 20
    assert "HTTP 422" in held_out.first_error


def test_no_server_is_a_clear_error_naming_make_serve(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "dvc.yaml").write_text("stages: {}\n")
    (project / "params.yaml").write_text("simulate: {}\n")
    monkeypatch.chdir(project)
    started = time.monotonic()
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--url", url, "--timeout", "2", "--wait", "1"]) == 1
    assert time.monotonic() - started < 10
    assert "start it with `make serve`" in capsys.readouterr().err


def test_simulate_waits_for_a_server_that_is_still_starting() -> None:
    """`make serve &` then `make simulate`: the app takes seconds to load its models."""
    import http.server
    import threading

    port = free_port()
    servers: list[http.server.HTTPServer] = []

    def start_late() -> None:
        time.sleep(1.0)
        server = http.server.HTTPServer(("127.0.0.1", port), http.server.BaseHTTPRequestHandler)
        servers.append(server)
        server.serve_forever(poll_interval=0.1)

    threading.Thread(target=start_late, daemon=True).start()
    started = time.monotonic()
    try:
        wait_until_serving(f"http://127.0.0.1:{port}", wait=20)
    finally:
        for server in servers:
            server.shutdown()
    assert 0.9 < time.monotonic() - started < 20


def test_both_answer_shapes_give_the_id() -> None:
    assert prediction_of({"ids": ["a"], "predictions": [1], "arm": "champion"}) == (
        "a",
        1,
        "champion",
    )
    per_row = {"predictions": [{"id": "b", "prediction": 0, "arm": "challenger"}]}
    assert prediction_of(per_row) == ("b", 0, "challenger")


def test_shifting_a_category_is_refused() -> None:
    rows = pd.DataFrame({"colour": ["red", "blue"]})
    with pytest.raises(ConfigError, match="colour is not numeric"):
        shifted_rows(rows, rows, ["colour"], 1.0)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"rows": 0}, "rows must be a whole number"),
        ({"shift": "big"}, "shift must be a number"),
        ({"shifted_features": "x1"}, "a list of feature names"),
        ({"batch_size": 5}, "unknown setting(s) batch_size"),
    ],
)
def test_a_bad_simulate_section_is_a_clear_error(section: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SimulateSettings.from_params({"simulate": section})
