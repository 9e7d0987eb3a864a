"""The deployment router: every strategy does what phase 7's deployment strategy promises."""

from __future__ import annotations

import json
import random
import re

import pytest

from crisp_ml.runtime.router import (
    CHALLENGER,
    CHAMPION,
    ABSplit,
    Canary,
    EpsilonGreedy,
    Router,
    Shadow,
    ThompsonSampling,
    build_router,
    build_strategy,
)


class Named:
    """A model whose every prediction is its own name, so answers reveal the arm."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0

    def predict(self, features: object) -> str:
        self.calls += 1
        return self.name


class Broken:
    def predict(self, features: object) -> str:
        raise RuntimeError("challenger crashed")


def router_with(strategy) -> Router:
    return Router(Named("champion-model"), Named("challenger-model"), strategy)


def challenger_share(router: Router, keys: list[str]) -> float:
    arms = [router.predict([[0.0]], key).arm for key in keys]
    return arms.count(CHALLENGER) / len(arms)


USERS = [f"user-{i}" for i in range(10_000)]


# A/B split ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5])
def test_ab_split_sends_the_configured_fraction_to_the_challenger(fraction: float) -> None:
    share = challenger_share(router_with(ABSplit(challenger_fraction=fraction)), USERS)
    assert share == pytest.approx(fraction, abs=0.02)


def test_ab_split_keeps_each_user_on_one_arm() -> None:
    router = router_with(ABSplit(challenger_fraction=0.5))
    first = {key: router.predict([[0.0]], key).arm for key in USERS[:200]}
    for _ in range(5):
        assert {key: router.predict([[0.0]], key).arm for key in USERS[:200]} == first
    assert set(first.values()) == {CHAMPION, CHALLENGER}


def test_ab_split_answers_with_the_chosen_arms_model() -> None:
    router = router_with(ABSplit(challenger_fraction=0.5))
    for key in USERS[:100]:
        routed = router.predict([[0.0]], key)
        assert routed.prediction == f"{routed.arm}-model"


def test_a_new_salt_reshuffles_users_between_arms() -> None:
    first = router_with(ABSplit(challenger_fraction=0.5, salt="experiment-1"))
    second = router_with(ABSplit(challenger_fraction=0.5, salt="experiment-2"))
    moved = sum(
        first.predict([[0.0]], key).arm != second.predict([[0.0]], key).arm for key in USERS
    )
    assert moved / len(USERS) == pytest.approx(0.5, abs=0.03)


def test_the_extreme_fractions_send_everyone_to_one_arm() -> None:
    assert challenger_share(router_with(ABSplit(challenger_fraction=0.0)), USERS[:500]) == 0.0
    assert challenger_share(router_with(ABSplit(challenger_fraction=1.0)), USERS[:500]) == 1.0


# Multi-armed bandit ------------------------------------------------------------------------


def play(router: Router, reward_rate: dict[str, float], requests: int, seed: int) -> list[str]:
    """Serve ``requests`` requests; each answer earns 1 with its arm's true reward rate."""
    world = random.Random(seed)
    arms = []
    for i in range(requests):
        arm = router.predict([[0.0]], f"request-{i}").arm
        router.record_reward(arm, 1.0 if world.random() < reward_rate[arm] else 0.0)
        arms.append(arm)
    return arms


@pytest.mark.parametrize(
    "strategy",
    [ThompsonSampling(seed=7), EpsilonGreedy(epsilon=0.1, seed=7)],
    ids=["thompson", "epsilon-greedy"],
)
@pytest.mark.parametrize("better", [CHAMPION, CHALLENGER])
def test_the_bandit_converges_to_the_better_arm(strategy, better: str) -> None:
    worse = CHALLENGER if better == CHAMPION else CHAMPION
    router = router_with(strategy)
    arms = play(router, {better: 0.75, worse: 0.5}, requests=3000, seed=11)
    late = arms[-1000:]
    assert late.count(better) / len(late) > 0.85
    assert router.stats[worse].served > 0, "the bandit never explored the other arm"


def test_the_bandit_is_reproducible_with_a_seed() -> None:
    rates = {CHAMPION: 0.6, CHALLENGER: 0.4}
    first = play(router_with(ThompsonSampling(seed=3)), rates, requests=300, seed=5)
    again = play(router_with(ThompsonSampling(seed=3)), rates, requests=300, seed=5)
    assert first == again


# Shadow ------------------------------------------------------------------------------------


def test_shadow_always_answers_with_the_champion_and_runs_the_challenger_aside() -> None:
    champion, challenger = Named("champion-model"), Named("challenger-model")
    router = Router(champion, challenger, Shadow())
    answers = [router.predict([[0.0]], key) for key in USERS[:300]]
    assert {(a.arm, a.prediction) for a in answers} == {(CHAMPION, "champion-model")}
    assert challenger.calls == 300
    assert router.stats[CHALLENGER].shadowed == 300
    assert router.stats[CHALLENGER].served == 0
    assert router.shadow_log[-1].challenger == "challenger-model"
    assert router.shadow_log[-1].champion == "champion-model"


def test_a_crashing_shadow_challenger_never_breaks_the_answer() -> None:
    router = Router(Named("champion-model"), Broken(), Shadow())
    assert router.predict([[0.0]], "user-1").prediction == "champion-model"
    assert router.stats[CHALLENGER].errors == 1
    assert not router.shadow_log


# Canary ------------------------------------------------------------------------------------


def test_the_canary_starts_with_a_small_sticky_fraction() -> None:
    router = router_with(Canary(steps=(0.05, 0.2)))
    assert challenger_share(router, USERS) == pytest.approx(0.05, abs=0.01)
    assert router.predict([[0.0]], "user-42").arm == router.predict([[0.0]], "user-42").arm


def test_the_canary_widens_step_by_step_while_the_challenger_holds_up() -> None:
    canary = Canary(steps=(0.05, 0.2, 0.5), rollback_margin=0.05, min_rewards=50)
    router = router_with(canary)
    early = {key for key in USERS if router.predict([[0.0]], key).arm == CHALLENGER}
    play(router, {CHAMPION: 0.8, CHALLENGER: 0.8}, requests=5000, seed=2)
    assert not canary.rolled_back
    assert canary.challenger_fraction == 0.5
    assert challenger_share(router, USERS) == pytest.approx(0.5, abs=0.02)
    late = {key for key in USERS if router.predict([[0.0]], key).arm == CHALLENGER}
    assert early <= late, "widening moved users who were on the challenger back"


def test_the_canary_rolls_back_when_the_challenger_is_worse_by_the_margin() -> None:
    canary = Canary(steps=(0.2,), rollback_margin=0.05, min_rewards=50)
    router = router_with(canary)
    play(router, {CHAMPION: 0.9, CHALLENGER: 0.5}, requests=2000, seed=1)
    assert canary.rolled_back
    assert router.stats[CHALLENGER].rewards == 50, "rollback waits for exactly min_rewards"
    assert challenger_share(router, USERS[:1000]) == 0.0


def test_the_canary_does_not_roll_back_on_too_few_rewards() -> None:
    canary = Canary(steps=(1.0,), min_rewards=100)
    router = router_with(canary)
    for _ in range(99):
        router.record_reward(CHALLENGER, 0.0)
    router.record_reward(CHAMPION, 1.0)
    assert router.predict([[0.0]], "user-1").arm == CHALLENGER
    assert not canary.rolled_back


def test_the_canary_tolerates_a_challenger_within_the_margin() -> None:
    canary = Canary(steps=(1.0,), rollback_margin=0.05, min_rewards=10)
    router = router_with(canary)
    for _ in range(100):
        router.record_reward(CHALLENGER, 0.76)
        router.record_reward(CHAMPION, 0.8)
    assert router.predict([[0.0]], "user-1").arm == CHALLENGER
    assert not canary.rolled_back


# Configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"strategy": "ab", "ab": {"challenger_fraction": 0.2}}, ABSplit),
        ({"strategy": "bandit"}, ThompsonSampling),
        ({"strategy": "bandit", "bandit": {"algorithm": "epsilon_greedy"}}, EpsilonGreedy),
        ({"strategy": "shadow"}, Shadow),
        ({"strategy": "canary", "canary": {"steps": [0.1, 0.5], "min_rewards": 10}}, Canary),
    ],
)
def test_the_deploy_section_chooses_the_strategy(config: dict, expected: type) -> None:
    router = build_router(config, Named("a"), Named("b"))
    assert isinstance(router.strategy, expected)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"strategy": "blue-green"}, "deploy.strategy is 'blue-green'; set it to one of"),
        ({"strategy": "ab", "ab": {"fraction": 0.2}}, "deploy.ab: unknown setting(s) fraction"),
        ({"strategy": "bandit", "bandit": {"algorithm": "ucb"}}, "deploy.bandit.algorithm"),
        ({"strategy": "canary", "canary": {"steps": [0.1, 5]}}, "every step must be a number"),
        ({"strategy": "canary", "canary": {"steps": [0.5, 0.1]}}, "increasing list"),
        ({"strategy": "canary", "canary": {"min_rewards": "many"}}, "min_rewards must be"),
        ({"strategy": "ab", "ab": {"challenger_fraction": "10%"}}, "must be a number"),
    ],
)
def test_a_bad_deploy_section_is_a_clear_error(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build_strategy(config)


def test_rewards_outside_zero_to_one_are_refused() -> None:
    router = router_with(Shadow())
    with pytest.raises(ValueError, match="reward must be a number between 0 and 1"):
        router.record_reward(CHAMPION, 2.0)


def test_the_summary_reports_per_arm_statistics() -> None:
    router = router_with(ABSplit(challenger_fraction=0.5))
    play(router, {CHAMPION: 1.0, CHALLENGER: 0.0}, requests=200, seed=0)
    summary = router.summary()
    assert summary["strategy"] == "ab"
    assert summary["arms"][CHAMPION]["mean_reward"] == 1.0
    assert summary["arms"][CHALLENGER]["mean_reward"] == 0.0
    assert summary["arms"][CHAMPION]["served"] + summary["arms"][CHALLENGER]["served"] == 200


# State across a restart --------------------------------------------------------------------

VERSIONS = {CHAMPION: "3", CHALLENGER: "4"}


def restarted(router: Router, strategy, versions=VERSIONS) -> Router:
    """A new router (a new process) given the old one's state through JSON, as stored."""
    fresh = Router(
        Named("champion-model"), Named("challenger-model"), strategy, model_versions=versions
    )
    assert fresh.restore(json.loads(json.dumps(router.state())))
    return fresh


def test_a_restarted_router_keeps_its_arm_statistics_and_bandit_rewards() -> None:
    router = Router(Named("a"), Named("b"), ThompsonSampling(seed=1), model_versions=VERSIONS)
    play(router, {CHAMPION: 0.3, CHALLENGER: 0.7}, requests=500, seed=4)
    fresh = restarted(router, ThompsonSampling(seed=1))
    assert fresh.summary() == router.summary()
    # What it learnt still steers traffic: the better challenger keeps most of it.
    assert challenger_share(fresh, USERS[:1000]) > 0.8


def test_a_restarted_canary_stays_on_its_step() -> None:
    canary = Canary(steps=(0.05, 0.2, 0.5), min_rewards=50)
    router = Router(Named("a"), Named("b"), canary, model_versions=VERSIONS)
    play(router, {CHAMPION: 0.8, CHALLENGER: 0.8}, requests=3000, seed=2)
    assert canary.step > 0
    fresh_canary = Canary(steps=(0.05, 0.2, 0.5), min_rewards=50)
    restarted(router, fresh_canary)
    assert (fresh_canary.step, fresh_canary.rolled_back) == (canary.step, False)


def test_a_rolled_back_canary_stays_rolled_back_after_a_restart() -> None:
    canary = Canary(steps=(0.2,), rollback_margin=0.05, min_rewards=50)
    router = Router(Named("a"), Named("b"), canary, model_versions=VERSIONS)
    play(router, {CHAMPION: 0.9, CHALLENGER: 0.5}, requests=2000, seed=1)
    assert canary.rolled_back
    fresh = restarted(router, Canary(steps=(0.2,), rollback_margin=0.05, min_rewards=50))
    assert challenger_share(fresh, USERS[:1000]) == 0.0


def test_a_state_of_other_model_versions_is_not_restored() -> None:
    canary = Canary(steps=(0.2,), min_rewards=1)
    canary.rolled_back = True
    old = Router(Named("a"), Named("b"), canary, model_versions=VERSIONS)
    new_release = Canary(steps=(0.2,), min_rewards=1)
    router = Router(
        Named("a"), Named("b"), new_release, model_versions={**VERSIONS, CHALLENGER: "5"}
    )
    assert not router.restore(old.state())
    assert not new_release.rolled_back, "a new challenger must get its own chance"


@pytest.mark.parametrize(
    "change",
    [{"version": 99}, {"strategy": "ab"}],
    ids=["newer-state-version", "other-strategy"],
)
def test_a_state_of_another_version_or_strategy_is_not_restored(change: dict) -> None:
    old = router_with(Shadow())
    old.record_reward(CHAMPION, 1.0)
    router = router_with(Shadow())
    assert not router.restore({**old.state(), **change})
    assert router.stats[CHAMPION].rewards == 0


def test_nothing_saved_yet_leaves_the_router_as_it_is() -> None:
    router = router_with(Shadow())
    assert not router.restore(None)
    assert router.stats[CHAMPION].served == 0


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        ("not a state", "expected a mapping"),
        (
            {"version": 1, "strategy": "shadow", "arms": {"champion": {"served": "x"}}},
            "not a number",
        ),
        ({"version": 1, "strategy": "shadow", "arms": {"champion": {"wins": 1}}}, "must hold only"),
        ({"version": 1, "strategy": "shadow", "arms": {"champion": {"served": -1}}}, "impossible"),
    ],
)
def test_a_malformed_state_is_a_clear_error(corrupt: object, message: str) -> None:
    router = router_with(Shadow())
    with pytest.raises(ValueError, match=message):
        router.restore(corrupt)


def test_a_malformed_canary_state_is_a_clear_error() -> None:
    router = router_with(Canary())
    state = {**router.state(), "canary": {"step": "two", "rolled_back": False}}
    with pytest.raises(ValueError, match=r"canary\.step must be a whole number"):
        router.restore(state)
    assert router.strategy.step == 0


def test_the_state_survives_a_restart_through_the_prediction_log(tmp_path) -> None:
    from crisp_ml.runtime.predlog import PredictionLog

    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    router = Router(Named("a"), Named("b"), EpsilonGreedy(seed=3), model_versions=VERSIONS)
    play(router, {CHAMPION: 0.2, CHALLENGER: 0.9}, requests=300, seed=5)
    with PredictionLog(url) as log:
        log.save_state("router", router.state())
    fresh = Router(Named("a"), Named("b"), EpsilonGreedy(seed=3), model_versions=VERSIONS)
    with PredictionLog(url) as log:
        assert fresh.restore(log.load_state("router"))
    assert fresh.summary() == router.summary()
