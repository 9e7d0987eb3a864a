"""`make tags`: the workflow's raw / dataset tags on committed data versions."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from crisp_ml.runtime.tags import TagError, explain_push_error, next_tag, push_data, tag_data

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


# A failed push says why ---------------------------------------------------------------

# What DVC 3 printed for `dvc push` to an S3 remote: a server answering 403, no server at
# the endpoint, and no credentials anywhere (captured from real runs).
DVC_OUTPUT = Path(__file__).parent / "fixtures" / "dvc"


@pytest.mark.parametrize(
    ("captured", "cause", "fix"),
    [
        ("s3-forbidden.txt", "refused the credentials", "dvc remote modify --local s3r"),
        ("s3-no-credentials.txt", "no credentials for the DVC remote", "AWS_ACCESS_KEY_ID"),
        ("s3-endpoint-unreachable.txt", "cannot reach the endpoint", "endpointurl"),
    ],
)
def test_dvcs_bare_s3_errors_are_explained_with_their_fix(
    captured: str, cause: str, fix: str
) -> None:
    explained = explain_push_error((DVC_OUTPUT / captured).read_text(encoding="utf-8"), "s3r")
    assert explained is not None and cause in explained and fix in explained


def test_an_unknown_push_error_is_left_as_dvc_said_it() -> None:
    assert explain_push_error("ERROR: failed to push data to the cloud - disk full", "r") is None


@pytest.fixture
def forbidding_s3() -> Iterator[str]:
    """An S3 stand-in that answers every request 403 InvalidAccessKeyId, as S3 does."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            body = b"<Error><Code>InvalidAccessKeyId</Code><Message>no such key</Message></Error>"
            self.send_response(403)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_HEAD = answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_a_real_push_refused_by_s3_names_the_credentials_fix(
    repo: Path, forbidding_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "wrong")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    dvc = [sys.executable, "-m", "dvc"]
    for args in (
        ["init", "--quiet"],
        ["remote", "add", "--default", "team", "s3://bucket/data"],
        ["remote", "modify", "team", "endpointurl", forbidding_s3],
    ):
        subprocess.run([*dvc, *args], cwd=repo, check=True, timeout=60, capture_output=True)
    (repo / "data.txt").write_text("rows\n")
    subprocess.run([*dvc, "add", "data.txt"], cwd=repo, check=True, timeout=60, capture_output=True)
    with pytest.raises(TagError) as refused:
        push_data(repo, [], tagged=False)
    message = str(refused.value)
    assert "Forbidden" in message  # DVC's own words first
    assert "refused the credentials" in message and "dvc remote modify --local team" in message
    assert "wrong-secret" not in message
