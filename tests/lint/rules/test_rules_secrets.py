"""The secret rules: every planted secret found, no secret printed, no false positive on real
files, and a passing and a failing case per rule.

Secrets are built at run time from fragments (see secrets_corpus.py), so this repository
holds none for a code host's push protection or for crisp-lint's own scan to find.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from lint_helpers import REPO_ROOT
from rule_fixture import Project
from secrets_corpus import ALNUM, PLANTED, files, pem, rand

from crisp_lint.config import ConfigError, load_config
from crisp_lint.model import REGISTRY
from crisp_lint.repo import RepoView

SECRET_RULES = ("GEN012", "GEN013", "GEN014", "GEN020", "GEN021", "GEN022", "GEN023", "GEN024")
SCANNER_RULES = ("GEN013", "GEN020", "GEN021", "GEN022", "GEN023", "GEN024")
FAKE_GH = "ghp_" + rand(ALNUM, 36)


def secret_findings(root: Path) -> list[tuple[str, str, int | None, str]]:
    view = RepoView(root, load_config(root))
    return [
        (code, p.path, p.line, p.message)
        for code in SECRET_RULES
        for p in REGISTRY[code].check(view)
    ]


@pytest.fixture(scope="module")
def planted_findings(tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    root = tmp_path_factory.mktemp("planted")
    for rel, text in files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-f", "."], cwd=root, check=True)
    return secret_findings(root)


def test_the_corpus_covers_every_secret_rule_with_at_least_40_secrets() -> None:
    assert len(PLANTED) >= 40
    assert {case.code for case in PLANTED} == set(SECRET_RULES) - {"GEN024"}


@pytest.mark.parametrize("case", PLANTED, ids=[case.name for case in PLANTED])
def test_every_planted_secret_is_found_and_never_printed(planted_findings: list, case) -> None:
    assert (case.code, case.path) in {(code, path) for code, path, _, _ in planted_findings}
    for _, _, _, message in planted_findings:
        assert not case.secret or case.secret not in message


def test_no_false_positive_on_a_generated_project(generated_project: Path) -> None:
    assert secret_findings(generated_project) == []


def test_no_false_positive_on_this_repository() -> None:
    view = RepoView(REPO_ROOT)
    found = [(c, p.path, p.line) for c in SCANNER_RULES for p in REGISTRY[c].check(view)]
    assert found == []


# -- one rule at a time, on the valid project --------------------------------------------


def workflow(project: Project, env_value: str) -> None:
    project.write(
        ".github/workflows/release.yml",
        f"jobs:\n  release:\n    steps:\n      - run: gh release create\n"
        f"        env:\n          GH_TOKEN: {env_value}\n",
    )
    project.track(".github/workflows/release.yml")


def test_gen020_a_github_token_in_a_workflow_is_reported_masked(project: Project) -> None:
    workflow(project, FAKE_GH)
    (problem,) = project.problems("GEN020")
    assert (problem.path, problem.line) == (".github/workflows/release.yml", 6)
    assert problem.message == "a GitHub token (ghp_***) is committed"


def test_gen020_a_token_from_ci_secrets_passes(project: Project) -> None:
    workflow(project, "${{ secrets.GH_TOKEN }}")
    assert project.problems("GEN020") == []


def test_gen020_an_untracked_file_is_not_scanned(project: Project) -> None:
    project.write("scratch.txt", FAKE_GH + "\n")
    assert project.problems("GEN020") == []


def test_gen013_a_password_with_a_slash_in_any_tracked_file_is_reported(project: Project) -> None:
    password = rand(ALNUM, 8) + "/" + rand(ALNUM, 8)
    project.write(
        "docs/server.md", f"Run `mlflow ui` against https://ana:{password}@mlflow.example.com\n"
    )
    project.track("docs/server.md")
    (problem,) = project.problems("GEN013")
    assert problem.message == "a URL with a password (ana:***@) is committed"


def test_gen013_a_password_from_the_environment_passes(project: Project) -> None:
    project.write("docs/server.md", "MLFLOW_TRACKING_URI=https://ana:${MLFLOW_PASSWORD}@host\n")
    project.track("docs/server.md")
    assert project.problems("GEN013") == []


def test_gen021_a_private_key_in_any_file_is_reported(project: Project) -> None:
    project.write("notes/deploy.txt", "the key:\n" + pem("OPENSSH "))
    project.track("notes/deploy.txt")
    (problem,) = project.problems("GEN021")
    assert problem.line == 2
    assert "OPENSSH PRIVATE KEY" in problem.message


def test_gen021_a_pem_marker_without_key_material_passes(project: Project) -> None:
    project.write("src/iris/pem.py", 'MARKER = "-----BEGIN PRIVATE KEY-----"\n')
    project.track("src/iris/pem.py")
    assert project.problems("GEN021") == []


def test_gen022_an_mlflow_password_in_a_readme_is_reported(project: Project) -> None:
    password = rand(ALNUM, 14)
    project.write("README.md", f"```bash\nexport MLFLOW_TRACKING_PASSWORD={password}\n```\n")
    project.track("README.md")
    (problem,) = project.problems("GEN022")
    assert problem.line == 2
    assert problem.message.startswith("`MLFLOW_TRACKING_PASSWORD` is set to a literal secret")
    assert password not in problem.message


@pytest.mark.parametrize(
    "line",
    [
        "export MLFLOW_TRACKING_PASSWORD=$MLFLOW_PASSWORD",
        "export MLFLOW_TRACKING_PASSWORD=${MLFLOW_PASSWORD}",
        "export MLFLOW_TRACKING_PASSWORD=<your password>",
        "export MLFLOW_TRACKING_PASSWORD=changeme",
        "export MLFLOW_TRACKING_PASSWORD=xxxxxxxx",
        'MLFLOW_TRACKING_PASSWORD = os.environ["MLFLOW_TRACKING_PASSWORD"]',
    ],
)
def test_gen022_references_and_placeholders_pass(project: Project, line: str) -> None:
    project.write("README.md", f"```bash\n{line}\n```\n")
    project.write("src/iris/settings.py", line.removeprefix("export ") + "\n")
    project.track("README.md", "src/iris/settings.py")
    assert project.problems("GEN022") == []


def test_gen014_a_secret_nested_in_a_list_in_params_is_reported(project: Project) -> None:
    project.edit_yaml(
        "params.yaml", lambda data: data.update(db=[{"name": "dw", "password": rand(ALNUM, 12)}])
    )
    (problem,) = project.problems("GEN014")
    assert problem.message == "`db[0].password` holds a literal secret"
    assert problem.line is not None


def test_gen023_a_force_added_dvc_config_local_is_reported(project: Project) -> None:
    project.write(".dvc/config.local", "['remote \"storage\"']\n    password = x\n")
    assert project.problems("GEN023") == []  # on disk but not tracked: as DVC means it
    project.track(".dvc/config.local")
    (problem,) = project.problems("GEN023")
    assert problem.path == ".dvc/config.local"


def test_gen024_a_suppression_with_a_reason_silences_the_line(project: Project) -> None:
    project.write("tests/test_auth.py", f'TOKEN = "{FAKE_GH}"  # crisp-lint: ignore[GEN020] fake\n')
    project.write(
        "tests/key.pem", "# crisp-lint: ignore[GEN021] a throwaway key for the TLS test\n" + pem("")
    )
    project.track("tests/test_auth.py", "tests/key.pem")
    assert project.problems("GEN020") == project.problems("GEN021") == []
    assert project.problems("GEN024") == []


def test_gen024_a_suppression_without_a_reason_is_reported(project: Project) -> None:
    project.write("tests/test_auth.py", f'TOKEN = "{FAKE_GH}"  # crisp-lint: ignore[GEN020]\n')
    project.track("tests/test_auth.py")
    (problem,) = project.problems("GEN024")
    assert (problem.path, problem.line) == ("tests/test_auth.py", 1)
    assert problem.message == "`crisp-lint: ignore[GEN020]` gives no reason"


def test_a_suppression_of_another_code_does_not_silence(project: Project) -> None:
    project.write("tests/test_auth.py", f'TOKEN = "{FAKE_GH}"  # crisp-lint: ignore[GEN022] x\n')
    project.track("tests/test_auth.py")
    assert len(project.problems("GEN020")) == 1


def test_the_allowlist_takes_path_globs_and_value_regexes(project: Project) -> None:
    project.write("tests/fixtures/creds.env", f"GH={FAKE_GH}\n")
    project.write("ops/ci.env", f"GH={FAKE_GH}\n")
    project.track("tests/fixtures/creds.env", "ops/ci.env")
    assert len(secret_findings(project.root)) == 2
    project.replace(
        "pyproject.toml",
        'phase = "monitoring"\n',
        'phase = "monitoring"\nsecrets-allowlist = ["tests/fixtures/**"]\n',
    )
    assert [path for _, path, _, _ in secret_findings(project.root)] == ["ops/ci.env"]
    project.replace(
        "pyproject.toml",
        '"tests/fixtures/**"',
        f'"tests/fixtures/**", "regex:^{FAKE_GH[:10]}"',
    )
    assert secret_findings(project.root) == []


def test_an_invalid_allowlist_regex_is_a_configuration_error(project: Project) -> None:
    project.replace(
        "pyproject.toml",
        'phase = "monitoring"\n',
        'phase = "monitoring"\nsecrets-allowlist = ["regex:("]\n',
    )
    with pytest.raises(ConfigError, match="secrets-allowlist"):
        load_config(project.root)


def test_binary_and_large_files_are_skipped_without_an_input_finding(project: Project) -> None:
    project.write_bytes("docs/logo.png", b"\x89PNG\0\0" + FAKE_GH.encode())
    project.write_bytes("docs/big.txt", (FAKE_GH + "\n").encode() * 40_000)  # > 1 MB
    project.track("docs/logo.png", "docs/big.txt")
    view = RepoView(project.root)
    assert list(REGISTRY["GEN020"].check(view)) == []
    assert view.problems("GEN001") == []  # skipping them is not an input problem
