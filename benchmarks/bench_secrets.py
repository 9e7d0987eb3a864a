"""How well crisp-lint's secret rules find planted secrets, and how often they cry wolf.

    python benchmarks/bench_secrets.py [--packages mlflow dvc sklearn] [--show]

Planted: every case of tests/lint/secrets_corpus.py, written into one git repository and
linted by the secret rules (GEN012-GEN014, GEN020-GEN024); a case is found when its rule
reports its file, and no finding may print the secret.

Clean: real files that hold no secret, each finding on them a false positive:
a) a project freshly generated from this checkout's template (crisp-lint's rules);
b) this repository's tracked files (crisp-lint's rules);
c) the installed source of a few libraries (read only; the scanner on each text file,
   as crisp-lint would scan it were it tracked).
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests" / "lint"))

import secrets_corpus  # noqa: E402

import crisp_lint.checks  # noqa: E402, F401 - registers the rules
from crisp_lint.checks.secrets import SCAN_MAX_BYTES, _strongest_per_line, scan_text  # noqa: E402
from crisp_lint.model import REGISTRY  # noqa: E402
from crisp_lint.repo import RepoView  # noqa: E402

SECRET_RULES = ("GEN012", "GEN013", "GEN014", "GEN020", "GEN021", "GEN022", "GEN023", "GEN024")
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]


def findings(root: Path) -> list[tuple[str, str, int | None, str]]:
    """(code, path, line, message) of the secret rules on the repository at ``root``."""
    view = RepoView(root)
    return [
        (code, problem.path, problem.line, problem.message)
        for code in SECRET_RULES
        for problem in REGISTRY[code].check(view)
    ]


def planted(work: Path) -> tuple[int, int, list[str]]:
    """(found, total, problems) for the planted corpus."""
    root = work / "planted"
    for rel, text in secrets_corpus.files().items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    subprocess.run([*GIT, "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-f", "."], cwd=root, check=True)
    found = findings(root)
    reported = {(code, path) for code, path, _, _ in found}
    problems = [
        f"missed {case.name}: {case.code} in {case.path}"
        for case in secrets_corpus.PLANTED
        if (case.code, case.path) not in reported
    ]
    for case in secrets_corpus.PLANTED:
        for _, path, _, message in found:
            if case.secret and case.secret in message:
                problems.append(f"{path}: a finding prints the secret of {case.name}")
    total = len(secrets_corpus.PLANTED)
    missed = sum(1 for p in problems if p.startswith("missed"))
    return total - missed, total, problems


def generated_project(work: Path) -> Path:
    from lint_helpers import render_project

    return render_project(work / "generated")


def tracked_count(root: Path) -> int:
    view = RepoView(root)
    return sum(1 for rel in view.files() if view.is_tracked_by_git(rel))


def library_files(names: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            print(f"  {name}: not installed, skipped")
            continue
        for folder in spec.submodule_search_locations:
            files.extend(p for p in sorted(Path(folder).rglob("*")) if p.is_file())
    return files


def scan_library(files: list[Path]) -> tuple[int, list[str]]:
    """(text files scanned, findings) over library source read from disk."""
    scanned, found = 0, []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(data) > SCAN_MAX_BYTES or b"\0" in data[:8192]:
            continue
        scanned += 1
        text = data.decode("utf-8", "replace")
        rel = path.as_posix()
        for hit in _strongest_per_line(scan_text(rel, text)):
            found.append(f"{rel}:{hit.line}: {hit.code} {hit.message}")
    return scanned, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", nargs="*", default=["mlflow", "dvc", "sklearn"])
    parser.add_argument("--show", action="store_true", help="print every false positive")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        start = time.perf_counter()
        found, total, problems = planted(work)
        print(f"planted: {found}/{total} found ({time.perf_counter() - start:.2f} s)")
        for problem in problems:
            print(f"  {problem}")

        clean_files = clean_fp = 0
        for label, root in (
            ("generated project", generated_project(work)),
            ("this repository", REPO_ROOT),
        ):
            start = time.perf_counter()
            hits = findings(root)
            count = tracked_count(root)
            elapsed = time.perf_counter() - start
            clean_files += count
            clean_fp += len(hits)
            print(f"clean, {label}: {len(hits)} false positives on {count} files ({elapsed:.2f} s)")
            for code, path, line, message in hits:
                print(f"  {path}:{line}: {code} {message}")
        start = time.perf_counter()
        scanned, hits = scan_library(library_files(args.packages))
        elapsed = time.perf_counter() - start
        clean_files += scanned
        clean_fp += len(hits)
        names = ", ".join(args.packages)
        print(
            f"clean, installed {names}: {len(hits)} false positives on {scanned} files"
            f" ({elapsed:.2f} s)"
        )
        for hit in hits if args.show else hits[:20]:
            print(f"  {hit}")
        print(f"total clean: {clean_fp} false positives on {clean_files} files")
    return 0 if found == total and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
