"""crisp-lint on repositories as teams have them, before and after they adopt CRISP-ML.

Two stand-ins, built here: an ML repository with no CRISP-ML layer at all, and a DVC
repository in DVC's own conventions (stages named `training` and `evaluation`, raw data
tracked by `data/raw.dvc`, top-level `metrics:`, DVCLive as its tracker, a split inside
`featurize`, no Makefile, no docs/architecture.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from lint_helpers import git, write_tree

from crisp_lint.cli import run
from crisp_lint.config import Config, ConfigError, load_config
from crisp_lint.engine import Options, has_crisp_ml_layer, lint
from crisp_lint.registry import load_registry
from crisp_lint.repo import RepoView

ADOPT = "run `crisp-ml adopt` to add the CRISP-ML layer"
CRITERIA = "phases/01-business-understanding/success-criteria.yaml"

PLAIN_ML_REPO = {
    "README.md": "# churn\n\nOur churn model.\n",
    "pyproject.toml": '[project]\nname = "churn"\nversion = "0.1.0"\n',
    "src/churn/train.py": "import sklearn\n\n\ndef main():\n    ...\n",
    "requirements.txt": "scikit-learn\n",
}

DVC_PIPELINE = {
    "stages": {
        "featurize": {
            "cmd": "python src/featurize.py",
            "deps": ["data/raw", "src/featurize.py"],
            "params": ["featurize.seed", "featurize.test_size"],
            "outs": ["data/features/train.csv", "data/features/test.csv"],
        },
        "training": {
            "cmd": "python src/training.py",
            "deps": ["data/features/train.csv", "src/training.py"],
            "outs": ["models/model.pkl"],
        },
        "evaluation": {
            "cmd": "python src/evaluation.py",
            "deps": ["models/model.pkl", "data/features/test.csv"],
            "plots": ["eval/plots"],
        },
    },
    "metrics": ["eval/metrics.json"],
    "plots": ["eval/plots/roc.json"],
    "artifacts": {"churn-model": {"path": "models/model.pkl", "type": "model"}},
}

DVC_REPO = {
    "pyproject.toml": '[project]\nname = "churn"\n\n[tool.crisp-lint]\nphase = "monitoring"\n',
    "dvc.yaml": yaml.safe_dump(DVC_PIPELINE, sort_keys=False),
    "params.yaml": "featurize:\n  seed: 20170428\n  test_size: 0.2\n",
    "data/raw.dvc": "outs:\n- md5: 22a1a2931c8370d3aeedd7183606fd7f.dir\n  path: raw\n",
    "data/.gitignore": "/raw\n",
    "src/featurize.py": "import pandas\n",
    "src/training.py": "from dvclive import Live\n\nwith Live() as live:\n    ...\n",
    "src/evaluation.py": "import json\n",
    "eval/metrics.json": '{"roc_auc": 0.91}\n',
}


def repository(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    write_tree(root, files)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the team's repository")
    return root


@pytest.fixture
def plain_repo(tmp_path: Path) -> Path:
    return repository(tmp_path / "churn", PLAIN_ML_REPO)


@pytest.fixture
def dvc_repo(tmp_path: Path) -> Path:
    return repository(tmp_path / "dvc", DVC_REPO)


def findings(root: Path, **options: object) -> list[tuple[str, str, str]]:
    report = lint(RepoView(root, load_config(root)), Options(**options))  # type: ignore[arg-type]
    return [(f.code, f.path, f.message) for f in report.findings]


# -- no CRISP-ML layer: one finding that says how to adopt -------------------------------


@pytest.mark.parametrize("all_phases", [False, True])
def test_a_repository_with_no_crisp_ml_layer_gets_one_finding_naming_adopt(
    plain_repo: Path, all_phases: bool
) -> None:
    (finding,) = findings(plain_repo, all_phases=all_phases)
    code, path, message = finding
    assert (code, path) == ("GEN006", ".")
    assert message.startswith("not a CRISP-ML project: no phases/ folder with checklists")
    assert ADOPT in message and "without touching your files" in message


def test_the_cli_exits_1_with_the_one_finding_in_text_json_and_sarif(
    plain_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([str(plain_repo), "--all-phases"]) == 1
    text = capsys.readouterr().out
    assert [line for line in text.splitlines() if ": GEN" in line] == [
        line for line in text.splitlines() if line.startswith(".: GEN006 [error]")
    ]
    assert len(text.splitlines()) == 3 and "missing" not in text
    assert "Not a CRISP-ML project: the phase rules did not run" in text
    assert run([str(plain_repo), "--output-format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [f["code"] for f in document["findings"]] == ["GEN006"]
    assert run([str(plain_repo), "--output-format", "sarif"]) == 1
    (sarif_run,) = json.loads(capsys.readouterr().out)["runs"]
    assert [r["ruleId"] for r in sarif_run["results"]] == ["GEN006"]


def test_general_rules_still_run_on_a_repository_with_no_crisp_ml_layer(tmp_path: Path) -> None:
    root = repository(tmp_path / "leaky", {**PLAIN_ML_REPO, "data/train.csv": "a,b\n1,2\n"})
    assert sorted(code for code, _, _ in findings(root)) == ["GEN006", "GEN011"]


@pytest.mark.parametrize(
    "layer",
    [
        {"phases/03-data-understanding/CHECKLIST.md": "# checklist\n"},
        {"phases/01-business-understanding/success-criteria.yaml": "metric: f1\n"},
        {"pyproject.toml": '[tool.crisp-lint]\nphase = "modelling"\n'},
    ],
)
def test_any_one_part_of_the_layer_makes_a_crisp_ml_project(
    tmp_path: Path, layer: dict[str, str]
) -> None:
    root = repository(tmp_path / "repo", {**PLAIN_ML_REPO, **layer})
    assert has_crisp_ml_layer(RepoView(root, load_config(root)))
    assert "GEN006" not in [code for code, _, _ in findings(root)]


def test_ignoring_gen006_judges_the_phases_anyway(plain_repo: Path) -> None:
    codes = {code for code, _, _ in findings(plain_repo, ignore=("GEN006",))}
    assert "GEN006" not in codes and "BU101" in codes


def test_a_repository_without_dvc_yaml_gets_no_finding_located_at_it(plain_repo: Path) -> None:
    found = findings(plain_repo, ignore=("GEN006",), all_phases=True)
    assert "dvc.yaml" not in {path for _, path, _ in found}
    assert ("MO006", ".", "no dvc.yaml, so no `train` stage") in found


# -- a DVC repository in DVC's own conventions ---------------------------------------------


PIPELINE_RULES = ("DU002", "DP002", "DP003", "DP004", "DP005", "MO006", "EV006")


def test_dvc_conventions_satisfy_the_pipeline_rules(dvc_repo: Path) -> None:
    """raw data in data/raw.dvc (DU002), a split inside `featurize` with a seed (DP002-DP005),
    DVCLive in `training` (MO006), top-level metrics for `evaluation` (EV006): what is left
    is only what the repository really lacks, the link to the phase-1 success criteria."""
    found = [f for f in findings(dvc_repo) if f[0] in PIPELINE_RULES]
    assert found == [
        ("EV006", "dvc.yaml", f"the evaluate stage does not depend on {CRITERIA}"),
        ("EV006", "params.yaml", f"`evaluate.success_criteria` must be {CRITERIA}, got None"),
    ]


def test_without_top_level_metrics_the_evaluation_declares_none(dvc_repo: Path) -> None:
    pipeline = {k: v for k, v in DVC_PIPELINE.items() if k != "metrics"}
    (dvc_repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    messages = [m for code, _, m in findings(dvc_repo) if code == "EV006"]
    assert "the evaluate stage declares no `metrics:`" in messages


def test_raw_data_tracked_by_no_dvc_file_is_reported(dvc_repo: Path) -> None:
    (dvc_repo / "data" / "raw.dvc").unlink()
    (message,) = [m for code, _, m in findings(dvc_repo) if code == "DU002"]
    assert message.startswith("the raw data (data/raw) is not a DVC output")


def test_raw_data_declared_as_an_artifact_is_dvc_managed(dvc_repo: Path) -> None:
    (dvc_repo / "data" / "raw.dvc").unlink()
    pipeline = {**DVC_PIPELINE, "artifacts": {"raw": {"path": "data/raw", "type": "dataset"}}}
    (dvc_repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    assert [m for code, _, m in findings(dvc_repo) if code == "DU002"] == []


def test_a_prepare_stage_without_a_seed_does_not_play_the_split_role(dvc_repo: Path) -> None:
    pipeline = yaml.safe_load(yaml.safe_dump(DVC_PIPELINE))
    pipeline["stages"]["featurize"]["params"] = ["featurize.test_size"]
    (dvc_repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    assert [m for code, _, m in findings(dvc_repo) if code == "DP003"] == ["no `split` stage"]


def test_advice_names_only_what_the_dvc_repository_has(dvc_repo: Path) -> None:
    messages = [message for _, _, message in findings(dvc_repo, all_phases=True)]
    said = "\n".join(messages)
    assert "make tags" not in said
    assert "dvc repro evaluate`" not in said
    assert "docs/architecture.md" not in said


def test_a_stage_whose_role_cannot_be_told_gets_the_line_to_declare_it(tmp_path: Path) -> None:
    pipeline = {"stages": {"crunch": {"cmd": "python crunch.py", "outs": ["out/x.csv"]}}}
    root = repository(
        tmp_path / "odd",
        {**DVC_REPO, "dvc.yaml": yaml.safe_dump(pipeline), "crunch.py": "import os\n"},
    )
    (message,) = [m for code, _, m in findings(root) if code == "MO006"]
    assert message == (
        "no `train` stage (the role of `crunch` cannot be told: if one is the train stage,"
        ' declare it in [tool.crisp-lint] stage-roles, e.g. { crunch = "train" })'
    )
    declared = DVC_REPO["pyproject.toml"] + 'stage-roles = { crunch = "train" }\n'
    (root / "pyproject.toml").write_text(declared, encoding="utf-8")
    (message,) = [m for code, _, m in findings(root) if code == "MO006"]
    assert message == "stage `crunch` runs this file, which never uses mlflow or dvclive"


def test_an_unknown_role_is_a_configuration_error(
    dvc_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = dvc_repo / "pyproject.toml"
    pyproject.write_text(DVC_REPO["pyproject.toml"] + 'stage-roles = { training = "fit" }\n')
    with pytest.raises(ConfigError, match="`training` has unknown role 'fit'"):
        load_config(dvc_repo)
    assert run([str(dvc_repo)]) == 2
    assert "unknown role 'fit' (one of: ingest, validate," in capsys.readouterr().err


def test_roles_come_from_the_mapping_then_names_then_behaviour(dvc_repo: Path) -> None:
    from crisp_lint.checks._pipeline import stage_roles, stages

    config = Config(stage_roles={"evaluation": ("monitor",)})
    repo = RepoView(dvc_repo, config)
    roles = {name: stage_roles(repo, stage) for name, stage in stages(repo).items()}
    assert roles == {
        "featurize": ("prepare", "split"),
        "training": ("train",),
        "evaluation": ("monitor",),
    }
    load_registry()  # the registry loads with the new rules


def test_no_rule_advises_a_file_only_crisp_ml_itself_has() -> None:
    """docs/architecture.md is crisp-ml's, not a linted repository's."""
    rules = load_registry().values()
    assert [r.code for r in rules if "docs/architecture.md" in r.fix + r.rationale] == []


def test_a_seed_read_from_another_params_file_is_found(dvc_repo: Path) -> None:
    pipeline = yaml.safe_load(yaml.safe_dump(DVC_PIPELINE))
    pipeline["stages"]["featurize"]["params"] = [{"conf/split.yaml": ["seed"]}]
    (dvc_repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline), encoding="utf-8")
    (dvc_repo / "conf").mkdir()
    (dvc_repo / "conf" / "split.yaml").write_text("seed: 7\n", encoding="utf-8")
    assert [m for code, _, m in findings(dvc_repo) if code == "DP003"] == []
    (dvc_repo / "conf" / "split.yaml").write_text("seed: random\n", encoding="utf-8")
    assert [f for f in findings(dvc_repo) if f[0] == "DP003"] == [
        (
            "DP003",
            "conf/split.yaml",
            "`seed` must be a fixed integer, got 'random' in conf/split.yaml",
        )
    ]
