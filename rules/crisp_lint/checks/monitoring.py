"""Monitoring & Maintenance (phase 8): the same thresholds as phase 1, a dashboard, a
retraining trigger, and the procedures that keep the model alive."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._ci import jobs
from crisp_lint.checks._documents import document_rule
from crisp_lint.checks._locate import line_containing, line_of_key
from crisp_lint.checks._loop import (
    HISTORY,
    is_ignored,
    last_json_line,
    log_files,
    monitor_outputs,
    root_ignore_rules,
    sqlite_log_file,
)
from crisp_lint.checks._pipeline import (
    no_stage,
    parameters,
    pipeline_location,
    pipeline_unusable,
    repro,
    stages,
    stages_named,
)
from crisp_lint.checks.business_understanding import SUCCESS_CRITERIA, success_criteria
from crisp_lint.credentials import url_credentials
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.MONITORING
FOLDER = PHASE.folder
# Keys of params.yaml's `monitor:` section that restate a success criterion.
THRESHOLD_KEYS = ("metric", "direction", "target", "minimum", "threshold")

register_checklist_rules(PHASE)

document_rule("MN001", PHASE, f"{FOLDER}/monitoring-plan.md", "monitoring plan", "8.1", "8.2")
document_rule("MN002", PHASE, f"{FOLDER}/retraining-policy.md", "retraining policy", "8.3", "8.5")
document_rule("MN003", PHASE, f"{FOLDER}/labelling-procedure.md", "labelling procedure", "8.4")


@rule(
    "MN004",
    PHASE,
    "Monitoring thresholds differ from the success criteria",
    rationale=f"{cite('8.2', '1.2')}. Monitoring alerts on the thresholds the business set in"
    " phase 1; a second copy of a threshold drifts from the first.",
    fix=f"set `monitor.success_criteria: {SUCCESS_CRITERIA}` in params.yaml and delete any"
    " threshold typed there",
)
def monitoring_uses_success_criteria(repo: RepoView) -> Iterator[Problem]:
    params = parameters(repo)
    if params is None:
        return  # params.yaml unreadable: GEN001 or GEN002 says why
    monitor = params.get("monitor")
    if not isinstance(monitor, dict):
        yield Problem(
            "params.yaml", f"no `monitor:` section with `success_criteria: {SUCCESS_CRITERIA}`"
        )
        return
    if monitor.get("success_criteria") != SUCCESS_CRITERIA:
        yield Problem(
            "params.yaml",
            f"`monitor.success_criteria` must be {SUCCESS_CRITERIA}, got"
            f" {monitor.get('success_criteria')!r}",
            line_of_key(repo, "params.yaml", "monitor", "success_criteria")
            or line_of_key(repo, "params.yaml", "monitor"),
        )
    criteria = success_criteria(repo)
    if criteria is None:
        return
    expected = {**criteria, "threshold": criteria["minimum"]}
    for key in THRESHOLD_KEYS:
        if key in monitor and monitor[key] != expected[key]:
            yield Problem(
                "params.yaml",
                f"`monitor.{key}` is {monitor[key]!r} but the success criteria say"
                f" {expected[key]!r}",
                line_of_key(repo, "params.yaml", "monitor", key),
            )


@rule(
    "MN005",
    PHASE,
    "No monitoring stage with a dashboard and a retraining trigger",
    rationale=f"{cite('8.1', '8.2', '8.3')}. Monitoring is a pipeline stage: it scores"
    " production data against the success criteria, renders the dashboard and decides"
    " whether to retrain.",
    fix="add a `monitor` stage to dvc.yaml that depends on the success criteria and writes"
    " an HTML dashboard and a retraining decision (e.g. reports/monitoring/retrain.json)",
)
def monitoring_stage(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # GEN001 or GEN002 says why
    monitor = stages_named(repo, "monitor")
    if not monitor:
        yield Problem(pipeline_location(repo), no_stage(repo, "monitor"))
        return
    writes = [path for stage in monitor for path in stage.writes]
    if not any(path.endswith((".html", ".htm")) for path in writes):
        yield Problem("dvc.yaml", "the monitor stage writes no HTML dashboard (step 8.2)")
    if not any("retrain" in path.rsplit("/", 1)[-1] for path in writes):
        yield Problem("dvc.yaml", "the monitor stage writes no retraining decision (step 8.3)")
    if not any(SUCCESS_CRITERIA in stage.deps for stage in monitor):
        yield Problem("dvc.yaml", f"the monitor stage does not depend on {SUCCESS_CRITERIA}")


LOG_URL_ENV = "CRISP_PREDICTION_LOG_URL"


@rule(
    "MN006",
    PHASE,
    "Prediction log not declared or not kept out of git",
    rationale=f"{cite('8.1', '8.4')}. Monitoring reads what serving logged: every request and"
    " its feedback. That log is production data, often personal: it belongs in a database"
    " (the embedded SQLite file, gitignored, or a server), never in a commit, and its password"
    " never in params.yaml.",
    fix="set params.yaml `serve.prediction_log` to null (the embedded predictions.db) or a"
    f" SQLAlchemy URL without a password (put the password in {LOG_URL_ENV}), and add"
    " `/predictions.db*` and `/predictions.spill.jsonl*` to .gitignore",
)
def prediction_log_declared(repo: RepoView) -> Iterator[Problem]:
    params = parameters(repo)
    serve = params.get("serve") if params else None
    if not isinstance(serve, dict):
        return  # no serving configured: nothing logs predictions
    url = serve.get("prediction_log")
    line = line_of_key(repo, "params.yaml", "serve", "prediction_log")
    if url is not None and not isinstance(url, str):
        yield Problem(
            "params.yaml", f"`serve.prediction_log` must be a URL or null, got {url!r}", line
        )
        return
    for credential in url_credentials(url or ""):
        yield Problem(
            "params.yaml",
            f"`serve.prediction_log` holds a password ({credential.redacted}): set it in"
            f" {LOG_URL_ENV} instead",
            line,
        )
    database = sqlite_log_file(url)
    if database is None:
        return
    rules = root_ignore_rules(repo)
    exposed = []
    for rel in log_files(database):
        if repo.git_listed and repo.is_tracked_by_git(rel):
            yield Problem(rel, "the prediction log is committed: `git rm --cached` it")
        elif not is_ignored(rules, rel):
            exposed.append(f"`{rel}`")
    if exposed:
        yield Problem(
            ".gitignore" if repo.exists(".gitignore") else ".",
            f"the prediction log's files {', '.join(exposed)} are not gitignored",
        )


@rule(
    "MN007",
    PHASE,
    "Monitoring history not declared as a persistent, committed output",
    rationale=f"{cite('8.1', '8.2')}. The history is the memory of monitoring: one line per"
    " window, which the dashboard, the retraining trigger and `promote champion` read. DVC"
    " deletes an output before rerunning its stage unless it is `persist: true`, and keeps it"
    " out of git unless it is `cache: false`.",
    fix=f"list `{HISTORY}` under the monitor stage's `outs:` in dvc.yaml with `cache: false`"
    " and `persist: true`",
)
def history_declared(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo) or not stages_named(repo, "monitor"):
        return  # GEN001/GEN002, or MN005, says why
    history = [(s, p, o) for s, p, o in monitor_outputs(repo) if p.endswith("history.jsonl")]
    if not history:
        yield Problem("dvc.yaml", f"the monitor stage does not write {HISTORY}")
        return
    for stage, path, options in history:
        line = line_containing(repo, "dvc.yaml", path.rsplit("/", 1)[-1])
        if options.get("persist") is not True:
            yield Problem(
                "dvc.yaml",
                f"`{path}` of stage `{stage}` is not `persist: true`: DVC deletes the history"
                " before each run",
                line,
            )
        if options.get("cache") is not False:
            yield Problem(
                "dvc.yaml",
                f"`{path}` of stage `{stage}` is not `cache: false`: the history is not committed",
                line,
            )


RETRAIN_WORD = "retrain"


@rule(
    "MN008",
    PHASE,
    "Retraining trigger does not read the monitoring history",
    rationale=f"{cite('8.3', '7.2')}. Retraining is decided on evidence: the trigger is"
    " computed from the monitoring history, and the retraining workflow acts on the trigger,"
    " not on a schedule alone.",
    fix="write the retraining decision (reports/monitoring/retrain.json) in the stage that"
    " writes or reads reports/monitoring/history.jsonl, and make the retraining workflow"
    " (.github/workflows/retrain.yml or the `retrain` job of .gitlab-ci.yml) run `make monitor`"
    " and read that file",
)
def trigger_reads_history(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return
    triggers: list[str] = []
    for stage in stages(repo).values():
        decision = [p for p in stage.writes if RETRAIN_WORD in p.rsplit("/", 1)[-1]]
        triggers += decision
        if decision and not any(p.endswith("history.jsonl") for p in stage.deps + stage.writes):
            yield Problem(
                "dvc.yaml",
                f"stage `{stage.name}` writes `{decision[0]}` without reading or writing the"
                " monitoring history (history.jsonl)",
                line_of_key(repo, "dvc.yaml", "stages", stage.name),
            )
    names = {path.rsplit("/", 1)[-1] for path in triggers}
    yield from _workflows_read(repo, names)


def _workflows_read(repo: RepoView, triggers: set[str]) -> Iterator[Problem]:
    """Each retraining workflow must read the trigger the pipeline writes."""
    if not triggers:
        return  # no trigger at all: MN005 says so
    commands: dict[str, list[str]] = {}
    for job in jobs(repo):
        retraining = RETRAIN_WORD in f"{job.id} {job.name}".lower() or (
            RETRAIN_WORD in job.path.rsplit("/", 1)[-1]
        )
        if retraining:
            commands.setdefault(job.path, []).append(job.commands)
    for path, texts in commands.items():
        if not any(name in text for name in triggers for text in texts):
            shown = ", ".join(sorted(triggers))
            yield Problem(path, f"the retraining workflow never reads {shown}")


@rule(
    "MN009",
    PHASE,
    "Latest monitoring window judged against other thresholds than phase 1",
    rationale=f"{cite('8.2', '1.2')}. The history records the target and minimum each window"
    " was judged against; when they differ from the success criteria, the criteria changed"
    " after monitoring last ran, and the dashboard and the retraining trigger still answer to"
    " the old ones.",
    fix="rerun monitoring (`make monitor`, or the monitor stage with `dvc repro`) so the"
    f" latest entry of {HISTORY} and retrain.json are judged on {SUCCESS_CRITERIA}, then commit"
    " them",
)
def history_thresholds(repo: RepoView) -> Iterator[Problem]:
    criteria = success_criteria(repo)
    last = last_json_line(repo, HISTORY) if repo.exists(HISTORY) else None
    if criteria is None or last is None:
        return  # no criteria (BU001 says so) or no monitored window yet
    entry, line = last
    if not isinstance(entry, dict):
        yield Problem(HISTORY, "the latest entry is not a JSON object", line)
        return
    quality = entry.get("quality")
    if not isinstance(quality, dict):
        yield Problem(HISTORY, "the latest entry has no `quality` object", line)
        return
    rerun = _rerun_monitoring(repo)
    for key in ("metric", "target", "minimum"):
        if key in quality and key in criteria and quality[key] != criteria[key]:
            yield Problem(
                HISTORY,
                f"the latest window was judged on `{key}` {quality[key]!r}; {SUCCESS_CRITERIA}"
                f" says {criteria[key]!r}: {rerun}",
                line,
            )
    yield from _trigger_thresholds(repo, criteria, rerun)


def _trigger_thresholds(
    repo: RepoView, criteria: dict[str, object], rerun: str
) -> Iterator[Problem]:
    trigger = "reports/monitoring/retrain.json"
    data = repo.json(trigger) if repo.exists(trigger) else None
    rule_used = data.get("rule") if isinstance(data, dict) else None
    for key in ("metric", "minimum"):
        if isinstance(rule_used, dict) and key in rule_used and rule_used[key] != criteria.get(key):
            yield Problem(
                trigger,
                f"the retraining rule uses `{key}` {rule_used[key]!r}; {SUCCESS_CRITERIA} says"
                f" {criteria.get(key)!r}: {rerun}",
                line_containing(repo, trigger, f'"{key}"'),
            )


def _rerun_monitoring(repo: RepoView) -> str:
    """The command that reruns monitoring, as this repository spells it."""
    if "monitor" in repo.makefile_targets():
        return "rerun `make monitor` and commit the history"
    return f"rerun {repro(repo, 'monitor')} and commit the history"
