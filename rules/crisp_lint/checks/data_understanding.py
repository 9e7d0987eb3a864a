"""Data Understanding (phase 3): the data catalog, raw data in DVC, quality, the remote."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from crisp_lint.checks._checklist_rules import register_checklist_rules
from crisp_lint.checks._documents import PLACEHOLDER, document_rule
from crisp_lint.checks._dvcconfig import parse_dvc_config, remote_name
from crisp_lint.checks._locate import line_of_key
from crisp_lint.checks._loop import column_line, column_problems
from crisp_lint.checks._pipeline import (
    covers,
    no_stage,
    pipeline_location,
    pipeline_unusable,
    stages_named,
    top_level,
)
from crisp_lint.checks._tags import GIT_HISTORY, untagged_version
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.DATA_UNDERSTANDING
FOLDER = PHASE.folder
DATA_CATALOG = f"{FOLDER}/data-catalog.yaml"
# What step 3.1, 3.2 and 3.4 ask to know about every source.
CATALOG_FIELDS = ("name", "owner", "collection_frequency", "limitations", "reliability")
# Step 3.2 asks for reliability "in terms of both rows and columns".
RELIABILITY_PARTS = ("rows", "columns")
RAW_DATA = "data/raw"
QUALITY_REPORTS = "reports/data-quality"
DVC_CONFIG = ".dvc/config"

register_checklist_rules(PHASE)

document_rule("DU005", PHASE, f"{FOLDER}/data-sources.md", "data sources interview notes", "3.1")
document_rule("DU006", PHASE, f"{FOLDER}/data-quality.md", "data quality review", "3.2")


@rule(
    "DU001",
    PHASE,
    "Data catalog missing or incomplete",
    rationale=f"{cite('3.1', '3.2', '3.4')}. Every source needs an owner, a collection"
    " frequency, its limitations and the criteria telling reliable rows and columns apart.",
    fix=f"list every source under `sources:` in {DATA_CATALOG} with {', '.join(CATALOG_FIELDS)}",
)
def data_catalog_complete(repo: RepoView) -> Iterator[Problem]:
    if not repo.exists(DATA_CATALOG):
        yield Problem(DATA_CATALOG, "the data catalog is missing")
        return
    catalog = repo.yaml(DATA_CATALOG)
    if repo.could_not_read(DATA_CATALOG):
        return  # GEN001 or GEN002 says why
    sources = catalog.get("sources") if isinstance(catalog, dict) else None
    if not isinstance(sources, list) or not sources:
        yield Problem(DATA_CATALOG, "no `sources:` list: describe at least one data source")
        return
    starts = _entry_lines(
        repo.lines(DATA_CATALOG) or [], line_of_key(repo, DATA_CATALOG, "sources")
    )
    for index, source in enumerate(sources, start=1):
        line = starts[index - 1] if index <= len(starts) else None
        if not isinstance(source, dict):
            yield Problem(DATA_CATALOG, f"source {index} is not a mapping of fields", line)
            continue
        name = source.get("name")
        named = isinstance(name, str) and bool(name.strip()) and PLACEHOLDER not in name
        label = name if named else f"source {index}"
        for field in CATALOG_FIELDS:
            if _blank(source.get(field)):
                yield Problem(DATA_CATALOG, f"{label}: `{field}` is missing or empty", line)
            elif PLACEHOLDER in str(source.get(field)):
                yield Problem(DATA_CATALOG, f"{label}: `{field}` is still {PLACEHOLDER}", line)
        reliability = source.get("reliability")
        if isinstance(reliability, dict):
            for part in RELIABILITY_PARTS:
                if _blank(reliability.get(part)):
                    yield Problem(
                        DATA_CATALOG, f"{label}: `reliability.{part}` is missing or empty", line
                    )


def _entry_lines(lines: list[str], key_line: int | None) -> list[int]:
    """The line each item of the block sequence under the key at ``key_line`` starts on."""
    if key_line is None:
        return []
    found: list[int] = []
    item_indent = None
    for number in range(key_line, len(lines)):
        stripped = lines[number].lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(lines[number]) - len(stripped)
        if item_indent is None:
            item_indent = indent
        if indent < item_indent or (indent == item_indent and not stripped.startswith("- ")):
            break
        if indent == item_indent:
            found.append(number + 1)
    return found


def _blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return value is None or (isinstance(value, list | dict) and not value)


def raw_data_paths(repo: RepoView) -> list[str]:
    """Where the raw data lives: the ingest stage's outputs; else what ``.dvc`` files track
    (``dvc add``, ``dvc import``) or dvc.yaml's top-level ``artifacts:`` declare under
    ``data/``; else ``data/raw``."""
    outs = [out for stage in stages_named(repo, "ingest") for out in stage.outs]
    if outs:
        return outs
    declared = [*repo.dvc_file_outputs(), *top_level(repo, "artifacts")]
    return [path for path in declared if path.startswith("data/")] or [RAW_DATA]


@rule(
    "DU002",
    PHASE,
    "Raw data not tracked by DVC, or committed to git",
    rationale=f"{cite('3.5')}. DVC versions the raw tables so every later result can be"
    " traced back to them; git must never hold the data itself.",
    fix="make the raw data an output of the ingest stage in dvc.yaml (or `dvc add data/raw`)"
    " and `git rm -r --cached` any raw file committed to git",
)
def raw_data_in_dvc(repo: RepoView) -> Iterator[Problem]:
    raw_paths = raw_data_paths(repo)
    managed = [path for path in raw_paths if repo.is_dvc_managed(path)]
    if not managed:
        yield Problem(
            pipeline_location(repo),
            f"the raw data ({', '.join(raw_paths)}) is not a DVC output: make it the ingest"
            " stage's `outs` or `dvc add` it",
        )
    # Asked of git itself: the repository's file listing leaves DVC outputs out.
    committed = (repo.git("ls-files", "-z", "--", *raw_paths) or "").split("\0")
    for rel in filter(None, committed):
        yield Problem(rel, "raw data committed to git: `git rm --cached` it; DVC tracks it")


@rule(
    "DU003",
    PHASE,
    "No data-quality report in the pipeline",
    rationale=f"{cite('3.2')}. The quality and integrity checks must run on every new"
    " version of the data, not once by hand.",
    fix=f"add a `validate` stage to dvc.yaml whose outputs include a report under"
    f" {QUALITY_REPORTS}/",
)
def data_quality_report(repo: RepoView) -> Iterator[Problem]:
    if pipeline_unusable(repo):
        return  # GEN001 or GEN002 says why
    validate = stages_named(repo, "validate")
    if not validate:
        yield Problem(
            pipeline_location(repo), no_stage(repo, "validate", "checks the raw data's quality")
        )
        return
    writes = [path for stage in validate for path in stage.writes]
    if not any(covers(QUALITY_REPORTS, path) for path in writes):
        yield Problem("dvc.yaml", f"the validate stage writes no report under {QUALITY_REPORTS}/")


@rule(
    "DU004",
    PHASE,
    "No default DVC remote",
    rationale=f"{cite('3.5')}. Pushing the data needs a remote, and the default one is where"
    " every teammate and CI pulls from.",
    fix="`dvc remote add --default NAME URL` (a local folder works offline) and commit .dvc/config",
)
def default_remote(repo: RepoView) -> Iterator[Problem]:
    text = repo.text(DVC_CONFIG)
    if text is None:
        if not repo.exists(DVC_CONFIG):  # else unreadable: GEN001 says why
            yield Problem(DVC_CONFIG, "missing: run `dvc init` and add a default remote")
        return
    options = parse_dvc_config(text)
    default = next((o for o in options if o.section == "core" and o.key == "remote"), None)
    if default is None or not default.value:
        yield Problem(DVC_CONFIG, "no `remote` in [core]: set a default remote")
        return
    defined = {remote_name(o.section) for o in options if o.key == "url"}
    if default.value not in defined:
        yield Problem(
            DVC_CONFIG,
            f"the default remote {default.value!r} has no `url` in a"
            f" ['remote \"{default.value}\"'] section",
            default.line,
        )


@rule(
    "DU007",
    PHASE,
    "Raw data version not tagged `raw`",
    rationale=f"{cite('3.5')}. The tag names the exact raw tables every later result was"
    " built from, so anyone can get them back.",
    fix="commit dvc.lock, run `make tags` where the Makefile has it (a generated project's"
    " tags raw-vN and pushes the data; elsewhere `git tag -a raw-vN`) and `git push --tags`",
    needs=GIT_HISTORY,
)
def raw_version_tagged(repo: RepoView) -> Iterator[Problem]:
    for path in raw_data_paths(repo):
        yield from untagged_version(repo, "raw", path)


@rule(
    "DU008",
    PHASE,
    "Data catalog does not declare the columns serving and monitoring validate against",
    rationale=f"{cite('3.4', '3.2')}. The catalog's `columns:` are the one data contract:"
    " crisp_ml.runtime.schema builds from them the schema that checks the raw data, every"
    " request the serving app answers and every production window monitoring reads. A source"
    " without columns, or a column the schema would refuse, leaves those checks blind or"
    " stops them.",
    fix=f"give every source in {DATA_CATALOG} a `columns:` list, one entry per column with"
    " `name`, `type` (number, integer, categorical, boolean or string), `role` (key, feature"
    " or target), and `range` [min, max] only on number/integer columns, `allowed` only on"
    " categorical/string/integer ones (the file's header explains each field)",
)
def catalog_columns(repo: RepoView) -> Iterator[Problem]:
    catalog = repo.yaml(DATA_CATALOG) if repo.exists(DATA_CATALOG) else None
    sources = catalog.get("sources") if isinstance(catalog, dict) else None
    if not isinstance(sources, list):
        return  # missing, unreadable or without sources: DU001 (or GEN001/GEN002) says so
    roles: dict[str, list[str]] = {"key": [], "target": [], "feature": []}
    for index, source in enumerate(sources, start=1):
        if not isinstance(source, dict):
            continue  # DU001 reports it
        label = source.get("name") or f"source {index}"
        columns = source.get("columns")
        if not columns:
            line = column_line(repo, DATA_CATALOG, label)
            yield Problem(DATA_CATALOG, f"{label}: no `columns:` declared", line)
            continue
        if not isinstance(columns, list):
            yield Problem(DATA_CATALOG, f"{label}: `columns` must be a list of column entries")
            continue
        for position, entry in enumerate(columns, start=1):
            name = entry.get("name") if isinstance(entry, dict) else None
            named = isinstance(name, str) and bool(name.strip())
            where = f"{label}, column `{name}`" if named else f"{label}, column {position}"
            line = column_line(repo, DATA_CATALOG, name)
            if not named and isinstance(entry, dict):
                yield Problem(DATA_CATALOG, f"{where}: `name` is missing or not text", line)
            for problem in column_problems(entry):
                yield Problem(DATA_CATALOG, f"{where}: {problem}", line)
            role = entry.get("role", "feature") if isinstance(entry, dict) else None
            if named and role in roles and name not in roles[role]:
                roles[role].append(name)
    yield from _catalog_roles(roles)


def _catalog_roles(roles: dict[str, list[str]]) -> Iterator[Problem]:
    """The schema takes one key, one target and at least one feature."""
    for role in ("key", "target"):
        if len(roles[role]) > 1:
            names = ", ".join(f"`{name}`" for name in roles[role])
            yield Problem(DATA_CATALOG, f"{len(roles[role])} columns have role {role}: {names}")
    if not roles["feature"] and (roles["key"] or roles["target"]):
        yield Problem(DATA_CATALOG, "no column has role feature: the model would have no input")
