"""The generated project's commit hooks need no code host, and its CI gates on evaluation.

The hooks are `repo: local` hooks running the tools `make setup` installs; the end-to-end
test runs them for real through `git commit` and `pre-commit run --all-files`. Here the
configuration is validated with pre-commit itself, each hook is tied to a pinned dev
dependency, and each hygiene tool runs on the generated tree and is shown to fail on a file
made to break it, so a passing run means something.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import distributions
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from template_rendering import Render

# Renders seven projects and runs ruff, pre-commit, check-jsonschema and the hooks' tools: ~15 s.
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL_TIMEOUT_SECONDS = 120
RUFF_PIN = re.compile(r"ruff==(\d+\.\d+\.\d+)")
CRISP_ML_PIN = re.compile(r"crisp-ml(?:\[runtime\])?==(\d+\.\d+\.\d+)")
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
    expected = {
        "ruff-check",
        "ruff-format",
        "check-added-large-files",
        "check-merge-conflict",
        "detect-private-key",
        "check-yaml",
        "end-of-file-fixer",
        "crisp-lint",
        "dvc-pre-commit",
        "dvc-pre-push",
        "dvc-post-checkout",
    }
    assert set(hooks_by_id(github_project)) == expected


def test_every_hook_is_local_and_runs_a_tool_the_dev_extra_installs(github_project: Path) -> None:
    """No hook repository to clone: each hook runs a console script of a pinned dependency."""
    pyproject = tomllib.loads((github_project / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {
        canonical(Requirement(spec).name)
        for spec in [
            *pyproject["project"]["dependencies"],
            *pyproject["project"]["optional-dependencies"]["dev"],
        ]
    }
    scripts = executables_by_distribution()
    for repo, hook in hooks_by_id(github_project).values():
        assert repo["repo"] == "local", hook["id"]
        assert hook["language"] == "system", hook["id"]
        runner, tool, *_ = hook["entry"].split()
        assert runner == "scripts/dev-tool", hook["id"]
        assert canonical(scripts[tool]) in declared, f"{hook['id']}: {tool} is not installed"
    assert os.access(github_project / "scripts" / "dev-tool", os.X_OK)


def executables_by_distribution() -> dict[str, str]:
    """Each executable in this environment's bin/ -> the distribution that installed it.

    RECORD, not entry points: ruff installs a binary rather than a console script.
    """
    return {
        file.name: dist.metadata["Name"]
        for dist in distributions()
        for file in dist.files or []
        if file.parent.name == "bin"
    }


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_dev_tool_names_the_fix_when_a_tool_is_missing(github_project: Path) -> None:
    result = run(["scripts/dev-tool", "no-such-tool-anywhere"], github_project)
    assert result.returncode == 127
    assert "run `make setup`" in result.stderr


def test_nothing_is_installed_or_cloned_from_a_code_host(projects: dict[str, Path]) -> None:
    for answers in (GITHUB, GITLAB):
        project = project_for(projects, answers)
        for path in [
            project / "pyproject.toml",
            project / ".pre-commit-config.yaml",
            project / "Makefile",
            *project.glob(".github/workflows/*.yml"),
            *project.glob(".gitlab-ci.yml"),
        ]:
            text = path.read_text(encoding="utf-8")
            assert "git+" not in text, path
            assert not re.search(r"(?m)^\s*-?\s*repo:\s*https?://", text), path


def test_dvc_hooks_run_at_their_git_events_and_are_installed_for_them(
    github_project: Path,
) -> None:
    hooks = hooks_by_id(github_project)
    assert hooks["dvc-pre-commit"][1]["stages"] == ["pre-commit"]
    assert hooks["dvc-pre-push"][1]["stages"] == ["pre-push"]
    assert hooks["dvc-post-checkout"][1]["stages"] == ["post-checkout"]
    installed = pre_commit_config(github_project)["default_install_hook_types"]
    assert {"pre-commit", "pre-push", "post-checkout"} <= set(installed)


def test_the_dvc_push_hook_has_the_remotes_driver_in_the_environment(
    projects: dict[str, Path],
) -> None:
    s3 = project_for(projects, GITLAB_S3_SERVER) / "pyproject.toml"
    assert "dvc[s3]" in s3.read_text(encoding="utf-8")
    gcs = project_for(projects, CI_VARIANTS["github-gcs-server-no-example"]) / "pyproject.toml"
    assert "dvc[gs]" in gcs.read_text(encoding="utf-8")


def test_without_a_remote_git_push_is_not_blocked_by_dvc_push(render: Render) -> None:
    project = render({"dvc_remote": "none"})
    assert "dvc-pre-push" not in hooks_by_id(project)
    assert "dvc-pre-commit" in hooks_by_id(project)
    result = run([sys.executable, "-m", "pre_commit", "validate-config"], project)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_crisp_lint_hook_exists_in_this_repository() -> None:
    """For teams that use remote hook repositories (the generated README shows how)."""
    manifest = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert "crisp-lint" in {hook["id"] for hook in manifest}


def project_version() -> str:
    with (REPO_ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["version"]


@pytest.mark.parametrize("answers", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_ci_uses_the_same_ruff_and_crisp_lint_as_the_hooks(
    projects: dict[str, Path], answers: dict[str, Any]
) -> None:
    """CI installs the dev extra (one ruff pin) and crisp-ml at the dev extra's pin."""
    project = project_for(projects, answers)
    ci_text = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [*project.glob(".github/workflows/*.yml"), *project.glob(".gitlab-ci.yml")]
    )
    assert not RUFF_PIN.findall(ci_text), "a second ruff pin would drift from pyproject.toml"
    assert 'pip install -e ".[dev]"' in ci_text
    assert set(CRISP_ML_PIN.findall(ci_text)) == {project_version()}


def test_make_lint_uses_the_same_ruff_and_crisp_lint_as_the_hooks(github_project: Path) -> None:
    """`make setup` installs the project with its dev extra: crisp-ml by name, at this release."""
    pyproject = tomllib.loads((github_project / "pyproject.toml").read_text(encoding="utf-8"))
    dev = "\n".join(pyproject["project"]["optional-dependencies"]["dev"])
    dependencies = "\n".join(pyproject["project"]["dependencies"])
    assert len(RUFF_PIN.findall(dev)) == 1
    assert CRISP_ML_PIN.findall(dependencies) == [project_version()]
    assert "hatch" not in pyproject["tool"] or "metadata" not in pyproject["tool"]["hatch"]
    makefile = (github_project / "Makefile").read_text(encoding="utf-8")
    assert "-m ruff check" in makefile and "-m crisp_lint" in makefile


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
    assert "workflow_dispatch" in triggers
    assert "schedule" not in triggers, "a local DVC remote cannot share a promoted model"
    jobs = retrain["jobs"]
    assert jobs["gate"]["needs"] == "retrain"
    assert "gate" in jobs["promote"]["needs"]
    gate_commands = " ".join(step.get("run", "") for step in jobs["gate"]["steps"])
    # The gate job installs crisp-ml alone (not the project) and runs its gate_check.
    assert "crisp_ml.runtime.gate_check reports/evaluation/gate.json" in gate_commands
    assert 'pip install "crisp-ml==' in gate_commands
    steps = [step.get("run", "") for step in jobs["retrain"]["steps"]]
    repro = next(i for i, run_ in enumerate(steps) if "dvc repro" in run_)
    # pushed through the wrapper that names the fix for a refused or missing credential
    push = next(i for i, run_ in enumerate(steps) if "crisp_ml.runtime.tags --push-only" in run_)
    assert repro < push, "the promoted data and model are pushed before the pull request"


def test_github_retraining_is_scheduled_with_a_shared_remote(render: Render) -> None:
    project = render({"dvc_remote": "s3", "dvc_remote_url": "s3://ml/data"})
    assert "schedule" in workflow(project, "retrain.yml")[True]


def test_the_promotion_pull_request_gets_ci_and_is_not_reopened(github_project: Path) -> None:
    promote = workflow(github_project, "retrain.yml")["jobs"]["promote"]
    script = "\n".join(step.get("run", "") for step in promote["steps"])
    tokens = [step.get("with", {}).get("token", "") for step in promote["steps"]]
    assert any("secrets.RETRAIN_PR_TOKEN" in token for token in tokens)
    assert "git diff --cached --quiet" in script and "ls-remote" in script


def test_the_ci_gate_step_can_fail(github_project: Path) -> None:
    steps = workflow(github_project, "ci.yml")["jobs"]["repro"]["steps"]
    gate = next(step for step in steps if step.get("name") == "evaluation gate")
    assert gate["run"].strip().endswith("gate_check") and "||" not in gate["run"]
    assert "if" not in gate and not gate.get("continue-on-error")


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
    assert any("crisp_ml.runtime.gate_check" in line for line in jobs["gate"]["script"])
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


@pytest.mark.parametrize(
    ("content", "exit_code", "says"),
    [
        ({"decision": "go", "metric": "f1_macro", "value": 0.9}, 0, "evaluation gate: go"),
        ({"decision": "no-go", "metric": "f1_macro", "value": 0.9}, 1, "evaluation gate: no-go"),
        ({"verdict": "maybe"}, 2, "re-run `dvc repro evaluate`"),
        (None, 3, "not found"),
    ],
    ids=["go", "no-go", "invalid", "missing"],
)
def test_the_gate_step_runs_without_installing_the_project(
    tmp_path: Path,
    content: dict[str, Any] | None,
    exit_code: int,
    says: str,
) -> None:
    """The gate job needs crisp-ml only: its gate_check runs isolated, outside any project."""
    gate = tmp_path / "gate.json"
    if content is not None:
        gate.write_text(json.dumps(content))
    command = [sys.executable, "-I", "-m", "crisp_ml.runtime.gate_check", str(gate)]
    result = run(command, tmp_path)
    assert result.returncode == exit_code, result.stdout + result.stderr
    assert says in result.stdout + result.stderr
