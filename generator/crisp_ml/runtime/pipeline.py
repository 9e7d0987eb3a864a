"""What every pipeline stage shares: output locations, JSON files and clean failures."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import ConfigError, load_params, project_root

# Where the stages write, relative to the project root (mirrored by dvc.yaml).
RAW_DIR = Path("data/raw")
FEATURES_TABLE = "features.csv"  # raw tables, joined by the ingest stage's key column
TARGETS_TABLE = "targets.csv"
METADATA_FILE = "metadata.json"
PREPARED_DIR = Path("data/prepared")
SPLIT_FILE = Path("data/split/indices.json")
QUALITY_DIR = Path("reports/data-quality")
BASELINE_MODEL = Path("models/baseline.joblib")
BASELINE_DIR = Path("reports/baseline")
MODEL_FILE = Path("models/model.joblib")
TRAIN_DIR = Path("reports/train")
EVALUATION_DIR = Path("reports/evaluation")


class StageError(RuntimeError):
    """A stage found a problem in its inputs that a person must fix; the message says how."""


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as stable, readable JSON (sorted keys keep diffs small)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(data), indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def read_json(path: Path) -> Any:
    """Read a JSON file another stage wrote; a clear error when it is missing or broken."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StageError(f"{path}: not found; run the stage that writes it (dvc repro)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise StageError(f"{path}: not valid JSON ({error}); re-run dvc repro") from error


def run_stage(name: str, stage: Callable[[Path, dict[str, Any]], object]) -> None:
    """Run ``stage(root, params)`` as a command: problems end it with a message, not a traceback."""
    root = project_root()
    try:
        stage(root, load_params(root / "params.yaml"))
    except (ConfigError, StageError) as error:
        sys.exit(f"{name}: error: {error}")
