"""Production & Deployment (phase 7): the strategy as configuration, promotion behind the
evaluation gate, governance."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._ci import jobs
from crisp_lint.checks._documents import document_rule
from crisp_lint.checks._locate import line_of_key
from crisp_lint.checks._pipeline import parameters
from crisp_lint.checks._regex import lazy
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.DEPLOYMENT
FOLDER = PHASE.folder
# What the generated router supports when its source cannot be read.
DEFAULT_STRATEGIES = ("ab", "bandit", "shadow", "canary")
ROUTER_FILE = "router.py"
_STRATEGIES = lazy(r"^STRATEGIES\s*(?::[^=]*)?=\s*[(\[](?P<items>[^)\]]*)[)\]]", re.M)
_QUOTED = lazy(r"""["']([^"']+)["']""")
PROMOTION_WORDS = ("promot", "deploy")
GATE_WORDS = ("gate", "evaluat")
GATE_COMMAND = "gate_check"

register_checklist_rules(PHASE)

document_rule("DE001", PHASE, f"{FOLDER}/deployment-strategy.md", "deployment strategy", "7.3")
document_rule("DE002", PHASE, f"{FOLDER}/governance.md", "model governance procedure", "7.5")
document_rule(
    "DE005", PHASE, f"{FOLDER}/production-evaluation.md", "evaluation in production", "7.1"
)
document_rule("DE006", PHASE, f"{FOLDER}/user-acceptance.md", "user acceptance", "7.4")


def router_strategies(repo: RepoView) -> tuple[tuple[str, ...], str | None]:
    """(strategies the project's router supports, the router file it was read from)."""
    for rel in repo.files():
        if rel.rsplit("/", 1)[-1] == ROUTER_FILE and (
            match := _STRATEGIES.search(repo.text(rel) or "")
        ):
            return tuple(_QUOTED.findall(match["items"])), rel
    return DEFAULT_STRATEGIES, None


@rule(
    "DE003",
    PHASE,
    "Configured deployment strategy is not one the router supports",
    rationale=f"{cite('7.3')}. The strategy is configuration the router executes; a name it"
    " does not know means production runs something nobody chose.",
    fix="set `deploy.strategy` in params.yaml to one of the router's STRATEGIES"
    f" (by default {', '.join(DEFAULT_STRATEGIES)})",
)
def strategy_supported(repo: RepoView) -> Iterator[Problem]:
    params = parameters(repo)
    if params is None:
        return  # params.yaml unreadable: GEN001 or GEN002 says why
    deploy = params.get("deploy")
    strategy = deploy.get("strategy") if isinstance(deploy, dict) else None
    supported, source = router_strategies(repo)
    where = f" ({source})" if source else ""
    if strategy not in supported:
        yield Problem(
            "params.yaml",
            f"`deploy.strategy` is {strategy!r}; the router{where} supports {', '.join(supported)}",
            line_of_key(repo, "params.yaml", "deploy", "strategy")
            or line_of_key(repo, "params.yaml", "deploy"),
        )


@rule(
    "DE004",
    PHASE,
    "CI promotion job does not depend on the evaluation gate",
    rationale=f"{cite('7.2', '6.4')}. Retraining in CI may only promote a model the"
    " evaluation gate let through.",
    fix="give the promote/deploy job `needs: [evaluate]` (the job that runs the gate), or run"
    " `python -m crisp_ml.runtime.gate_check` as its first step",
)
def promotion_behind_gate(repo: RepoView) -> Iterator[Problem]:
    all_jobs = jobs(repo)
    promotions = [
        job
        for job in all_jobs
        if any(word in f"{job.id} {job.name}".lower() for word in PROMOTION_WORDS)
    ]
    if not promotions:
        yield Problem(
            ".",
            "no CI job promotes or deploys the model: add one (named promote or deploy) behind"
            " the evaluation gate",
        )
        return
    for job in promotions:
        gated_by_need = any(any(w in need.lower() for w in GATE_WORDS) for need in job.needs)
        if not gated_by_need and GATE_COMMAND not in job.commands:
            yield Problem(
                job.path,
                f"job `{job.id}` neither needs an evaluation/gate job nor runs {GATE_COMMAND}",
                line_of_key(repo, job.path, "jobs", job.id) or line_of_key(repo, job.path, job.id),
            )
