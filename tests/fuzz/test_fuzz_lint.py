"""Every file crisp-lint parses, fed hostile content: each case ends within 2 s with exit 0,
1 or 2, no traceback and no rule crash (GEN003). The cases run crisp-lint's real command
line in-process; a handful also run it as a subprocess, as pre-commit does."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fuzzlib import BUDGET_SECONDS, record, run_lint, text_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

TARGETS = {
    "pyproject.toml": "toml",
    "params.yaml": "yaml",
    "dvc.yaml": "yaml",
    "dvc.lock": "yaml",
    ".dvc/config": "ini",
    ".copier-answers.yml": "yaml",
    "phases/01-business-understanding/success-criteria.yaml": "yaml",
    "phases/03-data-understanding/data-catalog.yaml": "yaml",
    "phases/01-business-understanding/CHECKLIST.md": "markdown",
    "phases/05-modelling/CHECKLIST.md": "markdown",
    "reports/train/run.json": "json",
    "reports/evaluation/metrics.json": "json",
    "data/raw.dvc": "yaml",
}
FUZZ = settings(
    max_examples=int(os.environ.get("CRISP_FUZZ_EXAMPLES", "25")),
    deadline=None,  # the 2 s budget is asserted per case, with a clear message
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def _restore(root: Path, rel: str, original: bytes | None) -> None:
    path = root / rel
    if original is None:
        path.unlink(missing_ok=True)
    else:
        path.write_bytes(original)


@pytest.mark.parametrize("rel", sorted(TARGETS))
def test_hostile_content_in_every_parsed_file(fuzz_root: Path, rel: str) -> None:
    path = fuzz_root / rel
    original = path.read_bytes() if path.exists() else None

    @FUZZ
    @given(text=text_for(TARGETS[rel]), as_bytes=st.booleans())
    def case(text: str, as_bytes: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8", "surrogatepass")
        if as_bytes:
            data = data[: len(data) // 2] + b"\xff\xfe" + data[len(data) // 2 :]
        path.write_bytes(data)
        try:
            run_lint(fuzz_root, rel, "--all-phases")
        finally:
            _restore(fuzz_root, rel, original)

    case()


@pytest.mark.parametrize(
    "args",
    [
        ["--select", "ALL"],
        ["--ignore", "ALL"],
        ["--phase", "nowhere"],
        ["--select", "XX999"],
        ["--time-budget", "nan"],
        ["--time-budget", "0.000001"],
        ["--strict", "--all-phases", "--with", "git-history"],
        ["--statistics", "--output-format", "sarif"],
    ],
)
def test_hostile_command_lines(fuzz_root: Path, args: list[str]) -> None:
    try:
        run_lint(fuzz_root, "command line", *args)
    except SystemExit as exit:  # argparse refuses bad options with exit 2
        assert exit.code == 2


@pytest.mark.parametrize(
    "rel", ["params.yaml", ".copier-answers.yml", "pyproject.toml", ".gitignore", "dvc.yaml"]
)
def test_special_files_where_files_are_read(fuzz_root: Path, rel: str) -> None:
    """A FIFO (never written to) where a file belongs: nothing may wait for it."""
    path = fuzz_root / rel
    original = path.read_bytes() if path.exists() else None
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    try:
        run_lint(fuzz_root, f"fifo {rel}")
    finally:
        path.unlink()
        _restore(fuzz_root, rel, original)


SUBPROCESS_CASES = {
    "params.yaml": text_for("yaml"),
    "dvc.yaml": text_for("yaml"),
    "pyproject.toml": text_for("toml"),
}


@pytest.mark.parametrize("rel", sorted(SUBPROCESS_CASES))
def test_hostile_content_through_a_real_process(fuzz_root: Path, rel: str) -> None:
    """A handful of cases as pre-commit runs crisp-lint: a process, its exit code, stderr."""
    path = fuzz_root / rel
    original = path.read_bytes()
    binary = Path(sys.executable).parent / "crisp-lint"

    @settings(FUZZ, max_examples=4)
    @given(text=SUBPROCESS_CASES[rel])
    def case(text: str) -> None:
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        try:
            start = time.perf_counter()
            done = subprocess.run(
                [binary, str(fuzz_root)],
                capture_output=True,
                timeout=30,
                env={**os.environ, "PYTHONIOENCODING": "ascii"},
            )
            elapsed = time.perf_counter() - start
            record(f"process {rel}", elapsed)
            assert done.returncode in (0, 1, 2), done.stderr
            assert b"Traceback" not in done.stderr, done.stderr
            assert elapsed < BUDGET_SECONDS + 1  # interpreter start-up on a loaded machine
        finally:
            path.write_bytes(original)

    case()
