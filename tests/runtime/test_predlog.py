"""The prediction log: nothing a request appends is lost, and nothing waits for the database."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from crisp_ml.runtime.predlog import (
    SCHEMA_VERSION_KEY,
    URL_ENV,
    LoggedPrediction,
    Prediction,
    PredictionLog,
    PredictionLogError,
    PredictionLogUnavailable,
    log_url,
    mask_url,
    open_log,
)

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def prediction(i: int = 0, **overrides: object) -> Prediction:
    fields: dict = {
        "arm": "champion",
        "features": {"age": 30 + i, "income": 1000.0 * i},
        "output": i % 2,
        "latency_ms": 1.5,
        "model_version": "3",
    }
    return Prediction(**{**fields, **overrides})


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "predictions.db"


@pytest.fixture
def log(db: Path):
    with PredictionLog(f"sqlite:///{db}", timeout=1.0, retry_interval=0.1) as opened:
        yield opened


# Round trip --------------------------------------------------------------------------------


def test_a_prediction_and_its_feedback_come_back_as_one_row(log: PredictionLog) -> None:
    pid = log.append(prediction(1, time=T0))
    assert log.flush(5)
    assert log.feedback(pid, label=1, reward=1.0) == "recorded"

    frame = log.read_window()
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["id"] == pid
    assert row["time"] == T0
    assert (row["arm"], row["model_version"], row["prediction"]) == ("champion", "3", 1)
    assert (row["age"], row["income"]) == (31, 1000.0)
    assert (row["label"], row["reward"]) == (1, 1.0)
    assert log.count() == 1
    assert log.latest_time() == T0


def test_numpy_features_and_outputs_are_stored_as_plain_json(log: PredictionLog) -> None:
    np = pytest.importorskip("numpy")
    log.append(prediction(features={"x": np.float64(0.5)}, output=np.array([0.2, 0.8])))
    assert log.flush(5)
    row = log.read_window().iloc[0]
    assert row["x"] == 0.5
    assert row["prediction"] == [0.2, 0.8]


def test_a_feature_named_like_a_log_column_keeps_its_value(log: PredictionLog) -> None:
    log.append(prediction(features={"time": 7, "arm": "left"}, time=T0))
    assert log.flush(5)
    row = log.read_window().iloc[0]
    assert (row["time"], row["arm"]) == (T0, "champion")
    assert (row["features.time"], row["features.arm"]) == (7, "left")


def test_an_empty_log_reads_as_an_empty_frame_with_the_log_columns(log: PredictionLog) -> None:
    frame = log.read_window()
    assert frame.empty
    assert {"id", "time", "arm", "prediction", "label", "reward"} <= set(frame.columns)
    assert log.count() == 0
    assert log.latest_time() is None


# SQLite settings and schema ----------------------------------------------------------------


def test_the_sqlite_file_is_in_wal_mode_with_normal_sync(log: PredictionLog, db: Path) -> None:
    log.append(prediction())
    assert log.flush(5)
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with log.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1000


def test_the_tables_carry_a_schema_version_for_later_migrations(db: Path) -> None:
    PredictionLog(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        version = connection.execute(
            "SELECT value FROM state WHERE name = ?", (SCHEMA_VERSION_KEY,)
        ).fetchone()
    assert {"predictions", "feedback", "state"} <= tables
    assert version == ('{"version": 1}',)


def test_a_log_written_by_a_newer_release_is_refused_at_open(db: Path) -> None:
    PredictionLog(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE state SET value = '{\"version\": 99}' WHERE name = ?", (SCHEMA_VERSION_KEY,)
        )
    with pytest.raises(PredictionLogError, match=r"schema version 99.*upgrade crisp-ml"):
        PredictionLog(f"sqlite:///{db}")


# Concurrency and back-pressure -------------------------------------------------------------


def test_threads_appending_at_once_lose_no_row(log: PredictionLog) -> None:
    ids: list[list[str]] = [[] for _ in range(8)]

    def worker(slot: int) -> None:
        ids[slot] = [log.append(prediction(i)) for i in range(500)]

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert log.flush(30)
    assert log.count() == 4000
    assert set(log.read_window()["id"]) == {pid for chunk in ids for pid in chunk}
    assert log.metrics()["spilled"] == 0


def test_a_full_queue_spills_instead_of_waiting_and_loses_nothing(db: Path) -> None:
    with PredictionLog(f"sqlite:///{db}", queue_size=5, timeout=0.3, retry_interval=0.1) as log:
        blocker = sqlite3.connect(db, timeout=1)
        blocker.execute("BEGIN EXCLUSIVE")  # the writer now waits for the lock, then fails
        try:
            for i in range(50):
                log.append(prediction(i))
            spilled = log.metrics()["spilled"]
            # 5 wait in the queue, at most 5 more in the batch the blocked writer holds.
            assert spilled >= 40, "appends beyond the queue's places must spill at once"
            assert log.health()["status"] == "degraded"
        finally:
            blocker.rollback()
            blocker.close()
        assert log.flush(10)
        assert log.count() == 50
        assert log.health()["status"] == "ok"
        assert not log.spill_path.exists()


# An unwritable log -------------------------------------------------------------------------


def test_an_unwritable_database_spills_reports_and_replays(db: Path) -> None:
    db.mkdir()  # a directory where the database file should be
    with PredictionLog(f"sqlite:///{db}", timeout=0.5, retry_interval=0.1) as log:
        ids = [log.append(prediction(i)) for i in range(20)]
        assert not log.flush(2), "flush cannot succeed while the database is unwritable"
        health = log.health()
        assert health["status"] == "degraded"
        assert health["spill_pending"] == 20
        problems = " ".join(health["problems"])
        assert str(db) in problems and str(log.spill_path) in problems
        assert "writable SQLite file" in problems and URL_ENV in problems

        db.rmdir()  # the operator fixes it: the spilled predictions are replayed
        assert log.flush(10)
        assert set(log.read_window()["id"]) == set(ids)
        assert log.health()["status"] == "ok"
        assert log.metrics()["replayed"] == 20
        assert not log.spill_path.exists()


def test_a_spill_file_left_by_a_stopped_process_is_replayed_at_the_next_start(
    db: Path,
) -> None:
    db.mkdir()
    log = PredictionLog(f"sqlite:///{db}", timeout=0.5, retry_interval=0.1)
    ids = {log.append(prediction(i)) for i in range(5)}
    log.close(timeout=1)
    assert log.spill_path.is_file()

    db.rmdir()
    with PredictionLog(f"sqlite:///{db}", retry_interval=0.1) as restarted:
        assert restarted.flush(10)
        assert set(restarted.read_window()["id"]) == ids


def test_predictions_neither_the_database_nor_the_spill_take_are_counted_lost(
    db: Path, tmp_path: Path
) -> None:
    db.mkdir()
    blocked = tmp_path / "spill-is-a-file"
    blocked.write_text("")
    with PredictionLog(f"sqlite:///{db}", spill_dir=blocked, timeout=0.5) as log:
        log.append(prediction())
        log.flush(2)
        health = log.health()
    assert health["lost"] == 1
    assert health["status"] == "degraded"
    assert any("lost" in problem and "writable" in problem for problem in health["problems"])


def test_synchronous_calls_on_an_unwritable_database_raise_a_clear_error(db: Path) -> None:
    db.mkdir()
    with PredictionLog(f"sqlite:///{db}", timeout=0.5) as log:
        with pytest.raises(PredictionLogUnavailable, match=r"cannot record feedback.*writable"):
            log.feedback("any-id", reward=1.0)
        with pytest.raises(PredictionLogUnavailable, match="cannot load state 'router'"):
            log.load_state("router")
        with pytest.raises(PredictionLogUnavailable, match="cannot read predictions"):
            log.read_window()
        with pytest.raises(PredictionLogUnavailable, match="cannot look up a prediction"):
            log.lookup("any-id")


# Feedback ----------------------------------------------------------------------------------


def test_feedback_for_an_unknown_id_says_so(log: PredictionLog) -> None:
    assert log.feedback("no-such-prediction", label=1) == "unknown-id"


def test_a_second_feedback_is_refused_and_the_first_stands(log: PredictionLog) -> None:
    pid = log.append(prediction())
    assert log.flush(5)
    assert log.feedback(pid, label=1, reward=1.0) == "recorded"
    assert log.feedback(pid, label=0, reward=0.0) == "duplicate"
    assert log.read_window().iloc[0]["label"] == 1


def test_feedback_right_after_the_append_is_recorded(log: PredictionLog) -> None:
    pid = log.append(prediction())  # possibly still in the queue
    assert log.feedback(pid, reward=0.5) == "recorded"
    assert log.flush(5)
    assert log.read_window().iloc[0]["reward"] == 0.5


def test_a_logged_prediction_is_looked_up_by_id_after_a_reopen(db: Path) -> None:
    with PredictionLog(f"sqlite:///{db}") as log:
        served = log.append(prediction(1, time=T0))
        shadow = log.append(prediction(2, arm="challenger", model_version="4", shadow=True))
    with PredictionLog(f"sqlite:///{db}", timeout=1.0) as reopened:
        assert reopened.lookup(served) == LoggedPrediction(
            id=served, time=T0, arm="champion", model_version="3", shadow=False, prediction=1
        )
        looked_up = reopened.lookup(shadow)
        assert looked_up is not None
        assert (looked_up.arm, looked_up.model_version, looked_up.shadow) == (
            "challenger",
            "4",
            True,
        )
        assert reopened.lookup("no-such-prediction") is None


@pytest.mark.parametrize(
    ("label", "reward", "message"),
    [
        (None, None, "needs a label, a reward"),
        (None, float("nan"), "reward must be a finite number"),
        (None, True, "reward must be a finite number"),
    ],
)
def test_bad_feedback_is_refused(log: PredictionLog, label, reward, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        log.feedback("id", label=label, reward=reward)


# Reading windows ---------------------------------------------------------------------------


def test_a_window_includes_its_start_and_excludes_its_end(log: PredictionLog) -> None:
    times = [T0 + timedelta(minutes=m) for m in range(5)]
    for i, moment in enumerate(times):
        log.append(prediction(i, time=moment))
    assert log.flush(5)
    window = log.read_window(since=times[1], until=times[3])
    assert list(window["time"]) == times[1:3]
    assert list(log.read_window(since=times[3])["time"]) == times[3:]
    assert list(log.read_window(until=times[1])["time"]) == times[:1]


def test_window_bounds_in_other_time_zones_mean_the_same_instant(log: PredictionLog) -> None:
    log.append(prediction(time=T0))
    assert log.flush(5)
    paris = timezone(timedelta(hours=1))
    assert len(log.read_window(since=T0.astimezone(paris))) == 1
    assert len(log.read_window(since=T0.replace(tzinfo=None))) == 1, "naive means UTC"
    assert len(log.read_window(since=T0 + timedelta(microseconds=1))) == 0


def test_shadow_scores_are_read_only_on_request(log: PredictionLog) -> None:
    log.append(prediction(time=T0))
    log.append(prediction(arm="challenger", shadow=True, time=T0))
    assert log.flush(5)
    assert list(log.read_window()["arm"]) == ["champion"]
    assert sorted(log.read_window(include_shadow=True)["arm"]) == ["challenger", "champion"]
    assert (log.count(), log.count(include_shadow=True)) == (1, 2)


# Router state ------------------------------------------------------------------------------


def test_state_is_saved_replaced_and_survives_a_reopen(db: Path) -> None:
    with PredictionLog(f"sqlite:///{db}") as log:
        assert log.load_state("router") is None
        log.save_state("router", {"version": 1, "step": 0})
        log.save_state("router", {"version": 1, "step": 2})
    with PredictionLog(f"sqlite:///{db}") as reopened:
        assert reopened.load_state("router") == {"version": 1, "step": 2}


def test_the_schema_version_name_is_reserved(log: PredictionLog) -> None:
    with pytest.raises(ValueError, match="reserved"):
        log.save_state(SCHEMA_VERSION_KEY, {"version": 0})


# Where the log lives, and its credentials --------------------------------------------------


def test_the_url_comes_from_the_environment_then_params_then_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    assert log_url(tmp_path, {}) == f"sqlite:///{tmp_path.resolve() / 'predictions.db'}"
    params = {"serve": {"prediction_log": "sqlite:////srv/log.db"}}
    assert log_url(tmp_path, params) == "sqlite:////srv/log.db"
    monkeypatch.setenv(URL_ENV, "postgresql+psycopg2://u@db/x")
    assert log_url(tmp_path, params) == "postgresql+psycopg2://u@db/x"


def test_a_bad_serve_setting_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    with pytest.raises(PredictionLogError, match=r"serve\.prediction_log must be a SQLAlchemy"):
        log_url(tmp_path, {"serve": {"prediction_log": 5}})
    with pytest.raises(PredictionLogError, match="not a SQLAlchemy URL"):
        PredictionLog("not a url at all")


def test_open_log_uses_the_project_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(URL_ENV, raising=False)
    with open_log(tmp_path, {"serve": {"prediction_log": None}}) as log:
        log.append(prediction())
        assert log.flush(5)
    assert (tmp_path / "predictions.db").is_file()


# crisp-lint: ignore[GEN022] a made-up password, which every message must mask
PASSWORD = "pa55-w0rd-xyz"


def test_a_password_in_the_url_is_never_shown(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    pytest.importorskip("psycopg2")
    url = f"postgresql+psycopg2://crisp:{PASSWORD}@127.0.0.1:1/predictions"  # nothing listens
    assert PASSWORD not in mask_url(url)
    caplog.set_level(logging.DEBUG)
    # The unreachable database makes the log spill: into tmp_path, not the working directory.
    with PredictionLog(url, spill_dir=tmp_path, timeout=1.0, retry_interval=0.1) as log:
        log.append(prediction())
        log.flush(1)
        health = log.health()
        with pytest.raises(PredictionLogUnavailable) as raised:
            log.feedback("id", reward=1.0)
    assert health["status"] == "degraded"
    assert "crisp:***@127.0.0.1:1" in health["database"]
    shown = " ".join([str(health), str(raised.value), caplog.text])
    assert PASSWORD not in shown


def test_a_missing_driver_is_a_clear_error_without_the_password() -> None:
    url = f"mysql+nosuchdriver://crisp:{PASSWORD}@db/predictions"
    with pytest.raises(PredictionLogError) as raised:
        PredictionLog(url)
    assert "install the database driver" in str(raised.value)
    assert PASSWORD not in str(raised.value)
    assert mask_url(f"weird://crisp:{PASSWORD}@host") == "weird://crisp:***@host"


def test_the_spill_file_defaults_beside_the_database(db: Path, tmp_path: Path) -> None:
    with PredictionLog(f"sqlite:///{db}") as log:
        assert log.spill_path == tmp_path / "predictions.spill.jsonl"
    elsewhere = tmp_path / "spill"
    with PredictionLog(f"sqlite:///{db}", spill_dir=elsewhere) as log:
        assert log.spill_path == elsewhere / "predictions.spill.jsonl"
    shutil.rmtree(elsewhere, ignore_errors=True)
