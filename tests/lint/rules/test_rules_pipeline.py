"""The rules about pipeline stages and parameters when dvc.yaml or params.yaml is missing
(the rules report what it lacks) or unusable (GEN001/GEN002 report it, the rules stay
silent rather than call everything in it missing)."""

from __future__ import annotations

import pytest
from rule_fixture import SUCCESS_CRITERIA, Project

from crisp_lint.model import REGISTRY
from crisp_lint.repo import MALFORMED, RepoView

# Every rule that asks dvc.yaml for a stage of its step.
STAGE_RULES = {
    "DU003": "no `validate` stage checks the raw data's quality",
    "DP002": "no `prepare` stage writes the prepared data set",
    "DP003": "no `split` stage",
    "MO005": "no `baseline` stage",
    "MO006": "no `train` stage",
    "EV006": "no `evaluate` stage",
    "MN005": "no `monitor` stage",
}
# Every rule that reads a section of params.yaml, with what it says when there is none.
PARAMETER_RULES = {
    "DP003": "`split.seed` must be a fixed integer, got None",
    "EV006": f"`evaluate.success_criteria` must be {SUCCESS_CRITERIA}, got None",
    "DE003": "`deploy.strategy` is None; the router (src/iris/router.py) supports ab, bandit,"
    " shadow, canary",
    "MN004": f"no `monitor:` section with `success_criteria: {SUCCESS_CRITERIA}`",
}
UNPARSABLE = {
    "dvc.yaml": "stages:\n  train:\n    cmd: [unclosed\n",
    "params.yaml": "split:\n  seed: 42\n bad: [\n",
}


@pytest.mark.parametrize(("code", "message"), STAGE_RULES.items())
def test_a_missing_pipeline_lacks_every_stage(project: Project, code: str, message: str) -> None:
    project.remove("dvc.yaml")
    expected = [(".", f"no dvc.yaml, so {message}")]  # located at the root, which exists
    assert [(p.path, p.message) for p in project.problems(code)] == expected


@pytest.mark.parametrize(("code", "message"), PARAMETER_RULES.items())
def test_missing_parameters_lack_every_section(project: Project, code: str, message: str) -> None:
    project.remove("params.yaml")
    assert project.messages(code) == [message]


@pytest.mark.parametrize(
    ("code", "artefact"),
    [
        *((code, "dvc.yaml") for code in STAGE_RULES),
        *((code, "params.yaml") for code in PARAMETER_RULES),
    ],
)
def test_an_artefact_that_does_not_parse_is_left_to_gen002(
    project: Project, code: str, artefact: str
) -> None:
    project.write(artefact, UNPARSABLE[artefact])
    repo = RepoView(project.root)
    assert list(REGISTRY[code].check(repo)) == []
    assert [p.path for p in repo.problems(MALFORMED)] == [artefact]
