"""Bad input is a finding, never a crash: whatever bytes land in a file crisp-lint reads,
the run finishes, its JSON parses, and only a broken config file is a usage error."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crisp_lint.cli import run

# Every artefact a rule parses, beside those the template generates (the gate and a
# notebook come from running the pipeline and from the team).
EXTRA_ARTEFACTS = {
    "reports/evaluation/gate.json": '{"decision": "go", "metric": "f1_macro", "value": 0.97}\n',
    "reports/evaluation/metrics.json": '{"f1_macro": 0.97}\n',
    "notebooks/explore.ipynb": json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    ),
    "dvc.lock": "schema: '2.0'\nstages: {}\n",
}
PARSED_SUFFIXES = (".yaml", ".yml", ".toml", ".json", ".ipynb", ".lock", ".md", ".cfg")
CONFIG_FILE = "pyproject.toml"


@pytest.fixture(scope="module")
def project(generated_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the generated project, with the artefacts a pipeline run adds."""
    root = tmp_path_factory.mktemp("fuzzed") / "project"
    shutil.copytree(generated_project, root, symlinks=True)
    for rel, text in EXTRA_ARTEFACTS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def artefacts(root: Path) -> list[str]:
    paths = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.parts and p.suffix in PARSED_SUFFIXES
    ]
    return sorted([*paths, ".dvc/config", ".gitignore", ".dvcignore"])


def lint_json(root: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run([str(root), "--output-format", "json", "--all-phases", "--strict"])
    return code, out.getvalue(), err.getvalue()


garbage = st.one_of(
    st.binary(max_size=2048),
    st.text(max_size=512).map(str.encode),
    # Near misses: structured text with one character broken or a type changed.
    st.sampled_from(
        [
            b"stages:\n  a: [\n",
            b'{"decision": ',
            b"metric: [1, 2]\ntarget: high\n",
            b"| ID | Step |\n|--|\n| 1.1 | x | done |\n",
            b"- 1\n- 2\n",
            b"null\n",
            b"42\n",
            b"\xef\xbb\xbf[tool]\n",
            b"a: &x [*x]\n",
            b"\x00" * 64,
            b"[" * 5000,
            b"{" * 5000,
            b"a = " + b"[" * 100_000,
            b"key: value\n" * 400_000,  # over the 5 MB limit
        ]
    ),
)


def test_the_unfuzzed_project_runs_cleanly(project: Path) -> None:
    code, out, err = lint_json(project)
    assert (code, err) == (1, "")  # strict: the open first-phase items fail
    assert {f["code"] for f in json.loads(out)["findings"]}.isdisjoint({"GEN001", "GEN002"})


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), content=garbage)
def test_random_bytes_in_any_artefact_never_crash_the_run(
    project: Path, data: st.DataObject, content: bytes
) -> None:
    rel = data.draw(st.sampled_from(artefacts(project)), label="artefact")
    path = project / rel
    original = path.read_bytes()
    path.write_bytes(content)
    try:
        code, out, err = lint_json(project)
    finally:
        path.write_bytes(original)
    if rel == CONFIG_FILE and code == 2:
        assert err.startswith("crisp-lint: error: ") and "pyproject.toml" in err
        return
    assert code in (0, 1), err
    findings = json.loads(out)["findings"]
    crashed = [f["message"] for f in findings if f["code"] == "GEN003"]
    assert crashed == [], f"a rule crashed on {rel}"


def test_a_broken_symlink_a_binary_checklist_and_bad_yaml_are_findings(project: Path) -> None:
    broken = {
        "phases/01-business-understanding/CHECKLIST.md": b"\x00\x01binary",
        "dvc.yaml": b"stages:\n  ingest: [\n",
    }
    saved = {rel: (project / rel).read_bytes() for rel in [*broken, "params.yaml"]}
    for rel, content in broken.items():
        (project / rel).write_bytes(content)
    (project / "params.yaml").unlink()
    (project / "params.yaml").symlink_to("no-such-params.yaml")
    try:
        code, out, _ = lint_json(project)
    finally:
        (project / "params.yaml").unlink()
        for rel, content in saved.items():
            (project / rel).write_bytes(content)
    found = {(f["code"], f["path"], f["line"], f["message"]) for f in json.loads(out)["findings"]}
    assert ("GEN001", "params.yaml", None, "broken symbolic link to `no-such-params.yaml`") in found
    assert (
        "GEN001",
        "phases/01-business-understanding/CHECKLIST.md",
        None,
        "is binary where text is expected",
    ) in found
    [yaml_error] = [f for f in found if f[:3] == ("GEN002", "dvc.yaml", 3)]
    assert yaml_error[3].startswith("invalid YAML: ")
    assert code == 1
