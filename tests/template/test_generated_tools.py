"""The generated project passes its own commit hooks and its CI gates promotion on evaluation.

pre-commit cannot clone hook repositories here (no network), so the configuration is
validated with pre-commit itself and each hook's tool runs directly on the generated tree:
ruff and ruff-format, and pre-commit-hooks' own entry points for large files, merge
conflict markers, private keys, YAML and final newlines. Every check is also shown to fail
on a file made to break it, so a passing run means something.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from template_rendering import Render

# Renders seven projects and runs ruff, pre-commit, check-jsonschema and the hooks' tools: ~15 s.
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL_TIMEOUT_SECONDS = 120
# A release tag (v1.2.3 or 1.2.3), not a branch: pre-commit and CI must be reproducible.
TAG = re.compile(r"^v?\d+\.\d+\.\d+$")
RUFF_PIN = re.compile(r"ruff==(\d+\.\d+\.\d+)")
CRISP_ML_PIN = re.compile(r"crisp-ml @ git\+https://github\.com/crisp-ml/crisp-ml@(v[\d.]+)")
GITHUB = {"ci_provider": "github", "include_example": True}
GITLAB = {"ci_provider": "gitlab", "include_example": True}
GITLAB_S3_SERVER = {
    "ci_provider": "gitlab",
    "dvc_remote": "s3",
    "dvc_remote_url": "s3://ml-data/churn",
    "mlflow_tracking": "server",
    "include_example": False,
}
CI_VARIANTS = {
    "github": GITHUB,
    "github-ssh-remote": {
        "ci_provider": "github",
        "dvc_remote": "ssh",
        "dvc_remote_url": "ssh://h/d",
    },
    "github-gcs-server-no-example": {
        "ci_provider": "github",
        "dvc_remote": "gcs",
        "mlflow_tracking": "server",
        "include_example": False,
    },
    "gitlab": GITLAB,
    "gitlab-s3-server-no-example": GITLAB_S3_SERVER,
}


@pytest.fixture(scope="module")
def projects(render: Render) -> dict[str, Path]:
    """Projects rendered once per answer set, on first use."""

    class Projects(dict[str, Path]):
        def __missing__(self, key: str) -> Path:
            self[key] = render(json.loads(key))
            return self[key]

    return Projects()


def project_for(projects: dict[str, Path], answers: dict[str, Any]) -> Path:
    return projects[json.dumps(answers, sort_keys=True)]


@pytest.fixture(scope="module")
def github_project(projects: dict[str, Path]) -> Path:
    return project_for(projects, GITHUB)


@pytest.fixture(scope="module")
def gitlab_project(projects: dict[str, Path]) -> Path:
    return project_for(projects, GITLAB)


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, check=False
    )


def pre_commit_config(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))


def hooks_by_id(project: Path) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Each hook id -> (its repo entry, its hook entry)."""
    return {
        hook["id"]: (repo, hook)
        for repo in pre_commit_config(project)["repos"]
        for hook in repo["hooks"]
    }


# The pre-commit configuration ----------------------------------------------------------------


def test_pre_commit_accepts_the_configuration(github_project: Path) -> None:
    result = run([sys.executable, "-m", "pre_commit", "validate-config"], github_project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_configuration_has_every_hook_the_issue_asks_for(github_project: Path) -> None:
    hooks = hooks_by_id(github_project)
    expected = {
        "ruff-check": "https://github.com/astral-sh/ruff-pre-commit",
        "ruff-format": "https://github.com/astral-sh/ruff-pre-commit",
        "check-added-large-files": "https://github.com/pre-commit/pre-commit-hooks",
        "check-merge-conflict": "https://github.com/pre-commit/pre-commit-hooks",
        "detect-private-key": "https://github.com/pre-commit/pre-commit-hooks",
        "crisp-lint": "https://github.com/crisp-ml/crisp-ml",
        "dvc-pre-commit": "https://github.com/iterative/dvc",
        "dvc-pre-push": "https://github.com/iterative/dvc",
        "dvc-post-checkout": "https://github.com/iterative/dvc",
    }
    assert {hook: hooks[hook][0]["repo"] for hook in expected if hook in hooks} == expected
    for repo, _ in hooks.values():
        assert TAG.match(repo["rev"]), f"{repo['repo']} is pinned to {repo['rev']!r}, not a tag"


def test_dvc_hooks_run_at_their_git_events_and_are_installed_for_them(
    github_project: Path,
) -> None:
    hooks = hooks_by_id(github_project)
    assert hooks["dvc-pre-commit"][1]["stages"] == ["pre-commit"]
    assert hooks["dvc-pre-push"][1]["stages"] == ["pre-push"]
    assert hooks["dvc-post-checkout"][1]["stages"] == ["post-checkout"]
    installed = pre_commit_config(github_project)["default_install_hook_types"]
    assert {"pre-commit", "pre-push", "post-checkout"} <= set(installed)


def test_the_dvc_push_hook_brings_the_remotes_driver(projects: dict[str, Path]) -> None:
    s3_hooks = hooks_by_id(project_for(projects, GITLAB_S3_SERVER))
    assert s3_hooks["dvc-pre-push"][1]["additional_dependencies"] == [".[s3]"]
    gcs_hooks = hooks_by_id(project_for(projects, CI_VARIANTS["github-gcs-server-no-example"]))
    assert gcs_hooks["dvc-pre-push"][1]["additional_dependencies"] == [".[gs]"]
    local_hooks = hooks_by_id(project_for(projects, GITHUB))
    assert "additional_dependencies" not in local_hooks["dvc-pre-push"][1]


def test_without_a_remote_git_push_is_not_blocked_by_dvc_push(render: Render) -> None:
    project = render({"dvc_remote": "none"})
    assert "dvc-pre-push" not in hooks_by_id(project)
    assert "dvc-pre-commit" in hooks_by_id(project)
    result = run([sys.executable, "-m", "pre_commit", "validate-config"], project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_crisp_lint_hook_exists_in_this_repository(github_project: Path) -> None:
    manifest = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert "crisp-lint" in {hook["id"] for hook in manifest}
    assert hooks_by_id(github_project)["crisp-lint"][0]["rev"] == "v" + project_version()


def project_version() -> str:
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["version"]


@pytest.mark.parametrize("answers", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_ci_uses_the_same_ruff_and_crisp_lint_as_the_hooks(
    projects: dict[str, Path], answers: dict[str, Any]
) -> None:
    project = project_for(projects, answers)
    hooks = hooks_by_id(project)
    ci_text = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [*project.glob(".github/workflows/*.yml"), *project.glob(".gitlab-ci.yml")]
    )
    assert set(RUFF_PIN.findall(ci_text)) == {hooks["ruff-check"][0]["rev"].lstrip("v")}
    assert set(CRISP_ML_PIN.findall(ci_text)) == {hooks["crisp-lint"][0]["rev"]}


def test_make_lint_uses_the_same_ruff_and_crisp_lint_as_the_hooks(github_project: Path) -> None:
    """`make setup` installs the dev extra: the same pins as the hooks, crisp-ml from git."""
    hooks = hooks_by_id(github_project)
    pyproject = tomllib.loads((github_project / "pyproject.toml").read_text(encoding="utf-8"))
    dev = "\n".join(pyproject["project"]["optional-dependencies"]["dev"])
    assert RUFF_PIN.findall(dev) == [hooks["ruff-check"][0]["rev"].lstrip("v")]
    assert CRISP_ML_PIN.findall(dev) == [hooks["crisp-lint"][0]["rev"]]
    assert pyproject["tool"]["hatch"]["metadata"]["allow-direct-references"] is True


# The hooks' tools, run for real on the generated tree ----------------------------------------


@pytest.fixture(scope="module")
def staged(github_project: Path) -> Iterator[list[str]]:
    """The generated files as a first commit would stage them (relative paths)."""
    if not (github_project / ".git").exists():
        assert run(["git", "init", "--quiet"], github_project).returncode == 0
        assert run(["git", "add", "--all"], github_project).returncode == 0
    listing = run(["git", "diff", "--cached", "--name-only", "-z"], github_project)
    yield [name for name in listing.stdout.split("\0") if name]


def test_ruff_finds_nothing_in_the_generated_project(github_project: Path) -> None:
    result = run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], github_project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_generated_project_is_ruff_formatted(github_project: Path) -> None:
    result = run(
        [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], github_project
    )
    assert result.returncode == 0, result.stdout + result.stderr


def hook_main(module: str, args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run a pre-commit-hooks entry point the way pre-commit would, from ``cwd``."""
    monkeypatch.chdir(cwd)
    entry = __import__(f"pre_commit_hooks.{module}", fromlist=["main"])
    return entry.main(args)


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("check_added_large_files", ["--maxkb=500"]),
        ("check_merge_conflict", ["--assume-in-merge"]),
        ("detect_private_key", []),
    ],
)
def test_the_hygiene_hooks_pass_on_the_generated_files(
    github_project: Path,
    staged: list[str],
    module: str,
    args: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert len(staged) > 50, "the generated project looks incomplete"
    assert hook_main(module, [*args, *staged], github_project, monkeypatch) == 0


def test_check_yaml_passes_on_every_generated_yaml_file(
    github_project: Path, staged: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    yaml_files = [name for name in staged if name.endswith((".yaml", ".yml"))]
    assert ".github/workflows/retrain.yml" in yaml_files
    assert hook_main("check_yaml", yaml_files, github_project, monkeypatch) == 0


def test_every_generated_text_file_ends_with_one_newline(
    github_project: Path, staged: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hook_main("end_of_file_fixer", staged, github_project, monkeypatch) == 0


@pytest.mark.parametrize(
    ("module", "args", "content"),
    [
        ("check_added_large_files", ["--maxkb=500"], b"x" * 501 * 1024),
        ("check_merge_conflict", ["--assume-in-merge"], b"a\n<<<<<<< HEAD\nb\n=======\nc\n"),
        ("detect_private_key", [], b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"),
        ("end_of_file_fixer", [], b"no final newline"),
    ],
)
def test_each_hygiene_hook_catches_what_it_is_for(
    tmp_path: Path,
    module: str,
    args: list[str],
    content: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(["git", "init", "--quiet"], tmp_path).returncode == 0
    (tmp_path / "offending.txt").write_bytes(content)
    assert run(["git", "add", "offending.txt"], tmp_path).returncode == 0
    assert hook_main(module, [*args, "offending.txt"], tmp_path, monkeypatch) == 1


# CI: the promotion depends on the evaluation gate ----------------------------------------------


def workflow(project: Path, name: str) -> dict[str, Any]:
    return yaml.safe_load((project / ".github" / "workflows" / name).read_text(encoding="utf-8"))


def test_github_ci_lints_tests_reproduces_and_uploads_crisp_lint_sarif(
    github_project: Path,
) -> None:
    ci = workflow(github_project, "ci.yml")
    assert set(ci["jobs"]) == {"lint", "test", "repro", "crisp-lint"}
    commands = "\n".join(
        step.get("run", "") for job in ci["jobs"].values() for step in job["steps"]
    )
    for command in ("ruff check", "ruff format --check", "pytest", "dvc repro", "crisp-lint"):
        assert command in commands
    uses = [step.get("uses", "") for step in ci["jobs"]["crisp-lint"]["steps"]]
    assert any(use.startswith("github/codeql-action/upload-sarif@") for use in uses)
    assert ci["jobs"]["crisp-lint"]["permissions"]["security-events"] == "write"
    assert ci["env"]["DVC_NO_ANALYTICS"] == "1"
    assert ci["concurrency"]["group"] == "ci-${{ github.ref }}", "a GitHub expression was eaten"


def test_github_retraining_promotes_only_after_the_gate_job(github_project: Path) -> None:
    retrain = workflow(github_project, "retrain.yml")
    triggers = retrain[True]  # YAML 1.1 reads the key `on` as True
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    jobs = retrain["jobs"]
    assert jobs["gate"]["needs"] == "retrain"
    assert "gate" in jobs["promote"]["needs"]
    gate_commands = " ".join(step.get("run", "") for step in jobs["gate"]["steps"])
    assert "gate_check.py reports/evaluation/gate.json" in gate_commands
    assert any("dvc repro" in step.get("run", "") for step in jobs["retrain"]["steps"])


def test_gitlab_ci_has_the_same_jobs_and_promotes_only_after_the_gate(
    gitlab_project: Path,
) -> None:
    ci = yaml.safe_load((gitlab_project / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    jobs = {name: job for name, job in ci.items() if isinstance(job, dict) and "script" in job}
    assert set(jobs) == {
        "ruff",
        "hygiene",
        "test",
        "repro",
        "crisp-lint",
        "retrain",
        "gate",
        "promote",
    }
    for job in jobs.values():
        assert job["stage"] in ci["stages"]
        assert set(job.get("needs", [])) <= set(jobs)
        assert job["extends"] in ci, f"{job['extends']} is not defined"
    assert jobs["gate"]["needs"] == ["retrain"]
    assert "gate" in jobs["promote"]["needs"]
    assert any("gate_check.py" in line for line in jobs["gate"]["script"])
    assert jobs["crisp-lint"]["artifacts"]["reports"]["junit"] == "crisp-lint.xml"


@pytest.mark.parametrize("answers", list(CI_VARIANTS.values()), ids=list(CI_VARIANTS))
def test_ci_files_follow_the_providers_published_schema(
    projects: dict[str, Path], answers: dict[str, Any]
) -> None:
    # check-jsonschema ships SchemaStore's schemas for both providers, so this runs offline.
    project = project_for(projects, answers)
    if answers["ci_provider"] == "github":
        schema, files = "vendor.github-workflows", sorted(project.glob(".github/workflows/*.yml"))
        assert len(files) == 2
    else:
        schema, files = "vendor.gitlab-ci", [project / ".gitlab-ci.yml"]
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema]
    result = run([*command, *map(str, files)], project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_ci_files_without_a_ci_provider(render: Render) -> None:
    project = render({"ci_provider": "none"})
    assert not (project / ".github").exists()
    assert not (project / ".gitlab-ci.yml").exists()


@pytest.mark.parametrize(("decision", "exit_code"), [("go", 0), ("no-go", 1)])
def test_the_gate_step_runs_without_installing_the_project(
    github_project: Path, tmp_path: Path, decision: str, exit_code: int
) -> None:
    gate = tmp_path / "gate.json"
    gate.write_text(json.dumps({"decision": decision, "metric": "f1_macro", "value": 0.9}))
    package = yaml.safe_load((github_project / ".copier-answers.yml").read_text())["package_name"]
    script = github_project / "src" / package / "gate_check.py"
    result = run([sys.executable, "-I", str(script), str(gate)], tmp_path)
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert f"evaluation gate: {decision}" in result.stdout
