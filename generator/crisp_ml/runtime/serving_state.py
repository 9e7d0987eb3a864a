"""The router's state across restarts, kept in the prediction log's state table.

A restarted server must not forget what the router learnt: the bandit's rewards, the A/B
counts, a canary's step or its rollback. The value saved under the name ``router`` is the
router's summary (``strategy`` and per-arm ``arms``: what monitoring reads), the two model
versions it describes, and the router's own state. It is restored only when strategy and
versions still match: a new challenger is a new experiment and starts from nothing (a
rolled-back canary would otherwise block it for good).

``Router.state()`` / ``Router.restore()`` are the router's own; until they exist, the
statistics and the strategy's progress (canary step and rollback) are read off here.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, fields
from typing import Any

from .router import ArmStats, Router

logger = logging.getLogger(__name__)

STATE_NAME = "router"
# What of a strategy changes while serving; its settings come from params.yaml instead.
_PROGRESS = ("step", "rolled_back")


def snapshot(
    router: Router, summary: dict[str, Any], versions: dict[str, str | None]
) -> dict[str, Any]:
    """What to save: the router's summary and state, labelled with the model versions."""
    return {**summary, "versions": versions, "state": _state(router)}


def restore(
    router: Router, saved: dict[str, Any] | None, strategy: str, versions: dict[str, str | None]
) -> bool:
    """Put ``saved`` back into ``router`` when it describes the same strategy and versions."""
    if not saved:
        return False
    if saved.get("strategy") != strategy or saved.get("versions") != versions:
        logger.warning(
            "the saved router state is for %s with %s, not %s with %s: starting afresh",
            saved.get("strategy"),
            saved.get("versions"),
            strategy,
            versions,
        )
        return False
    _restore(router, saved.get("state") or {})
    return True


def _state(router: Router) -> dict[str, Any]:
    if hasattr(router, "state"):
        return router.state()
    strategy = router.strategy
    progress = {name: getattr(strategy, name) for name in _PROGRESS if hasattr(strategy, name)}
    return {"stats": {arm: asdict(s) for arm, s in router.stats.items()}, "strategy": progress}


def _restore(router: Router, state: dict[str, Any]) -> None:
    if hasattr(router, "restore"):
        router.restore(state)
        return
    known = {f.name for f in fields(ArmStats)}
    for arm, values in (state.get("stats") or {}).items():
        if arm in router.stats:
            router.stats[arm] = ArmStats(**{k: v for k, v in values.items() if k in known})
    for name, value in (state.get("strategy") or {}).items():
        if name in _PROGRESS and hasattr(router.strategy, name):
            setattr(router.strategy, name, value)
