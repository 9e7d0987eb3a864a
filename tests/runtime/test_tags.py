"""`make tags`: the workflow's raw / dataset tags on committed data versions."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from crisp_ml.runtime.tags import TagError, next_tag, tag_data

LOCK = """\
schema: '2.0'
stages:
  ingest:
    outs:
    - path: data/raw
      md5: 1111.dir
  prepare:
    outs:
    - path: data/prepared
      md5: 2222.dir
"""


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, timeout=30, check=True
    )
    return result.stdout


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in (("GIT_COMMITTER_NAME", "Test"), ("GIT_COMMITTER_EMAIL", "t@example.com")):
        monkeypatch.setenv(name, value)
    git(tmp_path, "init", "--quiet")
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    git(tmp_path, "add", "dvc.yaml")
    git(tmp_path, "commit", "--quiet", "-m", "start")
    return tmp_path


def test_versions_are_numbered_and_never_tagged_twice() -> None:
    assert next_tag("raw", {}, "aaa.dir") == ("raw-v1", True)
    tags = {"raw-v1": "data/raw aaa.dir (stage ingest)", "raw-v2": "data/raw bbb.dir (ingest)"}
    assert next_tag("raw", tags, "aaa.dir") == ("raw-v1", False)
    assert next_tag("raw", tags, "ccc.dir") == ("raw-v3", True)


def test_data_not_committed_to_dvc_is_refused(repo: Path) -> None:
    with pytest.raises(TagError, match="not committed to DVC yet"):
        tag_data(repo, push=False)
    (repo / "dvc.lock").write_text(LOCK)
    with pytest.raises(TagError, match=r"dvc\.lock is not committed"):
        tag_data(repo, push=False)


def test_committed_data_versions_are_tagged_once(repo: Path) -> None:
    (repo / "dvc.lock").write_text(LOCK)
    git(repo, "add", "dvc.lock")
    git(repo, "commit", "--quiet", "-m", "data")
    assert tag_data(repo, push=False) == [
        "tagged data/raw (1111.dir) as raw-v1",
        "tagged data/prepared (2222.dir) as dataset-v1",
    ]
    assert tag_data(repo, push=False)[0] == "data/raw (1111.dir) is already tagged raw-v1"
    assert git(repo, "tag", "--list").split() == ["dataset-v1", "raw-v1"]

    (repo / "dvc.lock").write_text(LOCK.replace("2222", "3333"))
    with pytest.raises(TagError, match="uncommitted changes"):
        tag_data(repo, push=False)
    git(repo, "commit", "--quiet", "-am", "new dataset")
    assert tag_data(repo, push=False)[1] == "tagged data/prepared (3333.dir) as dataset-v2"
