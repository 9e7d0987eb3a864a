"""Phase 4 rules: the decisions log, the dataset, the seeded split, no test leakage."""

from __future__ import annotations

from typing import Any

import pytest
from rule_fixture import DATASET_VERSION, Project

from crisp_lint.model import REGISTRY

LOG = "phases/04-data-preparation/preparation-log.md"


def stage(project: Project, name: str, **changes: Any) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"][name].update(changes))


def test_a_log_without_a_decision_section_names_the_missing_decision(project: Project) -> None:
    project.replace(LOG, "## 4.3 Class balancing", "## 4.3 Other things")
    assert project.messages("DP001") == ["no section on class balancing (4.3)"]


def test_a_log_with_placeholders_is_reported_at_the_first_marker(project: Project) -> None:
    project.replace(
        LOG, "## 4.6 Data augmentation\n\nDecided", "## 4.6 Data augmentation\n\nTODO(crisp)"
    )
    (problem,) = project.problems("DP001")
    assert problem.message == "the log still has TODO(crisp) placeholders"
    assert problem.line == 25


def test_a_prepare_stage_without_outputs_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"]["prepare"].pop("outs"))
    assert project.messages("DP002") == ["the prepare stage declares no `outs`"]


def test_a_split_without_a_seed_is_reported(project: Project) -> None:
    project.edit_yaml("params.yaml", lambda data: data["split"].pop("seed"))
    assert project.messages("DP003") == ["`split.seed` must be a fixed integer, got None"]


def test_a_missing_seed_is_not_located_at_another_sections_seed(project: Project) -> None:
    project.write("params.yaml", "split:\n  test_size: 0.2\ntrain:\n  seed: 7\n")
    (problem,) = project.problems("DP003")
    assert (problem.message, problem.line) == (
        "`split.seed` must be a fixed integer, got None",
        None,
    )


def test_a_seed_that_is_not_an_integer_is_reported_at_its_line(project: Project) -> None:
    project.write("params.yaml", "# the split\nsplit:\n  test_size: 0.2\n\n  seed: random\n")
    (problem,) = project.problems("DP003")
    assert problem.line == 5


def test_a_seed_the_split_stage_does_not_depend_on_is_reported(project: Project) -> None:
    stage(project, "split", params=["split.test_size"])
    (message,) = project.messages("DP003")
    assert message.startswith("the split stage does not list `split.seed` under `params`")


def test_depending_on_the_whole_split_section_covers_the_seed(project: Project) -> None:
    stage(project, "split", params=["split"])
    assert project.problems("DP003") == []


def test_a_pipeline_without_a_split_stage_is_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"].pop("split"))
    assert project.messages("DP003") == ["no `split` stage"]


def test_split_indices_that_are_not_a_dvc_output_are_reported(project: Project) -> None:
    project.edit_yaml("dvc.yaml", lambda data: data["stages"]["split"].pop("outs"))
    assert project.messages("DP004") == ["stage `split` declares no `outs` for the indices"]


def test_a_training_stage_whose_code_reads_the_test_part_leaks(project: Project) -> None:
    project.write("src/iris/train.py", 'split = {}\ntest = split["test"]\n')
    assert project.messages("DP005") == [
        'stage `train` runs src/iris/train.py, which reads the "test" part of'
        " data/split/indices.json"
    ]


def test_a_stage_declaring_the_test_subset_on_its_command_line_leaks(project: Project) -> None:
    stage(project, "baseline", cmd="python -m iris.baseline --subsets train,test")
    assert project.messages("DP005") == [
        "stage `baseline` reads the test subset from data/split/indices.json"
    ]


def test_a_stage_declaring_train_and_val_in_params_is_clean_whatever_its_code(
    project: Project,
) -> None:
    project.write("src/iris/train.py", 'PARTS = ("train", "val", "test")\n')
    project.edit_yaml("params.yaml", lambda data: data.update(train={"subsets": ["train", "val"]}))
    assert project.problems("DP005") == []


def test_a_stage_reading_a_test_only_split_file_leaks(project: Project) -> None:
    stage(project, "split", outs=["data/split"])
    stage(project, "train", deps=["data/prepared", "data/split/test.json"])
    assert project.messages("DP005") == [
        "stage `train` depends on data/split/test.json, the test split"
    ]


def test_a_stage_reading_a_train_only_split_file_is_clean(project: Project) -> None:
    stage(project, "split", outs=["data/split"])
    stage(project, "train", deps=["data/split/train.json"], cmd="./train.sh")
    assert project.problems("DP005") == []


@pytest.mark.parametrize("name", ["evaluate", "monitor", "evaluate_slices"])
def test_evaluation_stages_may_read_the_test_split(project: Project, name: str) -> None:
    project.edit_yaml(
        "dvc.yaml",
        lambda data: data["stages"].setdefault(
            name, {"cmd": "./score --subset test", "deps": ["data/split/indices.json"]}
        ),
    )
    assert project.problems("DP005") == []


def test_a_stage_whose_code_cannot_be_found_is_reported_as_undecidable(
    project: Project,
) -> None:
    stage(project, "train", cmd="bash scripts/train.sh")
    (message,) = project.messages("DP005")
    assert message.startswith("stage `train` depends on data/split/indices.json (every subset)")


def test_a_dataset_version_without_a_dataset_tag_is_reported(project: Project) -> None:
    project.git("tag", "--delete", "dataset-v1")
    project.write("Makefile", "repro:\n\tdvc repro\n\ntags: repro\n\t./tag-data\n")
    assert project.messages("DP006") == [
        f"data/prepared version {DATASET_VERSION} has no `dataset-vN` tag: run `make tags` and"
        " `git push --tags`"
    ]
    assert REGISTRY["DP006"].needs == "git-history"


def test_tag_advice_names_make_tags_only_when_the_makefile_has_that_target(
    project: Project,
) -> None:
    project.git("tag", "--delete", "dataset-v1")
    project.write("Makefile", "tagsoup := 1\nrepro:\n\tdvc repro\n")
    (message,) = project.messages("DP006")
    assert "make tags" not in message
    assert f"tag it (`git tag -a dataset-vN -m 'data/prepared {DATASET_VERSION}'`)" in message


def test_stage_paths_are_read_relative_to_the_stage_wdir(project: Project) -> None:
    stage(project, "train", wdir="src", deps=["../data/split/test.json"], cmd="python x.py")
    stage(project, "split", outs=["data/split"])
    assert project.messages("DP005") == [
        "stage `train` depends on data/split/test.json, the test split"
    ]
