"""The production loop (docs/production-loop.md) as crisp-lint sees it: the catalog's columns
(DU008), serving by registry alias and against the catalog (DE007, DE008), the promotion
audit trail (DE009), the prediction log (MN006), the monitoring history (MN007), the
retraining trigger (MN008) and the thresholds the latest window was judged on (MN009).

The valid fixture passes every one of them; each test breaks one thing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rule_fixture import HISTORY_ENTRY, PROMOTION, SUCCESS_CRITERIA, Project

CATALOG = "phases/03-data-understanding/data-catalog.yaml"
HISTORY = "reports/monitoring/history.jsonl"
PROMOTIONS = "reports/deployment/promotions.jsonl"
RETRAIN = "reports/monitoring/retrain.json"
WORKFLOW = ".github/workflows/retrain.yml"
LOOP_RULES = ("DU008", "DE007", "DE008", "DE009", "MN006", "MN007", "MN008", "MN009")
OWN_SERVER = """\
import joblib
from fastapi import FastAPI

app = FastAPI()
model = joblib.load("models/model.joblib")
"""


def columns(project: Project) -> list[dict[str, Any]]:
    return project.read_yaml(CATALOG)["sources"][0]["columns"]


def set_columns(project: Project, edit: Any) -> None:
    project.edit_yaml(CATALOG, lambda data: edit(data["sources"][0]["columns"]))


def serve_with(project: Project, module_text: str) -> None:
    """A project that vendors its own server: `make serve` runs src/iris/serve.py."""
    project.write("Makefile", "serve:\n\tpython -m iris.serve\n")
    project.write("src/iris/serve.py", module_text)


def monitor_outs(project: Project, edit: Any) -> None:
    project.edit_yaml("dvc.yaml", lambda data: edit(data["stages"]["monitor"]["outs"]))


@pytest.mark.parametrize("code", LOOP_RULES)
def test_the_valid_project_passes_every_loop_rule(project: Project, code: str) -> None:
    assert project.problems(code) == []


# -- DU008: the catalog's columns --


def test_a_source_without_columns_is_reported(project: Project) -> None:
    project.edit_yaml(CATALOG, lambda data: data["sources"][0].pop("columns"))
    (problem,) = project.problems("DU008")
    assert problem.message == "measurements: no `columns:` declared"
    assert problem.line is not None


def test_a_column_of_an_unknown_type_is_reported_on_its_line(project: Project) -> None:
    set_columns(project, lambda cols: cols[1].update(type="float"))
    (problem,) = project.problems("DU008")
    assert problem.message == (
        "measurements, column `petal_length`: `type` is 'float'; use one of number, integer,"
        " categorical, boolean, string"
    )
    lines = (project.root / CATALOG).read_text(encoding="utf-8").splitlines()
    assert "petal_length" in lines[problem.line - 1]


def test_allowed_values_on_a_number_column_are_reported(project: Project) -> None:
    set_columns(project, lambda cols: cols[1].update(allowed=[1.0, 2.0]))
    assert project.messages("DU008") == [
        "measurements, column `petal_length`: has `allowed` values, which apply to"
        " categorical, string, integer columns, not 'number'"
    ]


def test_a_range_whose_minimum_is_above_its_maximum_is_reported(project: Project) -> None:
    set_columns(project, lambda cols: cols[1].update(range=[10, 0]))
    assert project.messages("DU008") == [
        "measurements, column `petal_length`: `range` [10, 0] has its minimum above its maximum"
    ]


def test_a_range_on_a_categorical_column_and_an_unknown_field_are_reported(
    project: Project,
) -> None:
    set_columns(project, lambda cols: cols[2].update(range=[0, 1], unit="cm"))
    assert project.messages("DU008") == [
        "measurements, column `colour`: has unknown field(s) unit (known: name, type, role,"
        " range, allowed, nullable, description)",
        "measurements, column `colour`: has a `range`, which applies to number and integer"
        " columns, not 'categorical'",
    ]


def test_two_targets_are_reported(project: Project) -> None:
    set_columns(project, lambda cols: cols[1].update(role="target"))
    assert project.messages("DU008") == ["2 columns have role target: `petal_length`, `species`"]


def test_a_catalog_without_sources_is_left_to_du001(project: Project) -> None:
    project.write_yaml(CATALOG, {"sources": "none"})
    assert project.problems("DU008") == []


# -- DE007 / DE008: serving --


def test_a_model_file_in_the_serve_section_is_reported(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data["serve"].update(model="models/model.joblib"))
    (problem,) = project.problems("DE007")
    assert problem.message == (
        "`serve.model` is 'models/model.joblib': serve `models:/<name>@<alias>` from the registry"
    )
    assert problem.line is not None


def test_a_pinned_registry_version_is_reported_and_an_alias_passes(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data["serve"].update(model="models:/iris/3"))
    assert len(project.problems("DE007")) == 1
    project.edit_yaml(
        "params.yaml", lambda data: data["serve"].update(model="models:/iris@champion")
    )
    assert project.problems("DE007") == []


def test_a_vendored_server_loading_a_joblib_file_is_reported(project: Project) -> None:
    serve_with(project, OWN_SERVER)
    (problem,) = project.problems("DE007")
    assert problem.path == "src/iris/serve.py"
    assert "loads a model file (joblib.load(" in problem.message
    assert problem.line == 5


def test_a_vendored_server_loading_by_alias_passes(project: Project) -> None:
    serve_with(
        project,
        "from crisp_ml.runtime.registry import load\n\nmodel = load(root, 'champion')\n"
        "# loads models:/iris@champion\n",
    )
    assert project.problems("DE007") == []


def test_the_runtime_server_is_not_inspected(project: Project) -> None:
    project.write("Makefile", "serve:\n\tpython -m crisp_ml.runtime.serving --port 8000\n")
    assert project.problems("DE007") == project.problems("DE008") == []


def test_a_vendored_server_that_never_checks_requests_is_reported(project: Project) -> None:
    serve_with(project, OWN_SERVER)
    assert project.messages("DE008") == [
        "`make serve` runs this module, which never checks requests with"
        " crisp_ml.runtime.schema (check_records)"
    ]


def test_a_vendored_uvicorn_server_using_check_records_passes(project: Project) -> None:
    project.write("Makefile", "serve:\n\tuvicorn --port 8000 iris.api:app\n")
    project.write(
        "src/iris/api.py",
        "from crisp_ml.runtime.schema import check_records, load_catalog\n",
    )
    assert project.problems("DE008") == []
    project.write("src/iris/api.py", "import fastapi\n")
    assert [p.path for p in project.problems("DE008")] == ["src/iris/api.py"]


# -- DE009: the promotion audit trail --


def test_a_promotion_without_who_or_why_is_reported_on_its_line(project: Project) -> None:
    anonymous = {**PROMOTION, "by": "", "reason": None}
    project.write(PROMOTIONS, json.dumps(PROMOTION) + "\n" + json.dumps(anonymous) + "\n")
    (problem,) = project.problems("DE009")
    assert problem.message == (
        "no `by`, `reason` (nor the `gate` evidence): who changed which alias and why"
    )
    assert problem.line == 2


def test_a_challenger_promotion_explained_by_the_gate_passes(project: Project) -> None:
    challenger = {**PROMOTION, "action": "challenger", "gate": {"decision": "go"}}
    del challenger["reason"]
    project.write(PROMOTIONS, json.dumps(challenger) + "\n")
    assert project.problems("DE009") == []


def test_a_line_that_is_not_json_is_reported(project: Project) -> None:
    project.write(PROMOTIONS, "promoted v2\n")
    assert project.messages("DE009") == ["not a JSON object: each line records one alias change"]


# -- MN006: the prediction log --


def test_an_embedded_log_whose_wal_files_are_not_gitignored_is_reported(project: Project) -> None:
    project.replace(".gitignore", "/predictions.db*\n", "/predictions.db\n")
    assert project.messages("MN006") == [
        "the prediction log's files `predictions.db-wal`, `predictions.db-shm` are not gitignored"
    ]


def test_a_sqlite_log_elsewhere_in_the_repository_must_be_ignored_too(project: Project) -> None:
    project.edit_yaml(
        "params.yaml",
        lambda data: data["serve"].update(prediction_log="sqlite:///logs/served.db"),
    )
    assert project.messages("MN006") == [
        "the prediction log's files `logs/served.db`, `logs/served.db-wal`,"
        " `logs/served.db-shm`, `logs/served.spill.jsonl`, `logs/served.spill.jsonl.replaying`"
        " are not gitignored"
    ]
    project.replace(".gitignore", "/mlflow.db\n", "/mlflow.db\n/logs/\n")
    assert project.problems("MN006") == []


def test_a_folder_ignored_at_any_depth_covers_the_log_in_it(project: Project) -> None:
    project.edit_yaml(
        "params.yaml",
        lambda data: data["serve"].update(prediction_log="sqlite:///logs/served.db"),
    )
    project.replace(".gitignore", "/mlflow.db\n", "/mlflow.db\n**/logs/\n")
    assert project.problems("MN006") == []


def test_a_log_file_re_included_by_a_later_line_is_reported(project: Project) -> None:
    project.replace(".gitignore", "/predictions.db*\n", "/predictions.db*\n!/predictions.db-shm\n")
    assert project.messages("MN006") == [
        "the prediction log's files `predictions.db-shm` are not gitignored"
    ]


@pytest.mark.timeout(120)
def test_a_gitignore_line_no_person_wrote_is_passed_over(project: Project) -> None:
    # 100,000 `[` (random bytes, as the bad-input test writes): fnmatch took minutes to
    # translate them; the line is passed over, the lines a person wrote still count.
    text = (project.root / ".gitignore").read_text(encoding="utf-8")
    project.write(".gitignore", "[" * 100_000 + "\n" + text)
    assert project.problems("MN006") == []


@pytest.mark.timeout(120)
def test_a_gitignore_pattern_with_wildcards_no_person_writes_is_passed_over(
    project: Project,
) -> None:
    # Forty `*?` pairs: the regular expression pathspec makes of them backtracks through
    # every way of spreading the path over the stars, for years rather than seconds.
    text = (project.root / ".gitignore").read_text(encoding="utf-8")
    project.write(".gitignore", "*?" * 40 + "Z\n" + text)
    assert project.problems("MN006") == []


def test_a_committed_prediction_log_is_reported(project: Project) -> None:
    project.write("predictions.db", "rows")
    project.track("predictions.db")
    assert project.messages("MN006") == ["the prediction log is committed: `git rm --cached` it"]


def test_a_password_in_the_log_url_is_reported_masked(project: Project) -> None:
    # Assembled here so that this file itself holds no URL with a password (GEN013).
    url = "postgresql+psycopg2://monitor" + ":s3cret-pw" + "@db.example.com/predictions"
    project.edit_yaml("params.yaml", lambda data: data["serve"].update(prediction_log=url))
    (message,) = project.messages("MN006")
    assert "s3cret" not in message
    assert message == (
        "`serve.prediction_log` holds a password (monitor:***@): set it in"
        " CRISP_PREDICTION_LOG_URL instead"
    )


def test_a_server_url_without_a_password_passes(project: Project) -> None:
    url = "postgresql+psycopg2://monitor@db.example.com/predictions"
    project.edit_yaml("params.yaml", lambda data: data["serve"].update(prediction_log=url))
    assert project.problems("MN006") == []


# -- MN007: the monitoring history --


def test_a_monitor_stage_without_the_history_is_reported(project: Project) -> None:
    monitor_outs(project, lambda outs: outs.pop())
    assert project.messages("MN007") == [
        "the monitor stage does not write reports/monitoring/history.jsonl"
    ]


def test_a_history_dvc_would_delete_or_cache_is_reported(project: Project) -> None:
    monitor_outs(project, lambda outs: outs.__setitem__(-1, HISTORY))
    assert project.messages("MN007") == [
        f"`{HISTORY}` of stage `monitor` is not `persist: true`: DVC deletes the history"
        " before each run",
        f"`{HISTORY}` of stage `monitor` is not `cache: false`: the history is not committed",
    ]


# -- MN008: the retraining trigger --


def test_a_trigger_written_without_the_history_is_reported(project: Project) -> None:
    monitor_outs(project, lambda outs: outs.pop())
    (problem,) = project.problems("MN008")
    assert problem.message == (
        f"stage `monitor` writes `{RETRAIN}` without reading or writing the monitoring"
        " history (history.jsonl)"
    )


def test_a_retrain_workflow_that_never_reads_the_trigger_is_reported(project: Project) -> None:
    project.edit_yaml(
        WORKFLOW,
        lambda data: data["jobs"]["promote"].update(steps=[{"run": "echo promote"}]),
    )
    assert [(p.path, p.message) for p in project.problems("MN008")] == [
        (WORKFLOW, "the retraining workflow never reads retrain.json")
    ]


def test_a_gitlab_retrain_job_reading_the_trigger_passes(project: Project) -> None:
    project.write_yaml(
        ".gitlab-ci.yml",
        {"retrain": {"script": ["make monitor", f"cat {RETRAIN}"]}},
    )
    assert project.problems("MN008") == []
    project.write_yaml(".gitlab-ci.yml", {"retrain": {"script": ["dvc repro --force"]}})
    assert [p.path for p in project.problems("MN008")] == [".gitlab-ci.yml"]


# -- MN009: the thresholds of the latest window --


def history_with(**quality: Any) -> str:
    older = json.dumps(HISTORY_ENTRY)
    latest = {**HISTORY_ENTRY, "quality": {**HISTORY_ENTRY["quality"], **quality}}
    return f"{older}\n{json.dumps(latest)}\n\n"


def test_a_latest_window_judged_on_an_old_minimum_is_reported(project: Project) -> None:
    project.write(HISTORY, history_with(minimum=0.8))
    (problem,) = project.problems("MN009")
    assert problem.message == (
        f"the latest window was judged on `minimum` 0.8; {SUCCESS_CRITERIA} says 0.9:"
        " rerun `dvc repro monitor` and commit the history"
    )
    assert problem.line == 2


def test_the_advice_names_make_monitor_when_the_makefile_has_it(project: Project) -> None:
    project.write("Makefile", "monitor:\n\tdvc repro --force monitor\n")
    project.write(HISTORY, history_with(target=0.99))
    (message,) = project.messages("MN009")
    assert message.endswith("rerun `make monitor` and commit the history")


def test_only_the_latest_window_is_judged(project: Project) -> None:
    stale = {**HISTORY_ENTRY, "quality": {**HISTORY_ENTRY["quality"], "target": 0.5}}
    project.write(HISTORY, json.dumps(stale) + "\n" + json.dumps(HISTORY_ENTRY) + "\n")
    assert project.problems("MN009") == []


def test_a_retraining_rule_on_another_minimum_is_reported(project: Project) -> None:
    project.write_json(RETRAIN, {"retrain": False, "rule": {"metric": "f1_macro", "minimum": 0.7}})
    (problem,) = project.problems("MN009")
    assert problem.path == RETRAIN
    assert "the retraining rule uses `minimum` 0.7" in problem.message


def test_a_project_that_never_monitored_passes(project: Project) -> None:
    project.remove(HISTORY)
    assert project.problems("MN009") == []


@pytest.mark.parametrize(("code", "rel"), [("DE009", PROMOTIONS), ("MN009", HISTORY)])
def test_a_line_nested_past_the_json_parser_is_a_finding_not_a_crash(
    project: Project, code: str, rel: str
) -> None:
    project.write(rel, "[" * 100_000 + "\n")
    (problem,) = project.problems(code)
    assert "not a JSON object" in problem.message


def test_the_catalog_grammar_is_the_runtime_schemas() -> None:
    """crisp-lint restates crisp_ml.runtime.schema's grammar (it may not import pandas);
    this keeps the two from drifting apart."""
    from crisp_lint.checks import _loop
    from crisp_ml.runtime import schema

    assert _loop.COLUMN_TYPES == schema.COLUMN_TYPES
    assert _loop.NUMERIC_TYPES == schema.NUMERIC_TYPES
    assert _loop.ROLES == schema.ROLES
    assert set(_loop.COLUMN_FIELDS) == set(schema.COLUMN_FIELDS)
