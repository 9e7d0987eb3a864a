"""Stage roles: the pipeline rules find a stage by the role it plays, not only by the
template's name (see crisp_lint.checks._pipeline.stage_roles).

Each test renames stages of the valid project as real DVC repositories name them; the rules
that passed before still pass, and advice names the stage by its real name.
"""

from __future__ import annotations

from typing import Any

import pytest
from rule_fixture import Project

from crisp_lint.config import load_config
from crisp_lint.model import REGISTRY
from crisp_lint.repo import RepoView

GATE = "reports/evaluation/gate.json"


def rename(project: Project, **names: str) -> None:
    """Rename dvc.yaml stages (old=new), keeping their order."""

    def edit(data: dict[str, Any]) -> None:
        data["stages"] = {names.get(k, k): v for k, v in data["stages"].items()}

    project.edit_yaml("dvc.yaml", edit)


@pytest.mark.parametrize(
    ("old", "new", "codes"),
    [
        ("ingest", "download", ("DU002",)),
        ("validate", "validation", ("DU003",)),
        ("prepare", "featurize", ("DP002",)),
        ("split", "data_split", ("DP003", "DP004", "DP005")),
        ("train", "training", ("MO006", "DP005")),
        ("train", "train_model", ("MO006",)),
        ("evaluate", "evaluation", ("EV006", "EV007", "DP005")),
        ("evaluate", "eval", ("EV006", "EV007")),
        ("monitor", "monitoring", ("MN005",)),
    ],
)
def test_common_stage_names_play_their_role(
    project: Project, old: str, new: str, codes: tuple[str, ...]
) -> None:
    rename(project, **{old: new})
    assert {code: project.messages(code) for code in codes} == {code: [] for code in codes}


def test_a_stage_named_for_nothing_is_a_train_stage_by_its_model_output(
    project: Project,
) -> None:
    rename(project, train="crunch")
    assert project.problems("MO006") == []


def test_a_stage_with_no_role_is_reported_with_the_line_that_declares_it(
    project: Project,
) -> None:
    rename(project, monitor="watch")
    assert project.messages("MN005") == [
        "no `monitor` stage (the role of `watch` cannot be told: if one is the monitor stage,"
        ' declare it in [tool.crisp-lint] stage-roles, e.g. { watch = "monitor" })'
    ]


def test_a_declared_role_is_taken_first(project: Project) -> None:
    rename(project, monitor="watch")
    project.replace(
        "pyproject.toml",
        "[tool.crisp-lint]\n",
        '[tool.crisp-lint]\nstage-roles = { watch = "monitor" }\n',
    )
    repo = RepoView(project.root, load_config(project.root))
    assert list(REGISTRY["MN005"].check(repo)) == []


def test_advice_to_rerun_the_evaluation_names_the_real_stage(project: Project) -> None:
    rename(project, evaluate="evaluation")
    project.remove(GATE)
    assert project.messages("EV008") == ["not found: run `dvc repro evaluation` or `dvc pull`"]


def test_advice_to_rerun_with_no_evaluate_stage_names_no_command(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"].pop("evaluate"))
    project.remove(GATE)
    assert project.messages("EV008") == [
        "not found: run the stage that writes it (no stage in dvc.yaml plays the evaluate role)"
    ]


def test_advice_to_retrain_names_the_real_stage(project: Project) -> None:
    rename(project, train="training")
    project.write_json("reports/train/run.json", {"git_state": "dirty"})
    project.track("reports/train/run.json")
    project.git("commit", "-q", "-m", "train")
    (message,) = project.messages("MO009")
    assert "commit, then `dvc repro --force training` and commit" in message
