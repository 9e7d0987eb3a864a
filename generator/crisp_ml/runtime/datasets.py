"""Reading the prepared dataset and its train/val/test split, as later stages need them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .pipeline import PREPARED_DIR, SPLIT_FILE, StageError, read_json

DATASET_FILE = "dataset.csv"
SCHEMA_FILE = "schema.json"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Dataset:
    """The prepared table and what its columns mean (written by the prepare stage)."""

    frame: pd.DataFrame
    schema: dict[str, Any]

    @property
    def task(self) -> str:
        return self.schema["task"]

    @property
    def key(self) -> str:
        return self.schema["key"]

    @property
    def target(self) -> str:
        return self.schema["target"]

    @property
    def features(self) -> list[str]:
        return list(self.schema["features"])

    @property
    def feature_kinds(self) -> dict[str, str]:
        """Each feature's kind, ``numeric`` or ``categorical`` (from the data catalog's types);
        a schema.json written before kinds were recorded has numeric features only."""
        kinds = self.schema.get("feature_kinds") or {}
        return {name: kinds.get(name, "numeric") for name in self.features}

    @property
    def X(self) -> pd.DataFrame:
        return self.frame[self.features]

    @property
    def y(self) -> pd.Series:
        return self.frame[self.target]

    def subset(self, keys: list[int]) -> Dataset:
        """The rows whose key is in ``keys``, in that order."""
        indexed = self.frame.set_index(self.key, drop=False)
        missing = set(keys) - set(indexed.index)
        if missing:
            raise StageError(
                f"{len(missing)} split keys are not in the prepared dataset; "
                "the split is stale: run `dvc repro split`"
            )
        return Dataset(indexed.loc[keys].reset_index(drop=True), self.schema)


def load_prepared(root: Path) -> Dataset:
    """The prepared dataset under ``root/data/prepared``."""
    folder = root / PREPARED_DIR
    schema = read_json(folder / SCHEMA_FILE)
    kinds = schema.get("feature_kinds") or {}
    # Categories are text: read as numbers, "007" would become 7, another category.
    text = {name: object for name, kind in kinds.items() if kind == "categorical"}
    try:
        frame = pd.read_csv(folder / DATASET_FILE, dtype=text)
    except FileNotFoundError:
        raise StageError(f"{folder / DATASET_FILE}: not found; run `dvc repro prepare`") from None
    return Dataset(frame, schema)


def load_split(root: Path) -> dict[str, list[int]]:
    """The split's keys per part (train, val, test) from ``data/split/indices.json``."""
    path = root / SPLIT_FILE
    split = read_json(path)
    absent = [name for name in SPLITS if not isinstance(split.get(name), list)]
    if absent:
        raise StageError(f"{path}: missing the {', '.join(absent)} list; run `dvc repro split`")
    return {name: [int(key) for key in split[name]] for name in SPLITS}


def load_part(root: Path, part: str) -> Dataset:
    """One part of the split (``train``, ``val`` or ``test``) of the prepared dataset."""
    return load_prepared(root).subset(load_split(root)[part])
