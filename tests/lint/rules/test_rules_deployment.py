"""Phase 7 rules: deployment documents, the configured strategy, promotion behind the gate."""

from __future__ import annotations

import pytest
from rule_fixture import Project

FOLDER = "phases/07-deployment"
WORKFLOW = ".github/workflows/retrain.yml"


@pytest.mark.parametrize(
    ("code", "document"),
    [
        ("DE001", "deployment-strategy.md"),
        ("DE002", "governance.md"),
        ("DE005", "production-evaluation.md"),
        ("DE006", "user-acceptance.md"),
    ],
)
def test_a_deployment_document_missing_is_reported(
    project: Project, code: str, document: str
) -> None:
    project.remove(f"{FOLDER}/{document}")
    assert project.problems(code)[0].message.endswith(f": missing; write it at {FOLDER}/{document}")


def test_a_strategy_the_router_does_not_support_is_reported(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data["deploy"].update(strategy="blue-green"))
    (problem,) = project.problems("DE003")
    assert problem.message == (
        "`deploy.strategy` is 'blue-green'; the router (src/iris/router.py) supports"
        " ab, bandit, shadow, canary"
    )
    assert problem.line is not None


def test_the_supported_strategies_are_read_from_the_router(project: Project) -> None:
    project.write("src/iris/router.py", 'STRATEGIES: tuple[str, ...] = ("ab", "blue-green")\n')
    project.edit_yaml("params.yaml", lambda data: data["deploy"].update(strategy="blue-green"))
    assert project.problems("DE003") == []


def test_a_missing_strategy_is_reported(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data.pop("deploy"))
    assert project.messages("DE003")[0].startswith("`deploy.strategy` is None")


def test_a_promotion_job_that_does_not_need_the_gate_is_reported(project: Project) -> None:
    project.edit_yaml(WORKFLOW, lambda data: data["jobs"]["promote"].pop("needs"))
    (problem,) = project.problems("DE004")
    assert (problem.path, problem.line) == (WORKFLOW, 8)
    assert (
        problem.message == "job `promote` neither needs an evaluation/gate job nor runs gate_check"
    )


def test_a_promotion_job_running_the_gate_check_itself_passes(project: Project) -> None:
    def gate_in_steps(data: dict) -> None:
        data["jobs"]["promote"].pop("needs")
        data["jobs"]["promote"]["steps"].insert(0, {"run": "python -m iris.gate_check"})

    project.edit_yaml(WORKFLOW, gate_in_steps)
    assert project.problems("DE004") == []


def test_a_gitlab_deploy_job_needing_the_gate_passes(project: Project) -> None:
    project.remove(WORKFLOW)
    project.write_yaml(
        ".gitlab-ci.yml",
        {
            "stages": ["test", "deploy"],
            "evaluation-gate": {"script": ["dvc repro evaluate"]},
            "deploy-model": {"needs": [{"job": "evaluation-gate"}], "script": ["make deploy"]},
        },
    )
    project.track(".gitlab-ci.yml")
    assert project.problems("DE004") == []


def test_a_gitlab_deploy_job_without_the_gate_is_reported(project: Project) -> None:
    project.remove(WORKFLOW)
    project.write_yaml(".gitlab-ci.yml", {"deploy-model": {"script": ["make deploy"]}})
    project.track(".gitlab-ci.yml")
    assert project.messages("DE004") == [
        "job `deploy-model` neither needs an evaluation/gate job nor runs gate_check"
    ]


def test_a_project_without_any_promotion_job_is_reported(project: Project) -> None:
    project.remove(WORKFLOW)
    (message,) = project.messages("DE004")
    assert message.startswith("no CI job promotes or deploys the model")
