"""What one run learns about unchanged files, the next reuses (crisp_lint.cache); a changed
file is read again, and a cache that cannot be used costs only the work it would save."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lint_helpers import RepoMaker, git

import crisp_lint.cache as cache_module
from crisp_lint.cache import ENV_OFF, open_cache
from crisp_lint.cli import run

# A token of a known format (GEN020), split so that this file holds none.
LEAKED = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PROJECT = {
    "pyproject.toml": '[tool.crisp-lint]\nselect = ["GEN"]\n',
    "params.yaml": "seed: 1\n",
    "notes.md": "# Notes\n\nNothing secret here.\n",
}


@pytest.fixture(autouse=True)
def no_racy_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by a test are milliseconds old; the window has its own test."""
    monkeypatch.setattr(cache_module, "RACY_NS", 0)
    monkeypatch.delenv(ENV_OFF, raising=False)


def lint(root: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    out = root.parent / "findings.json"
    code = run([str(root), "--output-format", "json", "--output-file", str(out), *args])
    return code, json.loads(out.read_text())["findings"]


def codes(findings: list[dict[str, object]]) -> list[str]:
    return sorted(str(f["code"]) for f in findings)


def edit(path: Path, text: str) -> None:
    """Rewrite ``path`` with a later modification time, as an editor saving it does (a
    test is quicker than the file system's clock tick)."""
    before = path.stat().st_mtime_ns
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_a_second_run_reports_the_same_from_the_cache(make_repo: RepoMaker) -> None:
    root = make_repo(PROJECT, commit=True)
    first = lint(root)
    cache = open_cache(root)
    assert cache.path == root / ".git" / "crisp-lint" / "cache"
    assert {"notes.md", "params.yaml", "pyproject.toml"} <= cache.keys("secrets")
    assert "params.yaml" in cache.keys("yaml")
    assert lint(root) == first


def test_a_secret_written_into_a_scanned_file_is_found(make_repo: RepoMaker) -> None:
    root = make_repo(PROJECT, commit=True)
    assert "GEN020" not in codes(lint(root)[1])
    edit(root / "notes.md", f"# Notes\n\ntoken {LEAKED}\n")
    assert "GEN020" in codes(lint(root)[1])


def test_an_edited_setting_is_read_again(make_repo: RepoMaker) -> None:
    root = make_repo(PROJECT, commit=True)
    assert lint(root)[0] != 2
    edit(root / "pyproject.toml", '[tool.crisp-lint]\nselect = ["NOPE"]\n')
    assert lint(root)[0] == 2  # the new, unknown selector is a configuration error


def test_a_file_changed_within_the_racy_window_is_not_kept(
    make_repo: RepoMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "RACY_NS", 3_000_000_000)
    root = make_repo(PROJECT, commit=True)
    old = time.time_ns() - 60 * 10**9
    os.utime(root / "params.yaml", ns=(old, old))  # ctime stays now: still too recent
    lint(root)
    assert "params.yaml" not in open_cache(root).keys("secrets")


def test_a_deleted_file_leaves_the_cache(make_repo: RepoMaker) -> None:
    root = make_repo(PROJECT, commit=True)
    lint(root)
    git(root, "rm", "-q", "notes.md")
    lint(root)
    assert "notes.md" not in open_cache(root).keys("secrets")


def test_a_corrupt_cache_is_ignored_and_replaced(make_repo: RepoMaker) -> None:
    root = make_repo({**PROJECT, "notes.md": f"token {LEAKED}\n"}, commit=True)
    first = lint(root)
    cache_file = root / ".git" / "crisp-lint" / "cache"
    for garbage in (b"", b"\x00\xff not marshal", cache_file.read_bytes()[:40]):
        cache_file.write_bytes(garbage)
        assert lint(root) == first
    assert "notes.md" in open_cache(root).keys("secrets")


def test_a_cache_that_cannot_be_written_costs_only_the_work(make_repo: RepoMaker) -> None:
    root = make_repo(PROJECT, commit=True)
    (root / ".git" / "crisp-lint").write_text("a file where the cache folder would go\n")
    first = lint(root)
    assert lint(root) == first
    assert (root / ".git" / "crisp-lint").read_text().startswith("a file")


def test_no_cache_keeps_nothing(make_repo: RepoMaker, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(PROJECT, commit=True)
    lint(root, "--no-cache")
    assert not (root / ".git" / "crisp-lint").exists()
    monkeypatch.setenv(ENV_OFF, "1")
    lint(root)
    assert not (root / ".git" / "crisp-lint").exists()
    assert not open_cache(root).enabled


def test_outside_a_git_work_tree_there_is_no_cache(make_repo: RepoMaker) -> None:
    root = make_repo(PROJECT)
    lint(root)
    assert not open_cache(root).enabled
    assert sorted(p.name for p in root.iterdir()) == sorted(PROJECT)  # nothing written


def test_a_worktree_keeps_its_cache_in_its_own_git_folder(make_repo: RepoMaker) -> None:
    root = make_repo(PROJECT, commit=True)
    worktree = root.parent / "worktree"
    git(root, "worktree", "add", "-q", str(worktree))
    lint(worktree)
    cache = open_cache(worktree)
    assert cache.path is not None and cache.path.parent.parent.parent.name == "worktrees"
    assert "notes.md" in cache.keys("secrets")
    assert not (worktree / "crisp-lint").exists()


def test_a_project_in_a_subfolder_has_a_cache_of_its_own(make_repo: RepoMaker) -> None:
    root = make_repo({**{f"app/{k}": v for k, v in PROJECT.items()}}, commit=True)
    lint(root / "app")
    cache = open_cache(root / "app")
    assert cache.path is not None and cache.path.name.startswith("cache-")
    assert "params.yaml" in cache.keys("yaml")


PROBE = """
import contextlib, io, sys
import crisp_lint.cache
crisp_lint.cache.RACY_NS = 0
from crisp_lint.cli import run
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = run([sys.argv[1]])
print(repr({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""  # repr, not json: the probe must not import what it looks for
# What a run whose every input is cached has no need for.
PARSERS_AND_SPAWNING = ("yaml", "tomllib", "json", "subprocess", "threading")


@pytest.mark.slow
def test_a_warm_run_on_a_generated_project_imports_no_parser(
    generated_project: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(generated_project, project, symlinks=True)

    def probe() -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(project)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return ast.literal_eval(done.stdout)

    cold, warm = probe(), probe()
    assert (warm["code"], warm["out"]) == (cold["code"], cold["out"])
    loaded = {str(name).partition(".")[0] for name in warm["modules"]}  # type: ignore[attr-defined]
    assert sorted(loaded.intersection(PARSERS_AND_SPAWNING)) == []
    assert "yaml" in {str(n).partition(".")[0] for n in cold["modules"]}  # type: ignore[attr-defined]


def test_in_process_runs_print_the_same_with_and_without_the_cache(
    make_repo: RepoMaker,
) -> None:
    root = make_repo({**PROJECT, "notes.md": f"token {LEAKED}\n"}, commit=True)
    outputs = []
    for args in ((), (), ("--no-cache",)):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            run([str(root), *args])
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] == outputs[2]
    assert "GEN020" in outputs[0]


def test_a_value_changed_in_memory_is_not_what_the_next_run_reads(
    make_repo: RepoMaker,
) -> None:
    root = make_repo(PROJECT, commit=True)
    cache = open_cache(root)
    sig = cache_module.signature(root / "params.yaml")
    value = {"seed": 1}
    cache.put("yaml", "params.yaml", sig, value)
    value["seed"] = 2  # a rule that edits the parsed document it was given
    cache.save()
    assert open_cache(root).get("yaml", "params.yaml", sig) == {"seed": 1}
