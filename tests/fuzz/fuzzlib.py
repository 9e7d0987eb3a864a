"""Hostile content for every file crisp-lint parses, and the harness that runs one case."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

from hypothesis import strategies as st

BUDGET_SECONDS = 2.0
CASES: list[tuple[str, float]] = []  # (target, wall seconds) of every case run

# What a hostile or careless user puts in YAML: aliases, bombs, recursion, tags, odd scalars.
YAML_FRAGMENTS = [
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    "a: &a\n  b: *a\n",
    "&a [*a]\n",
    "!!python/object/apply:os.system ['true']\n",
    "x: !!binary 'not base64'\n",
    "x: !!timestamp 2026-13-45\n",
    "x: " + "9" * 5000 + "\n",
    "? [a, b]\n: 1\n",
    "stages: [1, 2]\n",
    "stages:\n  s:\n    cmd: [1, {a: b}]\n    deps: {x: y}\n    outs: [{a: {cache: 1}}, 3]\n",
    "stages:\n  s:\n    wdir: ../../..\n    outs: [../../etc/passwd]\n",
    "stages:\n  a: {cmd: x, deps: [b.csv], outs: [a.csv]}\n"
    "  b: {cmd: y, deps: [a.csv], outs: [b.csv]}\n",
    "\ufeff\x00\x01",
    "- " * 300 + "x\n",
    "[" * 999 + "]" * 999 + "\n",
    "%YAML 1.1\n---\na: 1\n---\nb: 2\n",
    "<<: [*undefined]\n",
    "a: 1\r\nb: \u2028c: 2\n",
]
JSON_FRAGMENTS = [
    "[" * 3000 + "]" * 3000,
    '{"a": NaN, "b": Infinity, "c": -Infinity}',
    '{"metric": 1e999, "git_state": ["dirty"]}',
    '{"a": "\\ud800"}',
    "{" + ", ".join(f'"k{i}": {i}' for i in range(2000)) + "}",
    '{"cells": [{"outputs": [1], "execution_count": "x"}, 5, null]}',
]
TOML_FRAGMENTS = [
    "a = " + "[" * 600 + "]" * 600 + "\n",
    '[tool.crisp-lint]\nphase = "nowhere"\n',
    "[tool.crisp-lint]\nselect = []\n",
    '[tool.crisp-lint]\nignore = [{code = "ALL", reason = ""}]\n',
    "[tool.crisp-lint]\ntime-budget = -1\n",
    '[tool.crisp-lint]\nexclude = ["**", "[", "\\u0000"]\n',
    "[tool]\ncrisp-lint = 3\n",
    "x = 1979-05-27T07:32:00Z\ny = 1e400\n",
]
MARKDOWN_FRAGMENTS = [
    "| Step | Item | Status | Evidence | Signed | Date | Notes |\n|---|---|---|---|---|---|---|\n"
    "| 1.1 | x | done | ../../../../etc/passwd | a | 2026-01-01 | |\n",
    "| 1.1 | x | done | /dev/zero, \x00, ://x | | | |\n",
    "|" * 5000 + "\n",
    "| " + " | ".join(["done"] * 500) + " |\n",
    "\n".join(f"| 1.{i} | x | open | | | | |" for i in range(2000)),
]
INI_FRAGMENTS = [
    "[core]\nremote = x\n['remote \"x\"']\nurl = s3://a:b/c@d/e\n",
    "[" * 1000 + "\n",
    '[remote "a"]\npassword = hunter2\n    continued\n\tmore\n',
    "=\n==\n[]\n",
]


def text_for(kind: str) -> st.SearchStrategy[str]:
    """Arbitrary text, hostile fragments of that kind, and mixtures of the two."""
    fragments = {
        "yaml": YAML_FRAGMENTS,
        "json": JSON_FRAGMENTS,
        "toml": TOML_FRAGMENTS,
        "markdown": MARKDOWN_FRAGMENTS,
        "ini": INI_FRAGMENTS,
    }[kind]
    fragment = st.sampled_from(fragments)
    noise = st.text(max_size=300)
    return st.one_of(
        fragment,
        noise,
        st.builds(lambda a, b: a + b, fragment, noise),
        st.builds(lambda a, b: a + "\n" + b, noise, fragment),
        st.lists(fragment, min_size=2, max_size=4).map("\n".join),
    )


def run_lint(root: Path, target: str, *args: str) -> tuple[int, str]:
    """crisp-lint in-process (its real ``run``) with the per-case wall-clock budget."""
    from crisp_lint.cli import run

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(["--output-format", "json", *args, str(root)])
    elapsed = time.perf_counter() - start
    CASES.append((target, elapsed))
    assert code in (0, 1, 2), (code, err.getvalue())
    assert elapsed < BUDGET_SECONDS, f"{target}: {elapsed:.2f} s"
    assert "Traceback" not in err.getvalue()
    if code != 2:
        report = json.loads(out.getvalue())
        assert not any(f["code"] == "GEN003" for f in report["findings"]), report["findings"]
    return code, err.getvalue()


def record(target: str, seconds: float) -> None:
    CASES.append((target, seconds))
