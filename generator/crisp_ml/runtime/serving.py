"""The serving app (CRISP-ML step 7.3, with the feedback of step 8.4): FastAPI behind uvicorn.

``python -m crisp_ml.runtime.serving [--host H] [--port P] [--root DIR]`` (``make serve``)
loads the champion and the challenger by registry alias and answers

- ``POST /predict``: ``{"features": {...}}`` or ``{"instances": [{...}, ...]}``, with an
  optional ``key`` (a user or session id: A/B and canary keep a key on one arm). Every
  request goes through the router with the ``deploy:`` strategy of params.yaml; the answer
  holds one id per row, the predictions (and class probabilities for a classifier), the
  arm and the model version. Under ``shadow`` the challenger also scores every request;
  its answer is logged with ``shadow=true`` and never returned.
- ``POST /feedback``: ``{"id": ..., "label": ...}`` or ``{"id": ..., "reward": 0..1}`` for
  an earlier prediction. A label becomes a reward: for a classifier 1 when the served
  prediction was right, else 0; for a regressor ``exp(-|error| / max(|label|, 1))``, 1 for
  an exact answer and 1/e for an error the size of the label. The reward goes to the arm
  that answered (the bandit learns from it, the canary judges by it) and the router's state
  is saved to the prediction log, so a restart resumes where it stopped. An answer given
  before a restart is read back from the log: its arm still earns the reward, as long as
  that arm serves the same model version. 404 for an unknown id, 409 for a second
  feedback on the same one.
- ``GET /health``: 200 when both the models and the log are fine, 503 with the reason when
  the log is degraded; predictions are answered either way.
- ``GET /metrics``: Prometheus text (requests and latency per arm, log records, router).

Payload values are checked against the schema; a bad one is a 422 naming row, column and
rule. One worker: the router's statistics live in this process.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse, PlainTextResponse

from .config import ConfigError, load_params, project_root
from .predlog import (
    Prediction,
    PredictionLog,
    PredictionLogError,
    PredictionLogUnavailable,
    open_log,
)
from .router import CHALLENGER, CHAMPION, ABSplit, Router, build_router
from .serving_metrics import CONTENT_TYPE, ServingMetrics
from .serving_models import LoadedModel, Scored, Scorer, ServingError, load_arms
from .serving_payload import FeedbackRequest, PredictRequest, Validator

logger = logging.getLogger(__name__)

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000
RECENT_PREDICTIONS = 100_000  # served answers kept in memory to turn labels into rewards
STATE_NAME = "router"  # the prediction log's state row for Router.state()
CHAMPION_ONLY = "champion-only"  # the strategy's name when there is no challenger
CLOSE_SECONDS = 5.0  # at shutdown, the longest wait for the log to write what it holds


@dataclass(frozen=True)
class Served:
    """What feedback needs to know about an answer: who gave it and what it said."""

    arm: str
    prediction: Any
    classifier: bool


class Service:
    """The router, the models and the log of one app; the endpoints are thin over it."""

    def __init__(self, root: Path, params: dict[str, Any], log: PredictionLog) -> None:
        from .tracking import public_uri, tracking_uri

        tracking = public_uri(tracking_uri(root, params), root)
        champion, challenger = load_arms(root, params, tracking)
        self.root, self.log = root, log
        self.scorers = {CHAMPION: Scorer(champion)}
        if challenger is not None:
            self.scorers[CHALLENGER] = Scorer(challenger)
        self.router = self._router(params, champion, challenger)
        self.validator = Validator(root, self.scorers[CHAMPION].features)
        self.metrics = ServingMetrics()
        self.lock = threading.Lock()  # the router is not thread-safe; FastAPI uses threads
        self.recent: OrderedDict[str, Served] = OrderedDict()
        self._restore()

    @property
    def solo(self) -> bool:
        """True when the champion serves alone (no challenger, or the same version)."""
        return CHALLENGER not in self.scorers

    @property
    def strategy(self) -> str:
        return CHAMPION_ONLY if self.solo else self.router.strategy.name

    @property
    def versions(self) -> dict[str, str | None]:
        challenger = None if self.solo else self.scorers[CHALLENGER].loaded.version
        return {CHAMPION: self.scorers[CHAMPION].loaded.version, CHALLENGER: challenger}

    def _router(
        self, params: dict[str, Any], champion: LoadedModel, challenger: LoadedModel | None
    ) -> Router:
        if challenger is None:
            # Champion only: a zero share for the challenger keeps the router's bookkeeping.
            solo = self.scorers[CHAMPION]
            return Router(solo, solo, ABSplit(0.0), model_versions=self.versions)
        deploy = params.get("deploy")
        if not isinstance(deploy, dict):
            raise ServingError("params.yaml: missing the `deploy:` section (the strategy)")
        scorers = self.scorers
        return build_router(deploy, scorers[CHAMPION], scorers[CHALLENGER], self.versions)

    def _restore(self) -> None:
        # A state of other model versions or another strategy is ignored by the router:
        # a new challenger is a new experiment (a rolled-back canary must not block it).
        try:
            restored = self.router.restore(self.log.load_state(STATE_NAME))
        except (PredictionLogUnavailable, ValueError) as error:
            logger.warning("router state not restored, starting afresh: %s", error)
            return
        if restored:
            logger.info("router state restored from the prediction log")

    def summary(self) -> dict[str, Any]:
        with self.lock:
            summary = self.router.summary()
        summary["strategy"] = self.strategy
        if hasattr(self.router.strategy, "rolled_back"):
            summary["rolled_back"] = self.router.strategy.rolled_back
        return summary

    def predict(self, request: PredictRequest) -> dict[str, Any]:
        frame, violations = self.validator.check(request.records)
        if violations:
            self.metrics.reject()
            raise HTTPException(status_code=422, detail=violations)
        key = request.key or uuid.uuid4().hex  # no key: nothing to stick to
        start = time.perf_counter()
        with self.lock:
            shadowed_before = self.router.stats[CHALLENGER].shadowed
            try:
                routed = self.router.predict(frame, key)
            except (ValueError, TypeError) as error:  # scikit-learn's "bad input" errors
                self.metrics.reject()
                message = f"the model cannot predict on these rows: {error}"
                raise HTTPException(status_code=422, detail=[model_refusal(message)]) from None
            shadow = self._shadow_answer(shadowed_before)
        latency = time.perf_counter() - start
        arm, scored = routed.arm, routed.prediction
        self.metrics.observe(arm, len(frame), latency)
        version = self.scorers[arm].loaded.version
        ids = self._log(request.records, arm, version, scored, latency, shadow=False)
        if shadow is not None:
            challenger = self.scorers[CHALLENGER].loaded.version
            self._log(request.records, CHALLENGER, challenger, shadow, latency, shadow=True)
        self._remember(ids, arm, scored)
        answer: dict[str, Any] = {
            "ids": ids,
            "predictions": scored.predictions,
            "arm": arm,
            "model_version": version,
        }
        if scored.probabilities is not None:
            answer["probabilities"] = scored.probabilities
        return answer

    def _shadow_answer(self, shadowed_before: int) -> Scored | None:
        # The router keeps what the challenger said in the shadow; take this request's.
        if self.solo or self.router.stats[CHALLENGER].shadowed == shadowed_before:
            return None
        return self.router.shadow_log[-1].challenger

    def _log(
        self,
        records: list[dict[str, Any]],
        arm: str,
        version: str,
        scored: Scored,
        latency: float,
        shadow: bool,
    ) -> list[str]:
        # The output is the prediction itself: monitoring compares it with the label.
        return [
            self.log.append(
                Prediction(
                    arm=arm,
                    features=record,
                    output=prediction,
                    latency_ms=latency * 1000,
                    model_version=version,
                    shadow=shadow,
                )
            )
            for record, prediction in zip(records, scored.predictions, strict=True)
        ]

    def _remember(self, ids: list[str], arm: str, scored: Scored) -> None:
        classifier = scored.probabilities is not None
        with self.lock:
            for pid, prediction in zip(ids, scored.predictions, strict=True):
                self.recent[pid] = Served(arm, prediction, classifier)
            while len(self.recent) > RECENT_PREDICTIONS:
                self.recent.popitem(last=False)

    def feedback(self, request: FeedbackRequest) -> tuple[int, dict[str, Any]]:
        try:
            served = self._served(request.id)
            reward = request.reward
            if reward is None and served is not None:
                reward = label_reward(served, request.label)
            outcome = self.log.feedback(request.id, label=request.label, reward=reward)
        except PredictionLogUnavailable as error:
            self.metrics.count_feedback("log-unavailable")
            return 503, {"detail": str(error)}
        self.metrics.count_feedback(outcome)
        if outcome == "unknown-id":
            return 404, {"detail": f"no prediction has the id {request.id!r}"}
        if outcome == "duplicate":
            return 409, {"detail": f"prediction {request.id!r} already has feedback"}
        body: dict[str, Any] = {"id": request.id, "status": outcome, "reward": reward}
        if served is None or reward is None:
            # Recorded, but no arm of this release gave that answer: nothing to reward.
            return 200, body
        with self.lock:
            self.router.record_reward(served.arm, reward)
        self._save_state()
        return 200, {**body, "arm": served.arm}

    def _served(self, prediction_id: str) -> Served | None:
        """The answer ``prediction_id`` got: from memory, else from the log (served before
        a restart, or pushed out of memory). None when no arm serving now gave it."""
        with self.lock:
            served = self.recent.get(prediction_id)
        if served is not None:
            return served
        logged = self.log.lookup(prediction_id)
        if logged is None or logged.shadow:
            return None  # unknown (the log says 404) or the challenger's unseen shadow score
        scorer = self.scorers.get(logged.arm)
        # Only an answer of the version that serves the arm now: like a saved router state,
        # rewards earned by another release must not judge this one.
        if scorer is None or logged.model_version != scorer.loaded.version:
            return None
        return Served(logged.arm, logged.prediction, scorer.is_classifier)

    def _save_state(self) -> None:
        with self.lock:
            state = self.router.state()
        try:
            self.log.save_state(STATE_NAME, state)
        except PredictionLogUnavailable as error:
            logger.warning("router state not saved: %s", error)

    def health(self) -> tuple[int, dict[str, Any]]:
        log = self.log.health()
        ok = log.get("status") == "ok"
        body: dict[str, Any] = {
            "status": "ok" if ok else "degraded",
            "strategy": self.strategy,
            "models": self.versions,
            "log": log,
        }
        if not ok:
            body["reason"] = "; ".join(log.get("problems") or ["the prediction log is degraded"])
        return (200 if ok else 503), body

    def close(self) -> None:
        self._save_state()
        self.log.close(timeout=CLOSE_SECONDS)


def model_refusal(message: str) -> dict[str, Any]:
    """A 422 detail entry for rows the checks let through but the model itself refused."""
    return {"row": None, "column": None, "check": "model", "message": message}


def label_reward(served: Served, label: Any) -> float | None:
    """The reward a true label earns the answer given (see the module docstring)."""
    if served.classifier:
        return 1.0 if label == served.prediction or str(label) == str(served.prediction) else 0.0
    if isinstance(label, bool) or not isinstance(label, int | float) or not math.isfinite(label):
        return None
    return math.exp(-abs(label - float(served.prediction)) / max(abs(label), 1.0))


def create_app(root: Path) -> FastAPI:
    """The serving app for the project at ``root`` (its params.yaml, registry and log).

    Raises :class:`ServingError` when it cannot serve (no champion, no ``deploy:``).
    """
    root = root.resolve()
    params = load_params(root / "params.yaml")
    log = open_log(root, params)
    try:
        service = Service(root, params, log)
    except BaseException:
        log.close(timeout=CLOSE_SECONDS)  # no writer thread left behind by a refused start
        raise

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title=f"{root.name} serving", lifespan=lifespan)
    app.state.service = service

    @app.post("/predict")
    def predict(request: PredictRequest) -> dict[str, Any]:
        return service.predict(request)

    @app.post("/feedback")
    def feedback(request: FeedbackRequest) -> JSONResponse:
        status, body = service.feedback(request)
        return JSONResponse(body, status_code=status)

    @app.get("/health")
    def health() -> JSONResponse:
        status, body = service.health()
        return JSONResponse(body, status_code=status)

    @app.get("/metrics")
    def metrics() -> PlainTextResponse:
        text = service.metrics.render(service.summary(), service.log.metrics())
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    return app


def serve_settings(params: dict[str, Any]) -> tuple[str, int]:
    """Host and port from params.yaml's ``serve:`` section, with the usual defaults."""
    section = params.get("serve") or {}
    if not isinstance(section, dict):
        raise ConfigError("params.yaml: `serve:` must be a mapping (host, port, ...)")
    host, port = section.get("host") or DEFAULT_HOST, section.get("port") or DEFAULT_PORT
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError(f"params.yaml: serve.port must be a port number, got {port!r}")
    return str(host), port


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crisp_ml.runtime.serving")
    parser.add_argument("--root", type=Path, default=None, help="the project (default: here)")
    parser.add_argument("--host", help="address to listen on (default: serve.host)")
    parser.add_argument("--port", type=int, help="port to listen on (default: serve.port)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    logging.basicConfig(level=logging.INFO, format="serve: %(message)s")
    root = (args.root or project_root()).resolve()
    try:
        params = load_params(root / "params.yaml")
        host, port = serve_settings(params)
        app = create_app(root)
    except (ConfigError, PredictionLogError) as error:
        sys.exit(f"serve: error: {error}")
    import uvicorn

    # One worker: the router's statistics and state belong to this one process.
    uvicorn.run(
        app,
        host=args.host or host,
        port=args.port or port,
        workers=1,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
