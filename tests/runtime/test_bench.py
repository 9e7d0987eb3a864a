"""The serving benchmark: its statistics, its payloads, its lost-row accounting, a real run.

The real run drives a real uvicorn process serving a model registered in a real SQLite
MLflow store (the serving tests' store), and counts the real SQLite prediction log.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from test_serving import FEATURES, free_port, make_project, store  # noqa: F401 (fixture)

from crisp_ml.runtime.bench import (
    BenchError,
    LogCounter,
    benchmark,
    bodies,
    crisp_body,
    main,
    mlflow_body,
    percentile,
    rows_lost,
)
from crisp_ml.runtime.predlog import Prediction, PredictionLog

ENV = {"DVC_NO_ANALYTICS": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"}


# Statistics --------------------------------------------------------------------------------


def test_percentiles_interpolate_between_the_closest_ranks_like_numpy() -> None:
    samples = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(samples, 50) == 3.0
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5  # the mean of the middle two
    hundred = [float(i) for i in range(1, 101)]
    assert percentile(hundred, 99) == pytest.approx(99.01)
    rng = np.random.default_rng(0).exponential(size=999).tolist()
    for q in (50, 90, 99):
        assert percentile(rng, q) == pytest.approx(np.percentile(rng, q))


def test_a_percentile_of_nothing_or_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="0-100"):
        percentile([1.0], 101)


def test_rows_lost_are_answers_the_log_does_not_hold() -> None:
    assert rows_lost(answered=100, before=40, after=140) == (0, 0)
    assert rows_lost(answered=100, before=40, after=137) == (3, 0)
    # More new rows than answers: other traffic, or requests served after a client timeout.
    assert rows_lost(answered=100, before=40, after=145) == (0, 5)


# Payloads ----------------------------------------------------------------------------------

RECORD = {"id": np.int64(7), "a": np.float64(1.5), "b": float("nan"), "colour": "red"}


def test_the_crisp_payload_is_one_row_of_features_with_a_key() -> None:
    body = crisp_body(RECORD, ["a", "b", "colour"], "bench-7")
    assert body == {"features": {"a": 1.5, "b": None, "colour": "red"}, "key": "bench-7"}
    json.dumps(body)  # numpy scalars became plain JSON


def test_the_mlflow_payload_is_a_dataframe_split_in_feature_order() -> None:
    body = mlflow_body(RECORD, ["colour", "a", "b"], "ignored")
    assert body == {
        "dataframe_split": {"columns": ["colour", "a", "b"], "data": [["red", 1.5, None]]}
    }


def test_bodies_cycle_through_the_rows_in_order() -> None:
    rows = pd.DataFrame({"id": [1, 2, 3], "a": [0.1, 0.2, 0.3]})
    encoded = [json.loads(b) for b in bodies(rows, ["a"], "id", "crisp", 7)]
    assert [body["key"] for body in encoded] == [f"bench-{k}" for k in (1, 2, 3, 1, 2, 3, 1)]
    assert encoded[4]["features"] == {"a": 0.2}
    mlflow = json.loads(bodies(rows, ["a"], "id", "mlflow", 1)[0])
    assert mlflow["dataframe_split"]["data"] == [[0.1]]


def test_an_empty_split_is_a_clear_error() -> None:
    with pytest.raises(BenchError, match="dvc repro split"):
        bodies(pd.DataFrame({"id": [], "a": []}), ["a"], "id", "crisp", 3)


# Clear errors ------------------------------------------------------------------------------


def test_no_server_at_the_url_says_to_start_it(tmp_path: Path) -> None:
    work = bodies(pd.DataFrame({"id": [1], "a": [1.0]}), ["a"], "id", "crisp", 1)
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(BenchError, match=r"no server answers at .*make serve &"):
        benchmark(url, work, "crisp", clients=2, timeout=2)
    assert time.monotonic() - start < 10


def test_a_missing_sqlite_log_names_the_file_instead_of_creating_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    with pytest.raises(BenchError, match="no prediction log at"):
        LogCounter(url)
    assert not (tmp_path / "predictions.db").exists()


def test_the_log_counter_counts_served_rows_and_leaves_the_spill_file_alone(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    with PredictionLog(url) as log:
        for shadow in (False, False, True):
            log.append(Prediction("champion", {"a": 1}, 0, 1.0, "1", shadow=shadow))
        assert log.flush(10)
    spill = tmp_path / "predictions.spill.jsonl"
    spill.write_text("", encoding="utf-8")
    counter = LogCounter(url)
    try:
        assert counter.count() == 2  # shadow scores are not answers
        assert counter.wait_for(5, timeout=0.5) == 2  # bounded: gives up, says what it saw
    finally:
        counter.close()
    assert spill.exists()


# A real run --------------------------------------------------------------------------------


@pytest.fixture
def server(
    tmp_path: Path,
    store: dict[str, Any],  # noqa: F811 (the fixture imported from test_serving)
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, Path]]:
    """The serving app of a small project (with a prepared test split) on a free port."""
    root = make_project(tmp_path, store, monkeypatch, "ab")
    (root / "dvc.yaml").write_text("stages: {}\n", encoding="utf-8")
    frame = pd.DataFrame(
        {"id": range(40), "mean radius": np.linspace(5, 35, 40), "mean texture": 10.0}
    )
    frame["diagnosis"] = (frame["mean radius"] > 20).astype(int)
    (root / "data/prepared").mkdir(parents=True)
    (root / "data/split").mkdir(parents=True)
    frame.to_csv(root / "data/prepared/dataset.csv", index=False)
    schema = {"task": "classification", "key": "id", "target": "diagnosis", "features": FEATURES}
    (root / "data/prepared/schema.json").write_text(json.dumps(schema), encoding="utf-8")
    split = {"train": list(range(20)), "val": list(range(20, 25)), "test": list(range(25, 40))}
    (root / "data/split/indices.json").write_text(json.dumps(split), encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-m", "crisp_ml.runtime.serving", "--root", str(root)]
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the server did not answer within 60 s"
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url, root
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate(timeout=10)


@pytest.mark.slow
def test_a_real_run_loses_no_prediction_log_row(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url, root = server
    monkeypatch.chdir(root)
    out = root / "bench.json"
    args = ["--url", url, "--clients", "4", "--requests", "120", "--warmup", "5"]
    assert main([*args, "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["payload"] == "crisp"
    assert (result["clients"], result["requests"]) == (4, 120)
    assert (result["answered"], result["errors"]) == (120, 0)
    assert result["rows_lost"] == 0 and result["rows_extra"] == 0
    assert result["log_rows_after"] - result["log_rows_before"] == 125  # warm-up included
    assert result["requests_per_second"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert "0 prediction log row(s) lost" in capsys.readouterr().out


@pytest.mark.slow
def test_the_mlflow_payload_against_the_crisp_server_says_which_flag_to_pass(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    url, root = server
    monkeypatch.chdir(root)
    assert main(["--url", url, "--payload", "mlflow", "--requests", "5"]) == 1
    assert "bench: error:" in capsys.readouterr().err


# The repository's benchmark report ---------------------------------------------------------


def load_bench_serving() -> Any:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_serving.py"
    spec = importlib.util.spec_from_file_location("bench_serving", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_writing_the_report_replaces_only_its_own_section(tmp_path: Path) -> None:
    bench_serving = load_bench_serving()
    begin, end = bench_serving.BEGIN, bench_serving.END
    doc = tmp_path / "performance.md"
    others = "# Performance\n\n<!-- bench_lint.py: begin -->\nlint\n<!-- bench_lint.py: end -->\n"
    doc.write_text(others, encoding="utf-8")
    bench_serving.write_section(doc, f"{begin}\nfirst\n{end}")
    assert doc.read_text(encoding="utf-8") == f"{others}\n{begin}\nfirst\n{end}\n"
    after = "\n## Later notes\n\ncafé – kept\n"
    doc.write_text(f"{others}\n{begin}\nfirst\n{end}{after}", encoding="utf-8")
    bench_serving.write_section(doc, f"{begin}\nsecond\n{end}")
    assert doc.read_text(encoding="utf-8") == f"{others}\n{begin}\nsecond\n{end}{after}"
