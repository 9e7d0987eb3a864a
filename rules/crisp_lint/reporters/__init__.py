"""Output formats. Each module has ``render(report) -> str``; only the chosen one is imported."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from crisp_lint.engine import Report

FORMATS = ("text", "json", "sarif", "github", "junit")


def renderer(name: str) -> Callable[[Report], str]:
    """The ``render`` function of output format ``name`` (one of FORMATS)."""
    if name not in FORMATS:
        raise ValueError(f"unknown output format {name!r}")
    return importlib.import_module(f"crisp_lint.reporters.{name}").render
