"""The data catalog's columns as one schema: raw tables, request payloads, production windows."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import crisp_ml.runtime.schema as schema_module
from crisp_ml.runtime.config import ConfigError
from crisp_ml.runtime.schema import (
    CATALOG_FILE,
    Catalog,
    as_category_text,
    category_text,
    check_frame,
    check_records,
    feature_kinds,
    frame_schema,
    load_catalog,
)

# A first real table: a key, numbers with ranges, a text column, a flag and a class label.
COLUMNS: list[dict[str, Any]] = [
    {"name": "customer_id", "type": "integer", "role": "key", "range": [0, None]},
    {"name": "age", "type": "integer", "range": [18, 120], "nullable": True},
    {"name": "income", "type": "number", "range": [0, None], "nullable": True},
    {"name": "city", "type": "categorical", "allowed": ["Lyon", "Paris", "Nantes"]},
    {"name": "member", "type": "boolean", "nullable": True},
    {"name": "churned", "type": "integer", "role": "target", "allowed": [0, 1]},
]


def write_catalog(root: Path, columns: Any, **source: Any) -> Path:
    path = root / CATALOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"name": "customers", "owner": "crm team", **source, "columns": columns}
    path.write_text(yaml.safe_dump({"sources": [entry]}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    write_catalog(tmp_path, COLUMNS)
    return load_catalog(tmp_path)


def table(**changes: list[Any]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "age": [34, None, 51, 29],
            "income": [2100.0, 3400.5, None, 1800.0],
            "city": ["Lyon", "Paris", "Paris", "Nantes"],
            "member": [True, False, None, True],
            "churned": [0, 1, 0, 0],
        }
    )
    return frame.assign(**changes)


def checks(violations: list[Any]) -> set[tuple[Any, str | None, str]]:
    return {(v.row, v.column, v.check.split("(")[0]) for v in violations}


def test_the_catalog_reads_types_roles_ranges_allowed_values_and_nullability(
    catalog: Catalog,
) -> None:
    assert catalog.names == [column["name"] for column in COLUMNS]
    assert catalog.key and catalog.key.name == "customer_id"
    assert catalog.target and catalog.target.name == "churned"
    assert [c.name for c in catalog.features] == ["age", "income", "city", "member"]
    age = catalog.column("age")
    assert (age.type, age.range, age.nullable, age.role) == ("integer", (18, 120), True, "feature")
    assert catalog.column("city").allowed == ("Lyon", "Paris", "Nantes")
    assert not catalog.column("city").nullable, "nullable defaults to false"


def test_feature_kinds_follow_the_catalog_not_the_dtypes(catalog: Catalog) -> None:
    assert feature_kinds(catalog) == {
        "age": "numeric",
        "income": "numeric",
        "city": "categorical",
        "member": "categorical",
    }


def test_a_clean_table_with_a_text_column_and_nulls_passes(catalog: Catalog) -> None:
    assert check_frame(catalog, table()) == []
    validated = frame_schema(catalog, include_target=True, include_key=True).validate(table())
    assert validated["age"].dtype == "float64", "integers stay float so NaN reaches the imputer"
    assert validated["member"].tolist()[:2] == [True, False]


def test_every_failure_is_collected_with_its_row_column_and_check(catalog: Catalog) -> None:
    bad = table(
        age=[34, 12, 51.5, 29],  # 12 below the range; 51.5 not whole
        income=[2100.0, -5.0, None, "lots"],  # below the range; not a number
        city=["Lyon", "Paris", "Berlin", None],  # not allowed; missing but not nullable
        member=[True, "maybe", None, "yes"],  # "yes" is a boolean, "maybe" is not
        churned=[0, 1, 2, 0],  # not an allowed class
    )
    found = checks(check_frame(catalog, bad))
    assert found == {
        (1, "age", "greater_than_or_equal_to"),
        (2, "age", "whole_number"),
        (1, "income", "greater_than_or_equal_to"),
        (3, "income", "coerce_dtype"),
        (2, "city", "isin"),
        (3, "city", "not_nullable"),
        (1, "member", "boolean"),
        (2, "churned", "isin"),
    }


def test_messages_name_the_column_row_value_and_rule(catalog: Catalog) -> None:
    (violation,) = check_frame(catalog, table(city=["Lyon", "Paris", "Berlin", "Lyon"]))
    assert violation.message == "`city`, row 2: 'Berlin' is not one of the catalog's allowed values"
    assert violation.to_dict()["row"] == 2


def test_unknown_missing_and_duplicate_key_columns_are_violations(catalog: Catalog) -> None:
    frame = table(customer_id=[1, 1, 2, 3]).drop(columns="income").assign(extra=1)
    found = checks(check_frame(catalog, frame))
    assert (None, "extra", "column_in_schema") in found
    assert (None, "income", "column_in_dataframe") in found
    assert {(0, "customer_id", "field_uniqueness"), (1, "customer_id", "field_uniqueness")} <= found


def test_the_features_only_schema_leaves_key_and_target_out(catalog: Catalog) -> None:
    schema = frame_schema(catalog, include_target=False, include_key=False)
    assert list(schema.columns) == ["age", "income", "city", "member"]
    assert check_frame(schema, table().drop(columns=["customer_id", "churned"])) == []


def test_categories_have_one_canonical_text_whatever_they_were_read_as() -> None:
    assert [category_text(v) for v in (2, 2.0, "2", True, 1.5)] == ["2", "2", "2", "true", "1.5"]
    assert math.isnan(category_text(None)) and math.isnan(category_text(float("nan")))
    codes = pd.DataFrame({"code": [1.0, 2.0, None], "city": ["Lyon", None, "Paris"]})
    assert as_category_text(codes).fillna("-").to_numpy().tolist() == [
        ["1", "Lyon"],
        ["2", "-"],
        ["-", "Paris"],
    ]


def test_records_come_back_in_catalog_order_coerced_to_the_catalog_types(
    catalog: Catalog,
) -> None:
    records = [
        {"member": True, "city": "Paris", "income": 2500, "age": 40},
        {"city": "Lyon", "age": None, "income": 10.5, "member": None},
    ]
    frame, violations = check_records(catalog, records)
    assert violations == []
    assert list(frame.columns) == ["age", "income", "city", "member"]
    assert frame["income"].dtype == "float64" and frame["income"].tolist() == [2500.0, 10.5]
    assert frame["city"].tolist() == ["Paris", "Lyon"]


def test_records_with_unknown_missing_or_wrongly_typed_fields_are_refused(
    catalog: Catalog,
) -> None:
    records = [
        {"age": "40", "income": 1.0, "city": "Paris", "member": True, "plan": "gold"},
        {"age": 40, "income": True, "city": "Paris"},
    ]
    _, violations = check_records(catalog, records)
    assert checks(violations) == {
        (0, "plan", "unknown_column"),
        (1, "member", "missing_column"),
        (0, "age", "type"),
        (1, "income", "type"),
    }
    assert "`age` must be a whole number, got str '40'" in violations[-2].message


def test_records_out_of_range_or_not_allowed_are_refused(catalog: Catalog) -> None:
    records = [{"age": 140, "income": 1.0, "city": "Rome", "member": False}]
    _, violations = check_records(catalog, records)
    assert checks(violations) == {(0, "age", "less_than_or_equal_to"), (0, "city", "isin")}


# Requests that pass, and requests one value of which fails a check the JSON types let by.
PASSING_REQUESTS = [
    [{"age": 40, "income": 2500, "city": "Paris", "member": True}],
    [{"age": None, "income": None, "city": "Lyon", "member": None}],
    [{"age": 18.0, "income": 0, "city": "Nantes", "member": False}] * 3,
]
FAILING_VALUES = [
    ("age", 17),  # below the range
    ("age", 40.5),  # not whole
    ("income", -1.0),  # below the range
    ("city", "Rome"),  # not allowed
    ("city", None),  # not nullable
]


PANDERA_VALIDATE = schema_module._validate


def _pandera_way(catalog: Catalog, records: list[dict[str, Any]]) -> Any:
    names = [c.name for c in catalog.features]
    frame = pd.DataFrame([{n: r.get(n) for n in names} for r in records], columns=names)
    schema = frame_schema(catalog, include_target=False, include_key=False)
    return PANDERA_VALIDATE(schema, frame)


@pytest.mark.parametrize("records", PASSING_REQUESTS)
def test_a_passing_request_gets_the_frame_pandera_would_give(
    catalog: Catalog, records: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """check_records builds a plainly valid request's frame without pandera (for speed):
    it must be pandera's own, value for value and dtype for dtype."""

    def not_asked(*_: Any) -> Any:
        raise AssertionError("a plainly valid request went to pandera")

    monkeypatch.setattr(schema_module, "_validate", not_asked)
    frame, violations = check_records(catalog, records)
    monkeypatch.undo()
    expected, found = _pandera_way(catalog, records)
    assert violations == found == []
    pd.testing.assert_frame_equal(frame, expected[frame.columns])


@pytest.mark.parametrize(("column", "value"), FAILING_VALUES)
def test_a_failing_value_gets_pandera_s_verdict(catalog: Catalog, column: str, value: Any) -> None:
    records = [{**PASSING_REQUESTS[0][0], column: value}]
    _, violations = check_records(catalog, records)
    assert violations and violations == _pandera_way(catalog, records)[1]
    assert {v.column for v in violations} == {column}


@pytest.mark.parametrize("records", [[], "not a list", [["a", "list"]]])
def test_a_payload_that_is_not_a_list_of_records_is_a_violation(
    catalog: Catalog, records: Any
) -> None:
    _, violations = check_records(catalog, records)
    assert violations and violations[0].check in ("records", "record")


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"name": "x"}, r"column 1 \(`x`\): `type` must be one of number, integer"),
        ({"name": "x", "type": "text"}, r"`type` must be one of .* got 'text'"),
        ({"type": "number"}, r"column 1: `name` is missing"),
        ({"name": "x", "type": "number", "range": [5, 1]}, r"`x`\): `range` \[5, 1\] has its min"),
        ({"name": "x", "type": "number", "range": [0]}, r"`range` must be \[min, max\]"),
        ({"name": "x", "type": "categorical", "range": [0, 1]}, "`range` applies to number"),
        ({"name": "x", "type": "number", "allowed": [1]}, "`allowed` applies to categorical"),
        ({"name": "x", "type": "categorical", "allowed": []}, "`allowed` must be a non-empty"),
        ({"name": "x", "type": "categorical", "allowed": [1, "1"]}, "lists a value twice"),
        ({"name": "x", "type": "number", "nullable": "yes"}, "`nullable` must be true or false"),
        ({"name": "x", "type": "number", "role": "label"}, "`role` must be one of key, feature"),
        ({"name": "x", "type": "number", "nulable": True}, r"unknown field\(s\) nulable"),
        ("x", "column 1: expected a mapping"),
    ],
)
def test_a_malformed_column_is_a_config_error_naming_the_file_and_column(
    tmp_path: Path, column: Any, message: str
) -> None:
    write_catalog(tmp_path, [column])
    with pytest.raises(ConfigError, match=message) as error:
        load_catalog(tmp_path)
    assert "data-catalog.yaml: customers, column 1" in str(error.value)


def test_a_catalog_without_columns_says_where_to_declare_them(tmp_path: Path) -> None:
    write_catalog(tmp_path, [])
    with pytest.raises(ConfigError, match="no source declares `columns:`"):
        load_catalog(tmp_path)
    with pytest.raises(ConfigError, match="file not found"):
        load_catalog(tmp_path / "elsewhere")


def test_only_the_key_may_appear_in_two_sources(tmp_path: Path) -> None:
    key = {"name": "id", "type": "integer", "role": "key"}
    sources = [
        {"name": "features", "columns": [key, {"name": "x", "type": "number"}]},
        {"name": "targets", "columns": [key, {"name": "x", "type": "number", "role": "target"}]},
    ]
    path = tmp_path / CATALOG_FILE
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    with pytest.raises(ConfigError, match="`x` is declared in features and targets"):
        load_catalog(tmp_path)
    sources[1]["columns"][1]["name"] = "y"
    path.write_text(yaml.safe_dump({"sources": sources}), encoding="utf-8")
    assert load_catalog(tmp_path).names == ["id", "x", "y"]


def test_reading_the_catalog_does_not_import_pandera() -> None:
    code = "import sys, crisp_ml.runtime.schema; print('pandera' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"


def test_prepared_categories_are_read_back_as_text_with_their_kinds(tmp_path: Path) -> None:
    from crisp_ml.runtime.datasets import load_prepared

    folder = tmp_path / "data/prepared"
    folder.mkdir(parents=True)
    (folder / "dataset.csv").write_text("id,zip,x,y\n0,007,1.5,0\n1,010,2.5,1\n", encoding="utf-8")
    schema = {"task": "classification", "key": "id", "target": "y", "features": ["zip", "x"]}
    kinds = {"zip": "categorical", "x": "numeric"}
    (folder / "schema.json").write_text(
        json.dumps({**schema, "feature_kinds": kinds}), encoding="utf-8"
    )
    dataset = load_prepared(tmp_path)
    assert dataset.feature_kinds == kinds
    assert dataset.X["zip"].tolist() == ["007", "010"], "read as numbers they would be 7 and 10"
    (folder / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    assert load_prepared(tmp_path).feature_kinds == {"zip": "numeric", "x": "numeric"}
