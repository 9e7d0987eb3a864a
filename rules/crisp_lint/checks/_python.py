"""Static look at the Python a pipeline stage runs: which file, and what it imports."""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import TYPE_CHECKING

from crisp_lint.checks._regex import lazy

if TYPE_CHECKING:
    from crisp_lint.checks._pipeline import Stage
    from crisp_lint.repo import RepoView

SOURCE_ROOTS = ("src", "")
_IMPORT = lazy(
    r"^\s*(?:from\s+(?P<from>\.*[\w.]*)\s+import\s+(?P<names>[\w., ()]+)"
    r"|import\s+(?P<module>[\w.]+))",
    re.MULTILINE,
)


def stage_scripts(repo: RepoView, stage: Stage) -> list[str]:
    """Repository files a stage runs: ``python -m pkg.mod`` (found under ``src/`` or the
    root, as an installed package) or ``python path.py`` (relative to the stage's wdir)."""
    try:
        words = shlex.split(stage.cmd.replace("&&", " ; "))
    except ValueError:
        words = stage.cmd.split()
    found = []
    for index, word in enumerate(words):
        if word == "-m" and index + 1 < len(words):
            found.extend(module_files(repo, words[index + 1]))
        elif word.endswith(".py"):
            script = posixpath.normpath(posixpath.join(stage.wdir, word))
            if repo.is_file(script):
                found.append(script)
    return found


def module_files(repo: RepoView, module: str) -> list[str]:
    """The file of a dotted module name under ``src/`` or the root (first match only)."""
    parts = module.split(".")
    for root in SOURCE_ROOTS:
        base = posixpath.join(root, *parts) if root else posixpath.join(*parts)
        for candidate in (f"{base}.py", f"{base}/__main__.py", f"{base}/__init__.py"):
            if repo.is_file(candidate):
                return [candidate]
    return []


def imports(repo: RepoView, path: str) -> list[str]:
    """Absolute module names ``path`` imports (relative imports resolved against its package)."""
    text = repo.text(path) or ""
    package = posixpath.dirname(path).split("/")
    if package[0] == "src":
        package = package[1:]
    modules = []
    for match in _IMPORT.finditer(text):
        if match["module"]:
            modules.append(match["module"])
            continue
        source = match["from"]
        dots = len(source) - len(source.lstrip("."))
        if dots == 0:
            modules.append(source)
            continue
        anchor = package[: len(package) - (dots - 1)] if dots > 1 else package
        base = ".".join([*anchor, source.lstrip(".")]).strip(".")
        modules.append(base)
        # ``from . import tracking`` imports the module ``<package>.tracking``.
        names = match["names"].replace("(", "").replace(")", "")
        modules.extend(f"{base}.{n.split(' as ')[0].strip()}" for n in names.split(",") if n)
    return modules


def uses_module(repo: RepoView, path: str, wanted: str, depth: int = 2) -> bool:
    """Whether ``path`` imports ``wanted``, directly or through local modules up to ``depth``."""
    seen: set[str] = set()
    frontier = [path]
    for _ in range(depth + 1):
        following = []
        for current in frontier:
            if current in seen:
                continue
            seen.add(current)
            for module in imports(repo, current):
                if module == wanted or module.startswith(wanted + "."):
                    return True
                following.extend(module_files(repo, module))
        frontier = following
    return False
