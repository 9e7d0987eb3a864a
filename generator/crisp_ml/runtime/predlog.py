"""The prediction log: every prediction and every feedback, for monitoring and the router.

Where it lives (:func:`log_url`): the environment variable ``CRISP_PREDICTION_LOG_URL``,
else ``serve.prediction_log`` in params.yaml, else ``sqlite:///<project>/predictions.db``
(WAL mode, gitignored). Any SQLAlchemy URL works; ``postgresql+psycopg2://...`` is for
teams running several replicas. The SQL is SQLAlchemy Core with portable types; the only
dialect-specific statements are SQLite's pragmas.

Tables:

``predictions``
    id (uuid4), time (UTC), arm, model_version, shadow (the challenger's shadow score),
    features (JSON object), output (JSON), latency_ms.
``feedback``
    prediction_id (primary key: one feedback per prediction; a second is refused as
    ``"duplicate"`` so the first label, the one the router already counted, stays the
    truth), time, label (JSON), reward.
``state``
    name, value (JSON object), updated_at: the router's state, and the row
    ``crisp_schema_version`` that lets a later release migrate the tables.

Writes never block a request: :meth:`PredictionLog.append` puts the record on a bounded
queue that a background thread writes in batches. When the queue is full or the database
fails, records go to a JSON-lines spill file, replayed once the database answers again;
:meth:`PredictionLog.health` then says ``degraded``, naming the database, the spill file and
the fix. Feedback, :meth:`PredictionLog.lookup` and state are synchronous with a short
timeout: the caller must know whether the prediction id exists (and, after a restart, which
arm gave it), so an unreachable database raises :class:`PredictionLogUnavailable`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

logger = logging.getLogger(__name__)

URL_ENV = "CRISP_PREDICTION_LOG_URL"
SPILL_DIR_ENV = "CRISP_PREDICTION_SPILL_DIR"
DEFAULT_FILE = "predictions.db"
SPILL_SUFFIX = ".spill.jsonl"
REPLAY_SUFFIX = ".replaying"
SCHEMA_VERSION = 1
POLL_INTERVAL = 0.05  # seconds the idle writer waits for the queue before looking around
SPILL_WARNING_INTERVAL = 10.0  # seconds between two "predictions spill" log lines
SCHEMA_VERSION_KEY = "crisp_schema_version"

FeedbackResult = Literal["recorded", "unknown-id", "duplicate"]
# read_window's own columns; a feature of the same name is kept as "features.<name>".
WINDOW_COLUMNS = (
    "id",
    "time",
    "arm",
    "model_version",
    "shadow",
    "latency_ms",
    "prediction",
    "label",
    "reward",
    "feedback_time",
)


class PredictionLogError(ValueError):
    """The prediction log is misconfigured; the message names the setting and the fix."""


class PredictionLogUnavailable(RuntimeError):
    """The database does not answer (down, locked, unwritable); the message says which."""


# URLs and credentials --------------------------------------------------------------------


def log_url(root: Path, params: Mapping[str, Any] | None = None) -> str:
    """The prediction log's SQLAlchemy URL: environment, then params.yaml, then the default."""
    from_env = os.environ.get(URL_ENV, "").strip()
    if from_env:
        return from_env
    serve = (params or {}).get("serve") or {}
    if not isinstance(serve, Mapping):
        raise PredictionLogError("params.yaml serve: expected a mapping of settings")
    configured = serve.get("prediction_log")
    if configured is not None:
        if not isinstance(configured, str) or not configured.strip():
            raise PredictionLogError(
                "params.yaml serve.prediction_log must be a SQLAlchemy URL such as "
                "postgresql+psycopg2://user@host/db, or null for the embedded SQLite file"
            )
        return configured.strip()
    return f"sqlite:///{(Path(root) / DEFAULT_FILE).resolve()}"


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``: safe for logs, errors and /health."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not parseable: mask anything between "user:" and "@" anyway
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _secret(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:
        found = re.search(r"://[^:/@]*:([^@]*)@", url)
        return found.group(1) if found else None


# Records ---------------------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json_default(value: Any) -> Any:
    # numpy scalars and arrays, pandas timestamps: whatever a model returns or a frame holds.
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def to_json(value: Any) -> Any:
    """``value`` as plain JSON data (numpy values become lists and numbers)."""
    return json.loads(json.dumps(value, default=_json_default))


@dataclass(frozen=True)
class Prediction:
    """One answer the serving app gave (or, ``shadow=True``, the challenger's unseen score)."""

    arm: str
    features: Mapping[str, Any]
    output: Any
    latency_ms: float
    model_version: str | None = None
    shadow: bool = False
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: datetime = field(default_factory=_utcnow)

    def row(self) -> dict[str, Any]:
        """The database row: plain JSON values, an aware UTC time."""
        return {
            "id": self.id,
            "time": _as_utc(self.time),
            "arm": self.arm,
            "model_version": None if self.model_version is None else str(self.model_version),
            "shadow": bool(self.shadow),
            "features": to_json(dict(self.features)),
            "output": to_json(self.output),
            "latency_ms": float(self.latency_ms),
        }


@dataclass(frozen=True)
class LoggedPrediction:
    """A prediction as the database holds it: enough to credit later feedback to its arm."""

    id: str
    time: datetime
    arm: str
    model_version: str | None
    shadow: bool
    prediction: Any  # the output, as JSON brought it back


def _spill_line(row: Mapping[str, Any]) -> str:
    return json.dumps({**row, "time": row["time"].isoformat()}, default=_json_default) + "\n"


def _row_from_spill(line: str) -> dict[str, Any]:
    row = json.loads(line)
    row["time"] = _as_utc(datetime.fromisoformat(row["time"]))
    return row


# Tables ----------------------------------------------------------------------------------


class UTCDateTime(sa.TypeDecorator):
    """Timestamps stored as UTC and read back as aware UTC datetimes, on every database."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = _as_utc(value)
        # SQLite has no time zones: store naive UTC so that text comparison orders times.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        return None if value is None else _as_utc(value)


metadata = sa.MetaData()
predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("time", UTCDateTime(), nullable=False, index=True),
    sa.Column("arm", sa.String(16), nullable=False),
    sa.Column("model_version", sa.String(64)),
    sa.Column("shadow", sa.Boolean, nullable=False, default=False),
    sa.Column("features", sa.JSON, nullable=False),
    sa.Column("output", sa.JSON),
    sa.Column("latency_ms", sa.Float),
)
feedback_table = sa.Table(
    "feedback",
    metadata,
    # No foreign key: feedback may arrive while its prediction still waits in the queue.
    sa.Column("prediction_id", sa.String(36), primary_key=True),
    sa.Column("time", UTCDateTime(), nullable=False),
    sa.Column("label", sa.JSON),
    sa.Column("reward", sa.Float),
)
state_table = sa.Table(
    "state",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)


# Engine ----------------------------------------------------------------------------------


def _sqlite_pragmas(busy_timeout_ms: int) -> Any:
    def on_connect(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        try:
            # WAL: readers (monitoring) never block the writer; NORMAL is durable in WAL mode
            # up to the last checkpoint and much faster than FULL.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return on_connect


def make_engine(url: str, timeout: float) -> Engine:
    """An engine for ``url`` whose every connection attempt and lock wait is bounded."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise PredictionLogError(
            f"prediction log URL {mask_url(url)!r} is not a SQLAlchemy URL; set {URL_ENV} or "
            "params.yaml serve.prediction_log to e.g. sqlite:///predictions.db"
        ) from None
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        connect_args["timeout"] = timeout
    elif parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = max(1, math.ceil(timeout))
    try:
        engine = sa.create_engine(
            parsed, connect_args=connect_args, pool_pre_ping=True, pool_timeout=timeout
        )
    except (ArgumentError, ImportError, SQLAlchemyError) as error:
        raise PredictionLogError(
            f"prediction log {mask_url(url)}: {error}; install the database driver "
            "(e.g. pip install psycopg2-binary) or fix the URL"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas(int(timeout * 1000)))
    return engine


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


# The log ---------------------------------------------------------------------------------


@dataclass
class Counters:
    """What the log has done since it was opened; read by health() and metrics()."""

    written: int = 0  # rows in the database, replayed ones included
    spilled: int = 0  # records that went to the spill file
    replayed: int = 0  # spilled records written to the database later
    failed: int = 0  # batch writes that failed (their records were spilled)
    lost: int = 0  # records neither the database nor the spill file took
    last_error: str | None = None
    last_write_time: datetime | None = None


class PredictionLog:
    """The prediction log at ``url``; see the module docstring for the guarantees."""

    def __init__(
        self,
        url: str,
        *,
        spill_dir: Path | None = None,
        queue_size: int = 10_000,
        batch_size: int = 500,
        timeout: float = 5.0,
        retry_interval: float = 1.0,
    ) -> None:
        self.url = url
        self.shown_url = mask_url(url)
        self._password = _secret(url)
        self.timeout = timeout
        self.batch_size = batch_size
        self.retry_interval = retry_interval
        self.engine = make_engine(url, timeout)
        self.database_file = _sqlite_file(url)
        self.spill_path = self._spill_path(spill_dir)
        self.counters = Counters()
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=queue_size)
        self._unwritten: set[str] = set()  # ids appended but not yet in the database
        self._outstanding = 0  # queued or in the batch being written
        self._spill_pending = self._count_spilled()
        self._replay_rounds = 0
        self._last_spill_warning = -math.inf
        self._last_replay = -math.inf
        self._lock = threading.Lock()  # counters, _unwritten, _outstanding
        self._spill_lock = threading.Lock()  # the spill file
        self._changed = threading.Condition(self._lock)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._database_ok = True
        self._started = False
        self._try_schema()
        self._started = True
        self._writer = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._writer.start()

    # Writing predictions -----------------------------------------------------------------

    def append(self, prediction: Prediction) -> str:
        """Log ``prediction`` without waiting for the database; returns its id."""
        row = prediction.row()
        with self._lock:
            self._unwritten.add(row["id"])
            self._outstanding += 1
        try:
            if self._stop.is_set():
                raise queue.Full  # closed: the spill file keeps it for the next start
            self._queue.put_nowait(row)
        except queue.Full:
            with self._lock:
                self._outstanding -= 1
            self._spill([row], reason="the in-memory queue is full")
        return row["id"]

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait at most ``timeout`` s until everything appended is in the database.

        True when it is (queue drained and spill file replayed); False when the time ran
        out or the database is unavailable, which :meth:`health` then explains.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            rounds = self._replay_rounds
        self._wake.set()
        with self._changed:
            while not self._flushed(rounds):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._writer.is_alive():
                    break
                self._changed.wait(min(remaining, 0.1))
            return self._outstanding == 0 and self._spill_pending == 0

    def _flushed(self, rounds: int) -> bool:
        # Done when nothing is queued and a replay attempt ran after flush was called.
        if self._outstanding:
            return False
        return self._spill_pending == 0 or self._replay_rounds > rounds

    def close(self, timeout: float = 10.0) -> bool:
        """Flush (bounded), stop the writer and release the database; True if all written."""
        done = self.flush(timeout)
        self._stop.set()
        self._wake.set()
        self._writer.join(timeout=max(1.0, timeout))
        self.engine.dispose()
        return done

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # Feedback and state (synchronous) ----------------------------------------------------

    def feedback(
        self, prediction_id: str, label: Any = None, reward: float | None = None
    ) -> FeedbackResult:
        """Record the true label and/or the reward of one prediction, once.

        ``"unknown-id"`` when no prediction has that id, ``"duplicate"`` when it already has
        feedback (the first one stands). Raises :class:`PredictionLogUnavailable` when the
        database does not answer within the timeout.
        """
        if label is None and reward is None:
            raise ValueError("feedback needs a label, a reward, or both")
        if reward is not None and (
            isinstance(reward, bool)
            or not isinstance(reward, int | float)
            or not math.isfinite(reward)
        ):
            raise ValueError(f"reward must be a finite number, got {reward!r}")
        row = {
            "prediction_id": str(prediction_id),
            "time": _utcnow(),
            "label": to_json(label),
            "reward": None if reward is None else float(reward),
        }
        with self._lock:
            pending = row["prediction_id"] in self._unwritten
        with self._database("record feedback") as connection:
            if not pending and not self._prediction_exists(connection, row["prediction_id"]):
                return "unknown-id"
            if self._has_feedback(connection, row["prediction_id"]):
                return "duplicate"
            try:
                connection.execute(feedback_table.insert(), row)
                connection.commit()
            except IntegrityError:  # another replica recorded it in the meantime
                connection.rollback()
                return "duplicate"
        return "recorded"

    def lookup(self, prediction_id: str) -> LoggedPrediction | None:
        """The logged prediction with that id; None when the database holds none.

        For feedback on an answer given before a restart, which the serving process no
        longer remembers. One read by primary key, bounded like every synchronous call by
        the log's timeout (:class:`PredictionLogUnavailable` past it). A prediction still
        queued or spilled is not in the database yet: None until it is written.
        """
        query = sa.select(
            predictions.c.id,
            predictions.c.time,
            predictions.c.arm,
            predictions.c.model_version,
            predictions.c.shadow,
            predictions.c.output,
        ).where(predictions.c.id == str(prediction_id))
        with self._database("look up a prediction") as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return LoggedPrediction(
            id=row["id"],
            time=row["time"],
            arm=row["arm"],
            model_version=row["model_version"],
            shadow=bool(row["shadow"]),
            prediction=row["output"],
        )

    def save_state(self, name: str, value: Mapping[str, Any]) -> None:
        """Store ``value`` (a JSON object) under ``name``, replacing what was there."""
        if name.startswith("crisp_"):
            raise ValueError(f"state name {name!r}: names starting with crisp_ are reserved")
        with self._database(f"save state {name!r}") as connection:
            self._put_state(connection, name, to_json(dict(value)))

    def load_state(self, name: str) -> dict[str, Any] | None:
        """The value saved under ``name``, or None if nothing was saved yet."""
        with self._database(f"load state {name!r}") as connection:
            return self._get_state(connection, name)

    # Reads for monitoring ----------------------------------------------------------------

    def read_window(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        include_shadow: bool = False,
    ) -> pd.DataFrame:
        """Predictions with ``since <= time < until`` (either end open when None), by time.

        One row per prediction: :data:`WINDOW_COLUMNS` (``prediction`` is the output;
        ``label``, ``reward`` and ``feedback_time`` are empty without feedback) and one
        column per feature. Shadow scores only when ``include_shadow``.
        """
        query = (
            sa.select(
                predictions,
                feedback_table.c.label,
                feedback_table.c.reward,
                feedback_table.c.time.label("feedback_time"),
            )
            .select_from(
                predictions.outerjoin(
                    feedback_table, feedback_table.c.prediction_id == predictions.c.id
                )
            )
            .order_by(predictions.c.time, predictions.c.id)
        )
        query = self._window_filter(query, since, until, include_shadow)
        with self._database("read predictions") as connection:
            rows = connection.execute(query).mappings().all()
        return _window_frame(rows)

    def count(self, *, include_shadow: bool = False) -> int:
        """How many predictions the database holds (shadow scores only on request)."""
        query = self._window_filter(
            sa.select(sa.func.count()).select_from(predictions), None, None, include_shadow
        )
        with self._database("count predictions") as connection:
            return int(connection.execute(query).scalar_one())

    def latest_time(self) -> datetime | None:
        """The time of the newest prediction in the database, or None if there is none."""
        query = sa.select(sa.func.max(predictions.c.time))
        with self._database("read the latest prediction time") as connection:
            value = connection.execute(query).scalar_one()
        if isinstance(value, str):  # SQLite's max() returns the stored text, untyped
            value = datetime.fromisoformat(value)
        return None if value is None else _as_utc(value)

    @staticmethod
    def _window_filter(
        query: Any, since: datetime | None, until: datetime | None, include_shadow: bool
    ) -> Any:
        if since is not None:
            query = query.where(predictions.c.time >= _as_utc(since))
        if until is not None:
            query = query.where(predictions.c.time < _as_utc(until))
        if not include_shadow:
            query = query.where(predictions.c.shadow.is_(False))
        return query

    # Health ------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``status`` ok or degraded, with the problems (naming file and fix) and counters."""
        problems = self._problems()
        return {
            "status": "degraded" if problems else "ok",
            "database": self.shown_url,
            "spill_file": str(self.spill_path),
            "problems": problems,
            **self.metrics(),
        }

    def metrics(self) -> dict[str, Any]:
        """The counters as plain numbers (and the last error), for a metrics endpoint."""
        with self._lock:
            c = self.counters
            return {
                "written": c.written,
                "queued": self._queue.qsize(),
                "spilled": c.spilled,
                "spill_pending": self._spill_pending,
                "replayed": c.replayed,
                "failed": c.failed,
                "lost": c.lost,
                "last_error": c.last_error,
                "last_write_time": c.last_write_time.isoformat() if c.last_write_time else None,
            }

    def _problems(self) -> list[str]:
        problems = []
        with self._lock:
            c, pending, ok = self.counters, self._spill_pending, self._database_ok
        if not ok:
            problems.append(
                f"the prediction log {self.shown_url} cannot be written ({c.last_error}); "
                f"{self._fix()}"
            )
        if pending:
            problems.append(
                f"{pending} prediction(s) wait in {self.spill_path} and are replayed into "
                "the database as soon as it accepts writes"
            )
        if self._queue.full():
            problems.append(
                "the in-memory queue is full: the database writes slower than requests arrive"
            )
        if c.lost:
            problems.append(
                f"{c.lost} prediction(s) were lost: neither the database nor {self.spill_path} "
                f"could be written; make {self.spill_path.parent} writable "
                f"or set {SPILL_DIR_ENV} to a writable folder"
            )
        return problems

    def _fix(self) -> str:
        if self.database_file is not None:
            return (
                f"make {self.database_file} a writable SQLite file in a writable folder "
                f"(not a directory), or point {URL_ENV} / params.yaml serve.prediction_log "
                "at another database"
            )
        return (
            f"check that the database server of {self.shown_url} is up and accepts the "
            f"credentials, or point {URL_ENV} / params.yaml serve.prediction_log elsewhere"
        )

    # Internals: the database -------------------------------------------------------------

    def _database(self, action: str) -> _Connection:
        return _Connection(self, action)

    def _redact(self, text: str) -> str:
        text = text.replace(self.url, self.shown_url)
        if self._password:
            text = text.replace(self._password, "***")
        return text

    def _describe(self, error: BaseException) -> str:
        # The DBAPI's own message: SQLAlchemy's adds the statement and its parameters.
        original = getattr(error, "orig", None) or error
        first_line = (str(original).strip().splitlines() or [type(original).__name__])[0]
        return self._redact(first_line)

    def _try_schema(self) -> bool:
        if self._schema_ready:
            return True
        with self._schema_lock:  # the writer and a request thread may both try at once
            if self._schema_ready:
                return True
            try:
                self._ensure_schema()
            except (SQLAlchemyError, OSError) as error:
                self._record_failure(error)
                return False
            except PredictionLogError as error:
                if not self._started:
                    raise  # at open: a clear error to the caller, not a degraded log
                self._record_failure(error)
                return False
            self._schema_ready = True
        return True

    def _ensure_schema(self) -> None:
        if self.database_file is not None:
            self.database_file.parent.mkdir(parents=True, exist_ok=True)
        with self.engine.connect() as connection:
            metadata.create_all(connection, checkfirst=True)
            connection.commit()
            version = self._get_state(connection, SCHEMA_VERSION_KEY)
            if version is None:
                self._put_state(connection, SCHEMA_VERSION_KEY, {"version": SCHEMA_VERSION})
            elif int(version.get("version", 0)) > SCHEMA_VERSION:
                raise PredictionLogError(
                    f"the prediction log {self.shown_url} has schema version "
                    f"{version['version']}, newer than this crisp-ml's {SCHEMA_VERSION}; "
                    "upgrade crisp-ml[runtime] to the release that wrote it"
                )

    @staticmethod
    def _get_state(connection: sa.Connection, name: str) -> dict[str, Any] | None:
        query = sa.select(state_table.c.value).where(state_table.c.name == name)
        return connection.execute(query).scalar_one_or_none()

    @staticmethod
    def _put_state(connection: sa.Connection, name: str, value: dict[str, Any]) -> None:
        # Update, else insert: portable, unlike each database's own upsert syntax.
        row = {"value": value, "updated_at": _utcnow()}
        updated = connection.execute(
            state_table.update().where(state_table.c.name == name).values(**row)
        )
        if updated.rowcount == 0:
            connection.execute(state_table.insert().values(name=name, **row))
        connection.commit()

    @staticmethod
    def _prediction_exists(connection: sa.Connection, prediction_id: str) -> bool:
        query = sa.select(predictions.c.id).where(predictions.c.id == prediction_id)
        return connection.execute(query).first() is not None

    @staticmethod
    def _has_feedback(connection: sa.Connection, prediction_id: str) -> bool:
        query = sa.select(feedback_table.c.prediction_id).where(
            feedback_table.c.prediction_id == prediction_id
        )
        return connection.execute(query).first() is not None

    def _insert(self, rows: list[dict[str, Any]], *, skip_existing: bool = False) -> int:
        """Write ``rows`` in one transaction; replayed rows already present are skipped."""
        with self.engine.connect() as connection, connection.begin():
            if skip_existing:
                ids = [row["id"] for row in rows]
                present = set(
                    connection.execute(
                        sa.select(predictions.c.id).where(predictions.c.id.in_(ids))
                    ).scalars()
                )
                rows = [row for row in rows if row["id"] not in present]
            if rows:
                connection.execute(predictions.insert(), rows)
        return len(rows)

    def _record_failure(self, error: BaseException) -> None:
        message = self._describe(error)
        with self._lock:
            first = self._database_ok
            self._database_ok = False
            self.counters.last_error = message
        if first:
            logger.error("prediction log %s cannot be written: %s", self.shown_url, message)

    def _record_written(self, rows: Iterable[dict[str, Any]], count: int, replayed: bool) -> None:
        ids = [row["id"] for row in rows]
        with self._lock:
            if not self._database_ok:
                logger.warning("prediction log %s accepts writes again", self.shown_url)
            self._database_ok = True
            self._unwritten.difference_update(ids)
            self.counters.written += count
            if replayed:
                self.counters.replayed += count
            self.counters.last_write_time = _utcnow()

    # Internals: the writer thread --------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch:
                self._write_batch(batch)
            due = time.monotonic() - self._last_replay >= self.retry_interval
            if self._spill_pending and (self._wake.is_set() or due):
                self._replay()
            self._wake.clear()
            with self._changed:
                self._changed.notify_all()
            if self._stop.is_set() and self._queue.empty():
                return

    def _next_batch(self) -> list[dict[str, Any]]:
        try:
            # A short poll, so that flush() and close() never wait for an idle writer.
            batch = [self._queue.get(timeout=POLL_INTERVAL)]
        except queue.Empty:
            return []
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _write_batch(self, batch: list[dict[str, Any]]) -> None:
        try:
            if not self._try_schema():
                raise _SchemaMissing
            self._insert(batch)
        except (SQLAlchemyError, OSError, _SchemaMissing) as error:
            if not isinstance(error, _SchemaMissing):
                self._record_failure(error)
            with self._lock:
                self.counters.failed += 1
            self._spill(batch, reason="the database write failed")
        else:
            self._record_written(batch, len(batch), replayed=False)
        with self._lock:
            self._outstanding -= len(batch)

    # Internals: the spill file -----------------------------------------------------------

    def _spill_path(self, spill_dir: Path | None) -> Path:
        name = (self.database_file.stem if self.database_file else "predictions") + SPILL_SUFFIX
        if spill_dir is not None:
            return Path(spill_dir) / name
        if self.database_file is not None:
            return self.database_file.parent / name
        return Path.cwd() / name

    def _replaying_path(self) -> Path:
        return self.spill_path.with_name(self.spill_path.name + REPLAY_SUFFIX)

    def _count_spilled(self) -> int:
        total = 0
        for path in (self._replaying_path(), self.spill_path):
            try:
                with path.open(encoding="utf-8") as lines:
                    total += sum(1 for line in lines if line.strip())
            except OSError:
                continue
        return total

    def _spill(self, rows: list[dict[str, Any]], reason: str) -> None:
        text = "".join(_spill_line(row) for row in rows)
        try:
            with self._spill_lock:
                self.spill_path.parent.mkdir(parents=True, exist_ok=True)
                with self.spill_path.open("a", encoding="utf-8") as spill:
                    spill.write(text)
        except OSError as error:
            with self._lock:
                self.counters.lost += len(rows)
                self._unwritten.difference_update(row["id"] for row in rows)
                self.counters.last_error = f"{self.spill_path}: {error.strerror or error}"
            logger.error(
                "%d prediction(s) lost: %s and the spill file %s cannot be written (%s)",
                len(rows),
                reason,
                self.spill_path,
                error,
            )
            return
        with self._lock:
            self.counters.spilled += len(rows)
            self._spill_pending += len(rows)
            # One line per outage, not one per request: a full queue spills record by record.
            now = time.monotonic()
            quiet = now - self._last_spill_warning < SPILL_WARNING_INTERVAL
            if not quiet:
                self._last_spill_warning = now
        if not quiet:
            logger.warning(
                "predictions spill to %s (%s); %d wait there to be replayed",
                self.spill_path,
                reason,
                self._spill_pending,
            )

    def _replay(self) -> None:
        """Move spilled records into the database; on failure they stay for the next try."""
        replaying = self._replaying_path()
        try:
            if self._try_schema():
                with self._spill_lock:
                    if not replaying.exists() and self.spill_path.exists():
                        self.spill_path.rename(replaying)
                if replaying.exists():
                    self._replay_file(replaying)
        except (SQLAlchemyError, OSError, ValueError) as error:
            self._record_failure(error)
        finally:
            self._last_replay = time.monotonic()
            with self._lock:
                self._replay_rounds += 1
                self._spill_pending = self._count_spilled()

    def _replay_file(self, path: Path) -> None:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for start in range(0, len(lines), self.batch_size):
            rows = [_row_from_spill(line) for line in lines[start : start + self.batch_size]]
            count = self._insert(rows, skip_existing=True)
            self._record_written(rows, count, replayed=True)
        path.unlink()
        logger.warning("replayed %d spilled prediction(s) from %s", len(lines), self.spill_path)


class _SchemaMissing(Exception):
    """The tables could not be created; the reason is already recorded."""


class _Connection:
    """A connection for one synchronous call: database errors become PredictionLogUnavailable."""

    def __init__(self, log: PredictionLog, action: str) -> None:
        self.log = log
        self.action = action
        self.connection: sa.Connection | None = None

    def __enter__(self) -> sa.Connection:
        try:
            if not self.log._try_schema():
                raise _SchemaMissing
            self.connection = self.log.engine.connect()
        except (SQLAlchemyError, OSError, _SchemaMissing) as error:
            raise self._unavailable(error) from None
        return self.connection

    def __exit__(self, kind: type | None, error: BaseException | None, _tb: object) -> bool:
        assert self.connection is not None
        self.connection.close()
        if isinstance(error, SQLAlchemyError) and not isinstance(error, IntegrityError):
            raise self._unavailable(error) from None
        return False

    def _unavailable(self, error: BaseException) -> PredictionLogUnavailable:
        if not isinstance(error, _SchemaMissing):
            self.log._record_failure(error)
        reason = self.log.counters.last_error
        return PredictionLogUnavailable(
            f"cannot {self.action}: the prediction log {self.log.shown_url} does not answer "
            f"({reason}); {self.log._fix()}"
        )


def _window_frame(rows: list[Mapping[str, Any]]) -> pd.DataFrame:
    records = []
    for row in rows:
        record = {name: row[name] for name in WINDOW_COLUMNS if name != "prediction"}
        record["prediction"] = row["output"]
        features = row["features"] if isinstance(row["features"], Mapping) else {}
        for name, value in features.items():
            record[f"features.{name}" if name in WINDOW_COLUMNS else name] = value
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=None if records else list(WINDOW_COLUMNS))
    return frame[[*WINDOW_COLUMNS, *[c for c in frame.columns if c not in WINDOW_COLUMNS]]]


def open_log(root: Path, params: Mapping[str, Any] | None = None, **options: Any) -> PredictionLog:
    """The project's prediction log (:func:`log_url`); spill folder from the environment."""
    spill_dir = os.environ.get(SPILL_DIR_ENV, "").strip()
    options.setdefault("spill_dir", Path(spill_dir) if spill_dir else None)
    if options["spill_dir"] is None and _sqlite_file(log_url(root, params)) is None:
        options["spill_dir"] = Path(root)
    return PredictionLog(log_url(root, params), **options)
