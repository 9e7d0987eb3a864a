"""One data contract, three places: the data catalog's ``columns`` as a pandera schema.

The data catalog (``phases/03-data-understanding/data-catalog.yaml``) declares each column's
type, role, range, allowed values and nullability. This module reads it
(:func:`load_catalog`), builds one pandera schema from it (:func:`frame_schema`) and checks
data against it without raising on bad data: the raw tables in the validate stage
(:func:`check_frame`), each request at serving time (:func:`check_records`) and each
production window in monitoring (:func:`check_frame`, :func:`feature_kinds`).

Categorical values have one canonical text form (:func:`category_text`): ``1``, ``1.0`` and
``"1"`` are the same category ``"1"`` whether they come from a CSV file, a JSON request or
the prediction log. The model pipeline applies it too (:func:`as_category_text`), so a model
never meets a category spelled differently from the one it was trained on.

pandera is imported inside the functions that need it (about half a second): reading the
catalog, the kinds of the features and the canonical text stay cheap to import.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from .config import ConfigError, _read_yaml_mapping

if TYPE_CHECKING:
    import pandera.pandas as pa

CATALOG_FILE = "phases/03-data-understanding/data-catalog.yaml"
NUMERIC_TYPES = ("number", "integer")
TEXT_TYPES = ("categorical", "string")
COLUMN_TYPES = (*NUMERIC_TYPES, "categorical", "boolean", "string")
ROLES = ("key", "feature", "target")
COLUMN_FIELDS = ("name", "type", "role", "range", "allowed", "nullable", "description")
# Booleans arrive as JSON true/false, CSV True/False or 0/1, or words; all mean one of two.
BOOLEAN_WORDS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class Column:
    """One column of the catalog, as declared under a source's ``columns:``."""

    name: str
    type: str
    role: str = "feature"
    range: tuple[float | None, float | None] = (None, None)
    allowed: tuple[Any, ...] | None = None
    nullable: bool = False
    description: str = ""
    source: str = ""

    @property
    def kind(self) -> Kind:
        """How models and drift treat it: numbers are numeric; text and booleans are
        categories (one-hot encoded, compared with a chi-square test)."""
        return "numeric" if self.type in NUMERIC_TYPES else "categorical"

    @property
    def allowed_text(self) -> list[str] | None:
        """The allowed values in canonical text form (what categorical cells become)."""
        if self.allowed is None:
            return None
        return [category_text(value) for value in self.allowed]


@dataclass(frozen=True)
class Catalog:
    """The columns every source of the data catalog declares, in the catalog's order."""

    path: Path
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def _role(self, role: str) -> Column | None:
        return next((column for column in self.columns if column.role == role), None)

    @property
    def key(self) -> Column | None:
        return self._role("key")

    @property
    def target(self) -> Column | None:
        return self._role("target")

    @property
    def features(self) -> list[Column]:
        return [column for column in self.columns if column.role == "feature"]


@dataclass(frozen=True)
class Violation:
    """One failure of the data against the catalog; ``row`` is the frame's index label
    (the record's position for :func:`check_records`), None when it concerns a whole column
    or table."""

    row: Any
    column: str | None
    check: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "check": self.check,
            "message": self.message,
        }


# --- reading the catalog --------------------------------------------------------------------


def load_catalog(root: Path, path: str | Path = CATALOG_FILE) -> Catalog:
    """The catalog's columns; a ConfigError naming the file and the column for any bad entry."""
    file = Path(path) if Path(path).is_absolute() else root / path
    sources = _read_yaml_mapping(file).get("sources")
    if not isinstance(sources, list):
        raise ConfigError(f"{file}: no `sources:` list; describe each data source there")
    columns: dict[str, Column] = {}
    for index, source in enumerate(sources, start=1):
        if not isinstance(source, dict):
            raise ConfigError(f"{file}: source {index} is not a mapping of fields")
        label = str(source.get("name") or f"source {index}")
        entries = source.get("columns") or []
        if not isinstance(entries, list):
            raise ConfigError(f"{file}: {label}: `columns` must be a list of column entries")
        for position, entry in enumerate(entries, start=1):
            column = parse_column(entry, f"{file}: {label}, column {position}", label)
            _add(columns, column, file)
    if not columns:
        raise ConfigError(
            f"{file}: no source declares `columns:`; list each column's name, type, role, "
            "range, allowed values and nullability (see the file's header)"
        )
    catalog = Catalog(file, tuple(columns.values()))
    for role in ("key", "target"):
        found = [column.name for column in catalog.columns if column.role == role]
        if len(found) > 1:
            raise ConfigError(f"{file}: {len(found)} columns have role {role}: {', '.join(found)}")
    return catalog


def _add(columns: dict[str, Column], column: Column, file: Path) -> None:
    """Add ``column``; the key may appear in every table it joins, any other name only once."""
    seen = columns.get(column.name)
    if seen is None:
        columns[column.name] = column
    elif not (seen.role == column.role == "key" and seen.type == column.type):
        raise ConfigError(
            f"{file}: column `{column.name}` is declared in {seen.source} and {column.source}; "
            "only the key (same type in both) may appear in more than one source"
        )


def parse_column(entry: Any, where: str, source: str = "") -> Column:
    """One ``columns:`` entry; ``where`` names the file, source and position in errors."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with name, type, role, ...")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: `name` is missing or not text")
    where = f"{where} (`{name}`)"
    unknown = sorted(set(entry) - set(COLUMN_FIELDS))
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; use {COLUMN_FIELDS}")
    kind = _choice(entry, "type", COLUMN_TYPES, where, None)
    role = _choice(entry, "role", ROLES, where, "feature")
    nullable = entry.get("nullable", False)
    if not isinstance(nullable, bool):
        raise ConfigError(f"{where}: `nullable` must be true or false, got {nullable!r}")
    description = entry.get("description") or ""
    return Column(
        name=name,
        type=kind,
        role=role,
        range=_range(entry.get("range"), kind, where),
        allowed=_allowed(entry.get("allowed"), kind, where),
        nullable=nullable,
        description=str(description).strip(),
        source=source,
    )


def _choice(
    entry: dict[str, Any], field: str, choices: tuple[str, ...], where: str, default: Any
) -> str:
    value = entry.get(field, default)
    if value not in choices:
        raise ConfigError(f"{where}: `{field}` must be one of {', '.join(choices)}, got {value!r}")
    return value


def _range(value: Any, kind: str, where: str) -> tuple[float | None, float | None]:
    if value is None:
        return (None, None)
    if kind not in NUMERIC_TYPES:
        raise ConfigError(f"{where}: `range` applies to number and integer columns, not {kind}")
    if not isinstance(value, list) or len(value) != 2 or not all(_is_bound(b) for b in value):
        raise ConfigError(
            f"{where}: `range` must be [min, max] (numbers, null = open), got {value!r}"
        )
    low, high = value
    if low is not None and high is not None and low > high:
        raise ConfigError(f"{where}: `range` [{low}, {high}] has its minimum above its maximum")
    return (low, high)


def _is_bound(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _allowed(value: Any, kind: str, where: str) -> tuple[Any, ...] | None:
    if value is None:
        return None
    if kind not in (*TEXT_TYPES, "integer"):
        raise ConfigError(f"{where}: `allowed` applies to categorical, string and integer columns")
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: `allowed` must be a non-empty list of values")
    if any(isinstance(item, dict | list) or item is None for item in value):
        raise ConfigError(f"{where}: `allowed` values must be plain values (text or numbers)")
    texts = [category_text(item) for item in value]
    if len(set(texts)) < len(texts):
        raise ConfigError(f"{where}: `allowed` lists a value twice")
    return tuple(value)


def feature_kinds(catalog: Catalog) -> dict[str, Kind]:
    """Each feature's kind, in catalog order: what drift tests and model encoders go by."""
    return {column.name: column.kind for column in catalog.features}


# --- canonical values -----------------------------------------------------------------------


def category_text(value: Any) -> Any:
    """The canonical text of a categorical value; missing values stay missing (NaN).

    Whole numbers lose their decimals (``2.0`` -> ``"2"``) because pandas reads a column of
    codes with one gap as floats; booleans become ``"true"``/``"false"``.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return math.nan
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, int | float) or hasattr(value, "is_integer"):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return str(value)


def as_category_text(frame: Any) -> pd.DataFrame:
    """Every cell of ``frame`` in canonical category text: the model's first categorical step."""
    data = pd.DataFrame(frame)
    return data.apply(lambda column: column.map(category_text)).astype(object)


def _boolean(value: Any) -> Any:
    """True/False for the spellings of a boolean; anything else unchanged, so a check fails."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    return BOOLEAN_WORDS.get(str(category_text(value)).strip().lower(), value)


# --- the pandera schema ---------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def frame_schema(
    catalog: Catalog, *, include_target: bool, include_key: bool
) -> pa.DataFrameSchema:
    """The pandera schema of a table holding the catalog's features (and key, target).

    Numbers and integers are coerced to float64 (integers must be whole), so missing values
    stay NaN for the model's imputer; categorical and string cells become canonical text;
    booleans True/False. Strict: a column the catalog does not declare is a violation.
    """
    import pandera.pandas as pa

    wanted = (
        {"feature"}
        | ({"target"} if include_target else set())
        | ({"key"} if include_key else set())
    )
    columns = {c.name: _pandera_column(c, pa) for c in catalog.columns if c.role in wanted}
    return pa.DataFrameSchema(columns, strict=True, name=str(catalog.path))


def _pandera_column(column: Column, pa: Any) -> Any:
    checks = []
    low, high = column.range
    if low is not None:
        checks.append(pa.Check.ge(low))
    if high is not None:
        checks.append(pa.Check.le(high))
    if column.type == "integer":
        checks.append(pa.Check(_whole, element_wise=True, ignore_na=True, name="whole_number"))
    if column.type in NUMERIC_TYPES:
        if column.allowed is not None:
            checks.append(pa.Check.isin([float(value) for value in column.allowed]))
        return pa.Column(
            float,
            checks=checks,
            nullable=column.nullable,
            coerce=True,
            unique=column.role == "key",
            description=column.description,
        )
    if column.type == "boolean":
        parser = pa.Parser(lambda series: series.map(_boolean))
        checks.append(pa.Check(_is_boolean, element_wise=True, ignore_na=True, name="boolean"))
    else:
        parser = pa.Parser(lambda series: series.map(category_text))
        if column.allowed is not None:
            checks.append(pa.Check.isin(column.allowed_text))
    return pa.Column(
        None,
        parsers=[parser],
        checks=checks,
        nullable=column.nullable,
        unique=column.role == "key",
        description=column.description,
    )


def _whole(value: float) -> bool:
    return float(value).is_integer()


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


# --- checking data --------------------------------------------------------------------------


def check_frame(
    schema_or_catalog: pa.DataFrameSchema | Catalog, frame: pd.DataFrame
) -> list[Violation]:
    """Every failure of ``frame`` against the schema (a Catalog: its full schema, key and
    target included), collected lazily; bad data never raises."""
    return _validate(_as_schema(schema_or_catalog), frame)[1]


def _as_schema(schema_or_catalog: Any) -> Any:
    if isinstance(schema_or_catalog, Catalog):
        return frame_schema(schema_or_catalog, include_target=True, include_key=True)
    return schema_or_catalog


def _validate(schema: Any, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Violation]]:
    """The coerced frame and the violations (the frame as given when coercion failed)."""
    import pandera.pandas as pa

    frame, not_numbers = _coerce_numbers(schema, frame)
    try:
        return schema.validate(frame, lazy=True), not_numbers
    except pa.errors.SchemaErrors as errors:
        found = violations_from(errors.failure_cases)
        reported = {(v.row, v.column) for v in not_numbers}
        # A cell that is not a number is now missing: say it once, as not a number.
        found = [v for v in found if (v.row, v.column) not in reported]
        return frame, not_numbers + found


def _coerce_numbers(schema: Any, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[Violation]]:
    """Numeric columns as floats, each cell that is not a number reported and made missing.

    pandera would stop at a column that fails coercion, leaving its range checks unrun; this
    way a column with one typo still has every other value checked.
    """
    numeric = [name for name, column in schema.columns.items() if str(column.dtype) == "float64"]
    frame, found = frame.copy(), []
    # Columns that already hold numbers (the usual case: a request's JSON numbers, a CSV
    # read by pandas) convert in one step; only the others are inspected cell by cell.
    ready = [name for name in numeric if name in frame and _holds_numbers(frame[name])]
    if ready:
        frame[ready] = frame[ready].astype(float)
    for name in [name for name in numeric if name in frame and name not in ready]:
        values = pd.to_numeric(frame[name].astype(object), errors="coerce")
        for row in frame.index[values.isna() & frame[name].notna()]:
            value = _plain(frame.at[row, name])
            message = f"`{name}`, row {row}: {value!r} is not a number"
            found.append(Violation(_plain(row), name, "coerce_dtype('float64')", message))
        frame[name] = values.astype(float)
    return frame, found


def _holds_numbers(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def violations_from(cases: pd.DataFrame) -> list[Violation]:
    """pandera's failure cases as violations, without the echoes of a failed coercion."""
    cases = cases.astype(object).where(cases.notna(), None)
    uncoerced = set(cases.loc[cases["check"].astype(str).str.startswith("coerce_dtype"), "column"])
    found = []
    for case in cases.to_dict("records"):
        check, column = str(case["check"]), case["column"]
        if column in uncoerced and (check.startswith("dtype(") or case["index"] is None):
            continue  # the coercion failure already says it, per cell
        found.append(_violation(case, check, column))
    return found


def _violation(case: dict[str, Any], check: str, column: str | None) -> Violation:
    row, value = _plain(case["index"]), _plain(case["failure_case"])
    if check == "column_in_schema":
        return Violation(None, str(value), check, f"`{value}` is not a column of the data catalog")
    if check == "column_in_dataframe":
        return Violation(None, str(value), check, f"`{value}` is in the data catalog but missing")
    what = _PHRASES.get(check.split("(")[0], f"fails {check}")
    where = f"`{column}`" + ("" if row is None else f", row {row}")
    return Violation(row, column, check, f"{where}: {value!r} {what}")


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds, so violations serialise to JSON."""
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


_PHRASES = {
    "coerce_dtype": "is not a number",
    "not_nullable": "is missing, and the catalog says the column is not nullable",
    "greater_than_or_equal_to": "is below the catalog's range",
    "less_than_or_equal_to": "is above the catalog's range",
    "isin": "is not one of the catalog's allowed values",
    "boolean": "is not a boolean (true or false)",
    "whole_number": "is not a whole number",
    "field_uniqueness": "appears more than once in a unique column",
}


def check_records(
    catalog: Catalog, records: list[dict[str, Any]]
) -> tuple[pd.DataFrame, list[Violation]]:
    """Request payloads checked against the catalog's features: the frame to predict on
    (features in catalog order, coerced to the catalog's types) and the violations.

    Unknown and missing columns, wrong JSON types (a string for a number, a number for a
    boolean), out-of-range and not-allowed values are all reported; the frame is fit to
    predict on only when the list is empty.
    """
    features = catalog.features
    names = [column.name for column in features]
    violations = _record_shapes(records, names)
    rows = [record if isinstance(record, Mapping) else {} for record in records or []]
    for position, record in enumerate(rows):
        violations += _json_types(position, record, features)
    frame = pd.DataFrame(
        [{name: record.get(name) for name in names} for record in rows], columns=names
    )
    if violations:
        return frame, violations
    plainly = _checked_plainly(features, frame)
    if plainly is not None:
        return plainly, []
    schema = frame_schema(catalog, include_target=False, include_key=False)
    checked, found = _validate(schema, frame)
    return checked[names], found


def _checked_plainly(features: list[Column], frame: pd.DataFrame) -> pd.DataFrame | None:
    """What pandera's schema would return for ``frame`` when every value plainly passes
    the catalog's checks, made with the same conversions but without pandera (which spends
    tens of milliseconds per column set on a one-row request); None as soon as one value
    needs pandera's verdict, which then finds and words every violation. The JSON types are
    already checked. tests/runtime/test_schema.py keeps both ways equal."""
    numeric = [column.name for column in features if column.type in NUMERIC_TYPES]
    checked = frame.astype(dict.fromkeys(numeric, float))  # one step for every number
    for column in features:
        if column.type not in NUMERIC_TYPES:
            parse = _boolean if column.type == "boolean" else category_text
            checked[column.name] = checked[column.name].map(parse)
        if not _plainly_valid(column, checked[column.name].tolist()):
            return None
    return checked


def _plainly_valid(column: Column, values: list[Any]) -> bool:
    """Whether every value passes the column's checks (plain Python: a request is a few
    rows, for which pandas' per-call cost is what counts)."""
    present = [value for value in values if not _is_missing(value)]
    if len(present) < len(values) and not column.nullable:
        return False
    if column.type == "boolean":
        return all(isinstance(value, bool) for value in present)
    if column.type not in NUMERIC_TYPES:
        allowed_text = column.allowed_text
        return allowed_text is None or all(value in allowed_text for value in present)
    low, high = column.range
    allowed = None if column.allowed is None else {float(value) for value in column.allowed}
    return all(
        (low is None or value >= low)
        and (high is None or value <= high)
        and (column.type != "integer" or value.is_integer())
        and (allowed is None or value in allowed)
        for value in present
    )


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _record_shapes(records: Any, names: list[str]) -> list[Violation]:
    """Violations of the payload's shape: a non-empty list of mappings with known columns."""
    if not isinstance(records, list) or not records:
        return [Violation(None, None, "records", "expected a non-empty list of records")]
    found = []
    for position, record in enumerate(records):
        if not isinstance(record, Mapping):
            found.append(Violation(position, None, "record", f"record {position} is not a mapping"))
            continue
        for name in sorted(set(record) - set(names)):
            found.append(
                Violation(
                    position,
                    name,
                    "unknown_column",
                    f"record {position}: `{name}` is not a feature of the data catalog",
                )
            )
        for name in [n for n in names if n not in record]:
            found.append(
                Violation(
                    position,
                    name,
                    "missing_column",
                    f"record {position}: feature `{name}` is missing (send null if unknown)",
                )
            )
    return found


def _json_types(
    position: int, record: Mapping[str, Any], features: Iterable[Column]
) -> list[Violation]:
    """Wrong JSON types: pandas would quietly turn ``true`` into 1.0 or ``"3"`` into 3."""
    found = []
    for column in features:
        value = record.get(column.name)
        if value is None or _json_fits(value, column.type):
            continue
        found.append(
            Violation(
                position,
                column.name,
                "type",
                f"record {position}: `{column.name}` must be {_ARTICLES[column.type]}, "
                f"got {type(value).__name__} {value!r}",
            )
        )
    return found


def _json_fits(value: Any, kind: str) -> bool:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind in NUMERIC_TYPES:
        return is_number and math.isfinite(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "categorical":
        return isinstance(value, str | bool) or is_number
    return isinstance(value, str)


_ARTICLES = {
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "categorical": "a category (text or a number)",
    "string": "text",
}
