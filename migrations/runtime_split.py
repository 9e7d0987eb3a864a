"""Copier migration to v2.0.0: carry a project over the runtime split.

Usage (from copier.yml ``_migrations``, "after" stage, run in the project root):

    python runtime_split.py

Template v2.0.0 moved the machinery every project shares (config, pipeline, datasets,
metrics, gate, gate_check, router, tracking, tags, dashboard, monitor) out of
``src/<package>/`` into ``crisp_ml.runtime``, which the project now pins in pyproject.toml.
``copier update`` leaves ``src/`` and ``tests/`` out altogether, so this script does their
part:

1. each moved module ``src/<package>/<module>.py`` is deleted when its bytes equal a version
   the template shipped (runtime_split_known.json, made by known_hashes.py); a module the
   team changed is kept, with one line saying how to finish by hand;
2. each shipped test ``tests/test_<module>.py`` of a deleted module is deleted when it
   equals a shipped version rendered with the project's answers; a changed one is kept. The
   test of a kept module stays too: it still tests the team's copy;
3. import lines of the team's remaining Python files (``from .<module> import``,
   ``from <package>.<module> import``) now name ``crisp_ml.runtime.<module>``, for the moved
   modules that are gone from ``src/<package>/``. A kept module keeps its imports.

Idempotent, and a no-op on a project generated after the split (nothing left to delete or
rewrite). Exits 0 with a summary; 2, with the fix, when ``.copier-answers.yml`` cannot be
read. Standard library and PyYAML only, so it runs under whichever Python runs Copier.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import yaml

ANSWERS_FILE = Path(".copier-answers.yml")
KNOWN_FILE = Path(__file__).resolve().parent / "runtime_split_known.json"
PACKAGE_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# The answers the shipped tests were rendered with (known_hashes.py refuses any other Jinja).
ANSWER_PLACEHOLDER = re.compile(r"\{\{\s*(package_name|metric|deployment_strategy)\s*\}\}")
PREFIX = "migration runtime_split:"


class MigrationError(Exception):
    """The project or the template is not in a state the migration can work with."""


def main() -> int:
    try:
        answers = read_answers(ANSWERS_FILE)
        known = read_known(KNOWN_FILE)
    except MigrationError as error:
        print(f"{PREFIX} {error}", file=sys.stderr)
        return 2
    package = answers["package_name"]
    deleted_modules, kept = remove_shipped_modules(package, known["modules"])
    deleted_tests, kept_tests = remove_shipped_tests(package, answers, known, kept)
    gone = {m for m in known["modules"] if not module_path(package, m).exists()}
    rewritten = [
        path for path in team_python_files(package) if rewrite_imports(path, package, gone)
    ]
    print(
        f"{PREFIX} deleted {len(deleted_modules)} machinery modules and {len(deleted_tests)} "
        f"shipped tests, rewrote imports in {len(rewritten)} files, kept "
        f"{len(kept) + len(kept_tests)} changed files"
        + ("" if deleted_modules or deleted_tests or rewritten or kept else " (nothing to do)")
    )
    if rewritten:
        # Only the module names changed, so import blocks may be out of order or too long.
        print(f"{PREFIX} re-sort and re-wrap them: ruff check --fix src tests && ruff format")
    return 0


# --- inputs -------------------------------------------------------------------------------


def read_answers(path: Path) -> dict[str, str]:
    """The answers the shipped files were rendered with; ``package_name`` is required."""
    fix = f"restore it from git (`git checkout HEAD -- {path}`) and run the update again"
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MigrationError(f"{path} not found in {Path.cwd()}: {fix}") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise MigrationError(f"{path} is unreadable ({error}): {fix}") from None
    if not isinstance(answers, dict):
        raise MigrationError(f"{path} is not a mapping of answers: {fix}")
    package = answers.get("package_name")
    if not isinstance(package, str) or not PACKAGE_NAME.fullmatch(package):
        raise MigrationError(f"{path}: package_name {package!r} is not a package name: {fix}")
    return {key: str(value) for key, value in answers.items() if isinstance(key, str)}


def decode(text: str) -> str:
    """A test template as known_hashes.py stored it (zlib + base64)."""
    return zlib.decompress(base64.b64decode(text, validate=True)).decode("utf-8")


def read_known(path: Path) -> dict:
    """The shipped versions (runtime_split_known.json, next to this script)."""
    try:
        known = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(known["modules"], dict) and isinstance(known["test_templates"], dict):
            known["test_templates"] = {
                name: [decode(text) for text in texts]
                for name, texts in known["test_templates"].items()
            }
            return known
    except (OSError, ValueError, KeyError, TypeError, binascii.Error, zlib.error):
        pass
    raise MigrationError(
        f"{path} is missing or damaged: the template is incomplete; regenerate it with "
        "`python migrations/known_hashes.py` in the template repository"
    )


# --- deleting shipped copies --------------------------------------------------------------


def module_path(package: str, module: str) -> Path:
    return Path("src", package, f"{module}.py")


def remove_shipped_modules(
    package: str, hashes: dict[str, list[str]]
) -> tuple[list[str], set[str]]:
    """Delete unchanged machinery modules; return (deleted, kept because changed)."""
    deleted, kept = [], set()
    for module, shipped in hashes.items():
        path = module_path(package, module)
        data = read_bytes(path)
        if data is None:
            continue  # already gone: migrated before, deleted by the team, or generated after
        if hashlib.sha256(data).hexdigest() in shipped:
            path.unlink()
            deleted.append(module)
            print(f"{PREFIX} deleted {path.as_posix()}: crisp_ml.runtime.{module} provides it")
        else:
            kept.add(module)
            print(
                f"{PREFIX} kept {path.as_posix()}: your team changed it, and "
                f"crisp_ml.runtime.{module} now provides it; to finish, diff it against "
                f'crisp_ml.runtime.{module} (`python -c "import crisp_ml.runtime.{module} as m; '
                f'print(m.__file__)"`), move your changes into a module of your own, '
                "then delete it"
            )
    return deleted, kept


def remove_shipped_tests(
    package: str, answers: dict[str, str], known: dict, kept_modules: set[str]
) -> tuple[list[str], list[str]]:
    """Delete unchanged shipped tests of deleted modules; return (deleted, kept because changed)."""
    deleted, kept = [], []
    for name, templates in known["test_templates"].items():
        module = name.removeprefix("test_").removesuffix(".py")
        path = Path("tests", name)
        data = read_bytes(path)
        if data is None or module in kept_modules:
            continue  # gone, or it still tests the team's kept copy of the module
        if any(render(template, answers) == data for template in templates):
            path.unlink()
            deleted.append(name)
            print(f"{PREFIX} deleted {path.as_posix()}: crisp-ml tests crisp_ml.runtime.{module}")
        else:
            kept.append(name)
            print(
                f"{PREFIX} kept {path.as_posix()}: your team changed it; it now tests "
                f"crisp_ml.runtime.{module} (imports rewritten); keep what is yours, delete "
                "the rest"
            )
    return deleted, kept


def render(template: str, answers: dict[str, str]) -> bytes | None:
    """The test file Copier rendered from ``template``; None if an answer is missing."""
    names = {match.group(1) for match in ANSWER_PLACEHOLDER.finditer(template)}
    if not names <= answers.keys():
        return None
    return ANSWER_PLACEHOLDER.sub(lambda m: answers[m.group(1)], template).encode("utf-8")


def read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None


# --- rewriting imports --------------------------------------------------------------------


def team_python_files(package: str) -> Iterator[Path]:
    for folder in (Path("src", package), Path("tests")):
        if folder.is_dir():
            yield from sorted(p for p in folder.rglob("*.py") if p.is_file() and not p.is_symlink())


def rewrite_imports(path: Path, package: str, gone: set[str]) -> bool:
    """Point import lines of moved, deleted modules at crisp_ml.runtime; True if changed."""
    if not gone:
        return False
    try:
        text = path.read_bytes().decode("utf-8")  # bytes in, bytes out: line endings stay
    except (OSError, UnicodeDecodeError):
        return False
    # A relative import names the package's top level only with as many dots as the file is
    # deep in it plus one: `.gate` in src/<package>/x.py, `..gate` in src/<package>/sub/x.py.
    # Tests are outside the package: only the absolute form applies there.
    parts = path.parts
    depth = len(parts) - 3 if parts[:2] == ("src", package) else None
    modules = "|".join(sorted(map(re.escape, gone)))
    dots = re.escape("." * (depth + 1)) + "|" if depth is not None else ""
    pattern = re.compile(
        rf"^([ \t]*from[ \t]+)(?:{dots}{re.escape(package)}\.)({modules})([ \t]+import\b)",
        re.MULTILINE,
    )
    updated = pattern.sub(r"\1crisp_ml.runtime.\2\3", text)
    if updated == text:
        return False
    path.write_bytes(updated.encode("utf-8"))
    print(f"{PREFIX} {path.as_posix()}: imports now name crisp_ml.runtime")
    return True


if __name__ == "__main__":
    sys.exit(main())
