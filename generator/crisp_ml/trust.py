"""Which template sources may run migrations without an explicit ``--trust``.

Copier treats ``_migrations`` and ``_tasks`` as unsafe: they run commands on the user's
machine. crisp-ml trusts the one template it ships (the source ``default_template()``
names, or the published crisp-ml repository); any other source needs ``--trust``.
"""

from __future__ import annotations

from pathlib import Path

from crisp_lint.drift import local_source_path
from crisp_ml.template_source import PUBLISHED_TEMPLATE, default_template


def is_trusted_source(source: str | None, project_root: Path) -> bool:
    """True when ``source`` (an answers file's ``_src_path``) is crisp-ml's own template."""
    if not source:
        return False
    trusted = {
        _canonical(PUBLISHED_TEMPLATE, project_root),
        _canonical(default_template(), project_root),
    }
    return _canonical(source, project_root) in trusted


def _canonical(source: str, project_root: Path) -> str:
    local = local_source_path(source, project_root)
    if local is not None:
        return str(local.resolve())
    return source.removeprefix("git+").removesuffix("/").removesuffix(".git")
