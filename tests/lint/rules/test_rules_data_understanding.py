"""Phase 3 rules: the data catalog, raw data in DVC, the quality report, the remote."""

from __future__ import annotations

from typing import Any

import pytest
from rule_fixture import RAW_VERSION, Project

from crisp_lint.model import REGISTRY

CATALOG = "phases/03-data-understanding/data-catalog.yaml"


def first_source(project: Project) -> dict[str, Any]:
    return project.read_yaml(CATALOG)["sources"][0]


@pytest.mark.parametrize(
    "field", ["name", "owner", "collection_frequency", "limitations", "reliability"]
)
def test_a_catalog_source_without_a_field_is_reported(project: Project, field: str) -> None:
    project.edit_yaml(CATALOG, lambda data: data["sources"][0].pop(field))
    label = "source 1" if field == "name" else "measurements"
    assert f"{label}: `{field}` is missing or empty" in project.messages("DU001")


def test_each_source_is_reported_at_the_line_its_entry_starts(project: Project) -> None:
    project.write(
        CATALOG,
        """\
        # The team's sources
        sources:
          - name: measurements
            owner: botany lab
          # a source still to be described
          - name: TODO(crisp)
            owner: TODO(crisp) a person or team
        """,
    )
    lines = {(p.line, p.message.split(":")[0]) for p in project.problems("DU001")}
    assert lines == {(3, "measurements"), (6, "source 2")}


def test_reliability_must_cover_rows_and_columns(project: Project) -> None:
    project.edit_yaml(CATALOG, lambda data: data["sources"][0]["reliability"].pop("columns"))
    assert project.messages("DU001") == ["measurements: `reliability.columns` is missing or empty"]


def test_a_catalog_field_still_a_placeholder_is_reported(project: Project) -> None:
    project.edit_yaml(
        CATALOG, lambda data: data["sources"][0].update(limitations=["TODO(crisp) gaps"])
    )
    assert project.messages("DU001") == ["measurements: `limitations` is still TODO(crisp)"]


@pytest.mark.parametrize("content", ["sources: []\n", "", "# sources to come\n"])
def test_a_catalog_without_sources_is_reported(project: Project, content: str) -> None:
    project.write(CATALOG, content)
    assert project.messages("DU001") == ["no `sources:` list: describe at least one data source"]


def test_raw_data_that_no_stage_outputs_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"]["ingest"].pop("outs"))
    (message,) = project.messages("DU002")
    assert message.startswith("the raw data (data/raw) is not a DVC output")


def test_raw_data_added_with_a_dvc_file_is_tracked_by_dvc(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"].pop("ingest"))
    project.write("data/raw.dvc", "outs:\n- md5: 0123abcd.dir\n  path: raw\n")
    project.track("data/raw.dvc")
    assert project.problems("DU002") == []


def test_raw_data_committed_to_git_is_reported(project: Project) -> None:
    project.write("data/raw/features.csv", "a,b\n1,2\n")
    project.track("data/raw/features.csv")
    assert project.messages("DU002") == [
        "raw data committed to git: `git rm --cached` it; DVC tracks it"
    ]
    assert project.problems("DU002")[0].path == "data/raw/features.csv"


def test_a_pipeline_without_a_validate_stage_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"].pop("validate"))
    assert project.messages("DU003") == ["no `validate` stage checks the raw data's quality"]


def test_a_validate_stage_without_a_quality_report_is_reported(project: Project) -> None:
    def drop_reports(data: dict[str, Any]) -> None:
        data["stages"]["validate"]["outs"] = ["data/validated"]
        data["stages"]["validate"].pop("metrics")

    project.edit_yaml("dvc.yaml", drop_reports)
    assert project.messages("DU003") == [
        "the validate stage writes no report under reports/data-quality/"
    ]


def test_no_default_dvc_remote_is_reported(project: Project) -> None:
    project.write(".dvc/config", "[core]\n    analytics = false\n")
    assert project.messages("DU004") == ["no `remote` in [core]: set a default remote"]


def test_a_default_remote_without_a_url_is_reported_at_its_line(project: Project) -> None:
    project.write(
        ".dvc/config", "[core]\n    remote = storage\n['remote \"other\"']\n    url = /x\n"
    )
    (problem,) = project.problems("DU004")
    assert problem.line == 2
    assert "the default remote 'storage' has no `url`" in problem.message


def test_a_project_without_dvc_config_is_reported(project: Project) -> None:
    project.remove(".dvc/config")
    assert project.messages("DU004") == ["missing: run `dvc init` and add a default remote"]


@pytest.mark.parametrize(
    ("code", "document"), [("DU005", "data-sources.md"), ("DU006", "data-quality.md")]
)
def test_a_data_understanding_document_still_a_placeholder_is_reported(
    project: Project, code: str, document: str
) -> None:
    project.write(f"phases/03-data-understanding/{document}", "# Notes\nTODO(crisp)\n")
    assert "still a template placeholder" in project.messages(code)[0]


def test_a_raw_data_version_without_a_raw_tag_is_reported(project: Project) -> None:
    project.git("tag", "--delete", "raw-v1")
    (problem,) = project.problems("DU007")
    assert problem.path == "dvc.lock"
    assert problem.message.startswith(f"data/raw version {RAW_VERSION} has no `raw-vN` tag")


def test_a_raw_tag_of_an_older_version_does_not_count(project: Project) -> None:
    project.git("tag", "--delete", "raw-v1")
    project.git("tag", "-a", "raw-v1", "-m", "data/raw 0000.dir (stage ingest in dvc.lock)")
    assert len(project.problems("DU007")) == 1


def test_the_raw_tag_rule_needs_git_history() -> None:
    assert REGISTRY["DU007"].needs == "git-history"
