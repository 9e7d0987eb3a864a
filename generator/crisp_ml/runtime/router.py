"""Serve a champion and a challenger model under one deployment strategy (CRISP-ML step 7.3).

The strategy is configuration, not code: ``params.yaml`` holds a ``deploy:`` section and
:func:`build_router` turns it into a :class:`Router`. Four strategies are provided:

``ab``
    A fixed fraction of traffic goes to the challenger. The arm is derived from a hash of
    the request key, so a user always meets the same model.
``bandit``
    A multi-armed bandit (Thompson sampling or epsilon-greedy) shifts traffic towards the
    arm with the better observed reward.
``shadow``
    The champion answers every request; the challenger sees the same input on the side and
    its output is only logged, so it can be judged without any user seeing it.
``canary``
    A small sticky fraction of traffic tries the challenger; when its observed reward falls
    below the champion's by more than a margin, all traffic rolls back to the champion.

Rewards are numbers in [0, 1] that the serving application reports after the fact
(1 = the prediction was right or the user converted, 0 = it was not). The router keeps
per-arm statistics and is meant for one process; share-nothing replicas each keep their own.

The state survives a restart: :meth:`Router.state` is plain JSON data (arm statistics,
bandit rewards, the canary's step and rollback) that the serving app saves in the
prediction log, and :meth:`Router.restore` takes it back at start. A state saved for
other model versions or another strategy is ignored: a new release starts afresh.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal, Protocol, TypeVar

from .config import ConfigError

logger = logging.getLogger(__name__)

Arm = Literal["champion", "challenger"]
CHAMPION: Arm = "champion"
CHALLENGER: Arm = "challenger"
ARMS: tuple[Arm, Arm] = (CHAMPION, CHALLENGER)
STRATEGIES = ("ab", "bandit", "shadow", "canary")
STATE_VERSION = 1  # of Router.state(); restore() ignores a state of another version
BANDIT_ALGORITHMS = ("thompson", "epsilon_greedy")


class Model(Protocol):
    """Anything with a scikit-learn style ``predict``."""

    def predict(self, features: Any) -> Any: ...


@dataclass
class ArmStats:
    """What one arm has done so far."""

    served: int = 0  # answers returned to callers
    shadowed: int = 0  # predictions made on the side, never returned
    errors: int = 0  # shadow predictions that raised
    rewards: int = 0  # rewards reported
    reward_sum: float = 0.0

    @property
    def mean_reward(self) -> float | None:
        return self.reward_sum / self.rewards if self.rewards else None


class Strategy(Protocol):
    """Decides which arm answers a request."""

    name: ClassVar[str]
    shadow: ClassVar[bool]  # True: the challenger also predicts every request, unseen

    def choose(self, key: str, stats: Mapping[Arm, ArmStats]) -> Arm: ...


def hash_fraction(key: str, salt: str) -> float:
    """Map a request key to a stable number in [0, 1): the same key always lands alike."""
    digest = hashlib.blake2b(f"{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")


@dataclass
class ABSplit:
    """A fixed, sticky share of traffic for the challenger."""

    challenger_fraction: float = 0.5
    salt: str = "ab"

    name: ClassVar[str] = "ab"
    shadow: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_fraction("challenger_fraction", self.challenger_fraction)

    def choose(self, key: str, stats: Mapping[Arm, ArmStats]) -> Arm:
        in_challenger = hash_fraction(key, self.salt) < self.challenger_fraction
        return CHALLENGER if in_challenger else CHAMPION


@dataclass
class ThompsonSampling:
    """Bandit: draw each arm's reward rate from its Beta posterior, serve the higher draw."""

    seed: int = 0
    name: ClassVar[str] = "bandit"
    shadow: ClassVar[bool] = False
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def choose(self, key: str, stats: Mapping[Arm, ArmStats]) -> Arm:
        def draw(arm: Arm) -> float:
            s = stats[arm]
            # Beta(1, 1) prior; fractional rewards update both counts proportionally.
            return self._rng.betavariate(1 + s.reward_sum, 1 + s.rewards - s.reward_sum)

        return max(ARMS, key=draw)


@dataclass
class EpsilonGreedy:
    """Bandit: serve the arm with the best mean reward, explore at random with rate epsilon."""

    epsilon: float = 0.1
    seed: int = 0
    name: ClassVar[str] = "bandit"
    shadow: ClassVar[bool] = False
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        _check_fraction("epsilon", self.epsilon)
        self._rng = random.Random(self.seed)

    def choose(self, key: str, stats: Mapping[Arm, ArmStats]) -> Arm:
        if self._rng.random() < self.epsilon:
            return self._rng.choice(ARMS)

        # An arm without rewards yet counts as perfect, so each arm is tried early on.
        def mean(arm: Arm) -> float:
            reward = stats[arm].mean_reward
            return 1.0 if reward is None else reward

        return max(ARMS, key=mean)


@dataclass
class Shadow:
    """The champion answers; the router also runs the challenger and logs its output."""

    name: ClassVar[str] = "shadow"
    shadow: ClassVar[bool] = True

    def choose(self, key: str, stats: Mapping[Arm, ArmStats]) -> Arm:
        return CHAMPION


@dataclass
class Canary:
    """A small sticky share for the challenger, widened step by step while it holds up.

    Traffic starts at ``steps[0]``. Each time the challenger has earned another
    ``min_rewards`` rewards without falling behind, it moves to the next step; users already
    on the challenger stay there, because a wider step only adds users. As soon as its mean
    reward falls below the champion's by more than ``rollback_margin`` (judged once it has
    ``min_rewards`` rewards, so one unlucky request cannot trigger it), every request goes
    back to the champion for good: a rolled-back challenger needs a new release.
    """

    steps: tuple[float, ...] = (0.05, 0.2, 0.5)
    rollback_margin: float = 0.05
    min_rewards: int = 100
    salt: str = "canary"
    step: int = field(default=0, init=False)
    rolled_back: bool = field(default=False, init=False)

    name: ClassVar[str] = "canary"
    shadow: ClassVar[bool] = False

    def __post_init__(self) -> None:
        self.steps = tuple(float(step) for step in self.steps)
        if not self.steps or list(self.steps) != sorted(self.steps):
            raise ValueError(f"steps must be a non-empty, increasing list, got {self.steps!r}")
        for step in self.steps:
            _check_fraction("every step", step)
        _check_fraction("rollback_margin", self.rollback_margin)
        if type(self.min_rewards) is not int or self.min_rewards < 1:
            raise ValueError(
                f"min_rewards must be a whole number of at least 1, got {self.min_rewards!r}"
            )

    @property
    def challenger_fraction(self) -> float:
        return 0.0 if self.rolled_back else self.steps[self.step]

    def choose(self, key: str, stats: Mapping[Arm, ArmStats]) -> Arm:
        if not self.rolled_back:
            self._review(stats)
        in_canary = hash_fraction(key, self.salt) < self.challenger_fraction
        return CHALLENGER if in_canary else CHAMPION

    def _review(self, stats: Mapping[Arm, ArmStats]) -> None:
        challenger, champion = stats[CHALLENGER], stats[CHAMPION]
        if challenger.mean_reward is None or champion.mean_reward is None:
            return
        if challenger.rewards < self.min_rewards:
            return
        if challenger.mean_reward < champion.mean_reward - self.rollback_margin:
            self.rolled_back = True
            logger.warning(
                "canary rolled back: challenger reward %.3f < champion reward %.3f - margin %.3f",
                challenger.mean_reward,
                champion.mean_reward,
                self.rollback_margin,
            )
        elif self.step + 1 < len(self.steps) and challenger.rewards >= self.min_rewards * (
            self.step + 1
        ):
            self.step += 1
            logger.info("canary widened to %.0f%% of traffic", 100 * self.steps[self.step])


@dataclass(frozen=True)
class ShadowRecord:
    """One request the challenger answered in the shadow, for offline comparison."""

    key: str
    champion: Any
    challenger: Any


@dataclass(frozen=True)
class Routed:
    """The answer to one request and the arm that gave it."""

    arm: Arm
    prediction: Any


class Router:
    """Routes each request to the champion or the challenger and keeps per-arm statistics."""

    def __init__(
        self,
        champion: Model,
        challenger: Model,
        strategy: Strategy,
        shadow_log_size: int = 1000,
        model_versions: Mapping[Arm, str | None] | None = None,
    ) -> None:
        self.models: dict[Arm, Model] = {CHAMPION: champion, CHALLENGER: challenger}
        # Which registered versions serve; a saved state only applies to the same ones.
        self.model_versions: dict[Arm, str | None] = {
            arm: None if (model_versions or {}).get(arm) is None else str(model_versions[arm])
            for arm in ARMS
        }
        self.strategy = strategy
        self.stats: dict[Arm, ArmStats] = {arm: ArmStats() for arm in ARMS}
        self.shadow_log: deque[ShadowRecord] = deque(maxlen=shadow_log_size)

    def predict(self, features: Any, key: str) -> Routed:
        """Answer one request; ``key`` identifies the user or session (for stickiness)."""
        arm = self.strategy.choose(key, self.stats)
        prediction = self.models[arm].predict(features)
        self.stats[arm].served += 1
        if self.strategy.shadow:
            self._run_in_shadow(features, key, prediction)
        return Routed(arm=arm, prediction=prediction)

    def record_reward(self, arm: Arm, reward: float) -> None:
        """Report how good an answer of ``arm`` turned out to be (0 = bad, 1 = good)."""
        if arm not in self.stats:
            raise ValueError(f"unknown arm {arm!r}; expected one of {ARMS}")
        _check_fraction("reward", reward)
        self.stats[arm].rewards += 1
        self.stats[arm].reward_sum += reward

    def summary(self) -> dict[str, Any]:
        """Per-arm statistics as plain data, ready for a log line or a JSON report."""
        return {
            "strategy": self.strategy.name,
            "arms": {
                arm: {**asdict(stats), "mean_reward": stats.mean_reward}
                for arm, stats in self.stats.items()
            },
        }

    def state(self) -> dict[str, Any]:
        """What the router has learnt, as JSON data for :meth:`restore` after a restart."""
        state: dict[str, Any] = {
            "version": STATE_VERSION,
            "strategy": self.strategy.name,
            "model_versions": dict(self.model_versions),
            "arms": {arm: asdict(stats) for arm, stats in self.stats.items()},
        }
        if isinstance(self.strategy, Canary):
            state["canary"] = {
                "step": self.strategy.step,
                "rolled_back": self.strategy.rolled_back,
            }
        return state

    def restore(self, state: Mapping[str, Any] | None) -> bool:
        """Take back a :meth:`state` saved before a restart; True if it was applied.

        None (nothing saved yet), another state version, another strategy or other model
        versions leave the router as it is (logged): statistics of one release must not
        judge the next. A malformed state raises ValueError naming what is wrong.
        """
        reason = _unusable(state, self)
        if reason:
            logger.info("router state not restored: %s", reason)
            return False
        assert state is not None
        stats = {arm: _arm_stats(state["arms"].get(arm), arm) for arm in ARMS}
        canary = _canary_state(state, self.strategy)
        self.stats = stats
        if isinstance(self.strategy, Canary) and canary is not None:
            # A shorter list of steps in params.yaml since: stay on its widest step.
            self.strategy.step = min(canary[0], len(self.strategy.steps) - 1)
            self.strategy.rolled_back = canary[1]
        return True

    def _run_in_shadow(self, features: Any, key: str, champion_prediction: Any) -> None:
        # A failing challenger must never break the answer the user already has.
        try:
            challenger_prediction = self.models[CHALLENGER].predict(features)
        except Exception:
            self.stats[CHALLENGER].errors += 1
            logger.exception("shadow challenger failed on request %s", key)
            return
        self.stats[CHALLENGER].shadowed += 1
        self.shadow_log.append(ShadowRecord(key, champion_prediction, challenger_prediction))
        logger.debug(
            "shadow %s: champion=%r challenger=%r", key, champion_prediction, challenger_prediction
        )


def _unusable(state: Mapping[str, Any] | None, router: Router) -> str | None:
    """Why a well-formed ``state`` does not apply to ``router`` (None: it applies)."""
    if state is None:
        return "none saved yet"
    if not isinstance(state, Mapping) or not isinstance(state.get("arms"), Mapping):
        raise ValueError(
            "router state: expected a mapping with 'version', 'strategy' and 'arms' as "
            f"Router.state() writes, got {str(state)[:200]!r}; "
            "delete the saved state to start afresh"
        )
    if state.get("version") != STATE_VERSION:
        return f"state version {state.get('version')!r}, this router reads {STATE_VERSION}"
    if state.get("strategy") != router.strategy.name:
        return f"saved for strategy {state.get('strategy')!r}, now {router.strategy.name!r}"
    saved = state.get("model_versions") or {}
    if any(saved.get(arm) != router.model_versions[arm] for arm in ARMS):
        return f"saved for model versions {dict(saved)}, now {router.model_versions}"
    return None


def _arm_stats(saved: Any, arm: Arm) -> ArmStats:
    if saved is None:
        return ArmStats()
    names = {f.name for f in fields(ArmStats)}
    if not isinstance(saved, Mapping) or set(saved) - names:
        raise ValueError(f"router state: arms.{arm} must hold only {sorted(names)}")
    try:
        stats = ArmStats(
            **{name: (float if name == "reward_sum" else int)(v) for name, v in saved.items()}
        )
    except (TypeError, ValueError):
        raise ValueError(f"router state: arms.{arm} holds a value that is not a number") from None
    if min(asdict(stats).values()) < 0 or stats.reward_sum > stats.rewards:
        raise ValueError(f"router state: arms.{arm} has impossible counts {asdict(stats)}")
    return stats


def _canary_state(state: Mapping[str, Any], strategy: Strategy) -> tuple[int, bool] | None:
    if not isinstance(strategy, Canary):
        return None
    saved = state.get("canary")
    if not isinstance(saved, Mapping):
        raise ValueError("router state: a canary's state needs a 'canary' section")
    step, rolled_back = saved.get("step"), saved.get("rolled_back")
    if type(step) is not int or step < 0 or not isinstance(rolled_back, bool):
        raise ValueError(
            "router state: canary.step must be a whole number >= 0 and canary.rolled_back "
            f"true or false, got {dict(saved)}"
        )
    return step, rolled_back


_S = TypeVar("_S")


def build_strategy(config: Mapping[str, Any]) -> Strategy:
    """The strategy a ``deploy:`` section of params.yaml describes.

    ``strategy`` names one of :data:`STRATEGIES`; a sub-section of the same name holds its
    settings, e.g. ``{"strategy": "canary", "canary": {"challenger_fraction": 0.1}}``.
    """
    name = config.get("strategy")
    if name not in STRATEGIES:
        raise ConfigError(
            f"params.yaml deploy.strategy is {name!r}; set it to one of {', '.join(STRATEGIES)}"
        )
    settings = dict(config.get(name) or {})
    if name == "ab":
        return _make(ABSplit, settings, name)
    if name == "shadow":
        return _make(Shadow, settings, name)
    if name == "canary":
        return _make(Canary, settings, name)
    algorithm = settings.pop("algorithm", "thompson")
    settings.setdefault("seed", int(config.get("seed", 0)))
    if algorithm == "thompson":
        return _make(ThompsonSampling, settings, name)
    if algorithm == "epsilon_greedy":
        return _make(EpsilonGreedy, settings, name)
    raise ConfigError(
        f"params.yaml deploy.bandit.algorithm is {algorithm!r}; "
        f"set it to one of {', '.join(BANDIT_ALGORITHMS)}"
    )


def build_router(
    config: Mapping[str, Any],
    champion: Model,
    challenger: Model,
    model_versions: Mapping[Arm, str | None] | None = None,
) -> Router:
    """A router for ``champion`` and ``challenger`` as the ``deploy:`` section asks.

    ``model_versions`` (registry versions per arm) ties a saved state to the models it
    was learnt on: :meth:`Router.restore` ignores a state of other versions.
    """
    return Router(champion, challenger, build_strategy(config), model_versions=model_versions)


def _make(cls: type[_S], settings: Mapping[str, Any], section: str) -> _S:
    """Instantiate a strategy; a bad setting is an error naming its params.yaml key."""
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(
            f"params.yaml deploy.{section}: unknown setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known)) or 'none'}"
        )
    try:
        return cls(**settings)
    except (TypeError, ValueError) as error:  # a setting of the wrong type or out of range
        raise ConfigError(f"params.yaml deploy.{section}: {error}") from None
