"""Production & Deployment (phase 7): the strategy as configuration, promotion behind the
evaluation gate, governance."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._ci import jobs
from crisp_lint.checks._documents import document_rule
from crisp_lint.checks._locate import line_containing, line_of_key
from crisp_lint.checks._loop import (
    PROMOTIONS,
    RUNTIME_SERVING,
    loads_a_file,
    model_references,
    own_servers,
    uses_catalog_schema,
)
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


@rule(
    "DE007",
    PHASE,
    "Serving loads a model file instead of a registry alias",
    rationale=f"{cite('7.2', '7.5')}. Production serves what the registry's aliases say"
    " (`champion`, `challenger`), set by `make promote` behind the gate and recorded with who"
    " and why; a model file bypasses the gate, the audit trail and rollback.",
    fix=f"serve with `python -m {RUNTIME_SERVING}` (`make serve`), which loads"
    " `models:/<name>@champion` and `@challenger`; name models in params.yaml `serve:` as"
    " `models:/<name>@<alias>`, never as a file or a pinned version",
)
def serving_by_alias(repo: RepoView) -> Iterator[Problem]:
    params = parameters(repo)
    serve = params.get("serve") if params else None
    for key, value in model_references(serve) if isinstance(serve, dict) else ():
        if not (value.startswith("models:/") and "@" in value):
            *_, leaf = key.split(".")
            yield Problem(
                "params.yaml",
                f"`{key}` is {value!r}: serve `models:/<name>@<alias>` from the registry",
                line_of_key(repo, "params.yaml", "serve", leaf.split("[")[0])
                or line_of_key(repo, "params.yaml", "serve"),
            )
    for rel in own_servers(repo):
        spot = loads_a_file(repo.text(rel) or "")
        if spot is not None:
            yield Problem(
                rel,
                f"`make serve` runs this module, which loads a model file ({spot}) rather than"
                " a registry alias",
                line_containing(repo, rel, spot.splitlines()[0]),
            )


@rule(
    "DE008",
    PHASE,
    "Serving does not validate requests against the data catalog",
    rationale=f"{cite('7.1', '3.4')}. Production data must meet the contract the model was"
    " trained on: the catalog's `columns:` check each request, so a malformed one is refused"
    " with the column named instead of being scored and logged.",
    fix=f"serve with `python -m {RUNTIME_SERVING}` (`make serve`), or check each request"
    " with `crisp_ml.runtime.schema.check_records(load_catalog(root), records)` in the"
    " project's serving module",
)
def serving_validates(repo: RepoView) -> Iterator[Problem]:
    for rel in own_servers(repo):
        if not uses_catalog_schema(repo.text(rel) or ""):
            yield Problem(
                rel,
                "`make serve` runs this module, which never checks requests with"
                " crisp_ml.runtime.schema (check_records)",
            )


PROMOTION_FIELDS = ("action", "model", "version", "by")
# Why an alias changed: a reason given by a person, or the gate's (or live) evidence that
# `make promote` records for a challenger.
PROMOTION_WHY = ("reason", "gate", "live")
MAX_REPORTED_LINES = 10


@rule(
    "DE009",
    PHASE,
    "Promotion audit trail without who, why or what",
    rationale=f"{cite('7.5')}. Governance needs, for every alias change, who made it and"
    " why: reports/deployment/promotions.jsonl is that record, committed with the code.",
    fix="change aliases only through `python -m crisp_ml.runtime.promote` (`make promote`,"
    " `make promote-champion REASON=...`, `make rollback REASON=...`; `--by` or BY=... names"
    f" the person), which appends complete lines to {PROMOTIONS}; complete a line edited by"
    " hand",
)
def promotions_audited(repo: RepoView) -> Iterator[Problem]:
    lines = repo.lines(PROMOTIONS) if repo.exists(PROMOTIONS) else None
    reported = 0
    for number, line in enumerate(lines or [], start=1):
        if not line.strip():
            continue
        missing = _promotion_gaps(line)
        if missing and reported < MAX_REPORTED_LINES:
            yield Problem(PROMOTIONS, missing, number)
        reported += bool(missing)
    if reported > MAX_REPORTED_LINES:
        yield Problem(PROMOTIONS, f"{reported - MAX_REPORTED_LINES} more incomplete line(s)")


def _promotion_gaps(line: str) -> str | None:
    """What a promotion line lacks, or None when it says who, why and what."""
    try:
        entry = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser
        return "not a JSON object: each line records one alias change"
    if not isinstance(entry, dict):
        return "not a JSON object: each line records one alias change"
    blank = [f"`{field}`" for field in PROMOTION_FIELDS if _blank(entry.get(field))]
    if all(_blank(entry.get(field)) for field in PROMOTION_WHY):
        blank.append("`reason` (nor the `gate` evidence)")
    return f"no {', '.join(blank)}: who changed which alias and why" if blank else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)
