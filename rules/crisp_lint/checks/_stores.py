"""Tracking stores as committed files name them, so two names of one store compare equal.

crisp_ml.runtime.tracking.public_uri writes the store into run.json, the promotion audit
trail and the monitoring history: no ``user:password@``, no query string or fragment, the
embedded store as ``sqlite:///mlflow.db`` and another store file inside the project
project-relative. crisp-lint must not import the runtime (MLflow, pandas), so the same
normalisation is restated here for comparing those files with params.yaml.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

# The store a generated project uses when params.yaml's mlflow.tracking_uri is null.
EMBEDDED_STORE = "sqlite:///mlflow.db"


def configured_store(params: dict[str, Any] | None) -> str:
    """params.yaml's ``mlflow.tracking_uri``, null or empty meaning the embedded store."""
    section = (params or {}).get("mlflow")
    uri = section.get("tracking_uri") if isinstance(section, dict) else None
    return uri.strip() if isinstance(uri, str) and uri.strip() else EMBEDDED_STORE


def comparable(uri: str, root: Path) -> str:
    """``uri`` as public_uri would write it for the project at ``root``, then without what
    does not change the store (a trailing slash, the case of scheme and host)."""
    uri = uri.strip()
    if uri.startswith("sqlite:///"):
        path = uri.removeprefix("sqlite:///").split("?", 1)[0].split("#", 1)[0]
        if Path(path).is_absolute():
            store = Path(path)
            resolved_root = root.resolve()
            if store.is_relative_to(resolved_root):
                path = store.relative_to(resolved_root).as_posix()
        return f"sqlite:///{path}"
    parts = urllib.parse.urlsplit(uri)
    host = parts.netloc.rpartition("@")[2].lower()
    bare = parts._replace(scheme=parts.scheme.lower(), netloc=host, query="", fragment="")
    return urllib.parse.urlunsplit(bare).rstrip("/")


def same_store(recorded: str, configured: str, root: Path) -> bool:
    return comparable(recorded, root) == comparable(configured, root)
