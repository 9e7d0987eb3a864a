"""RepoView: what the rules see of a repository, listed cheaply and read at most once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from lint_helpers import RepoMaker

from crisp_lint.config import Config, load_config
from crisp_lint.model import Phase
from crisp_lint.repo import MALFORMED, MAX_TEXT_BYTES, UNREADABLE, RepoView

DVC_YAML = """\
stages:
  ingest:
    cmd: python -m example.ingest
    outs:
      - data/raw
  split:
    cmd: python -m example.split
    outs:
      - data/split/indices.json
    metrics:
      - reports/split.json:
          cache: false
"""

PROJECT = {
    "pyproject.toml": '[tool.crisp-lint]\nphase = "modelling"\n',
    "dvc.yaml": DVC_YAML,
    ".gitignore": "/data/raw\n/data/split/indices.json\n/scratch/\n*.log\n",
    "data/external.csv.dvc": "outs:\n- md5: 0123\n  path: external.csv\n",
    "data/external.csv": "a,b\n",
    "data/raw/table.csv": "a,b\n",
    "data/split/indices.json": '{"train": [0]}\n',
    "reports/split.json": '{"rows": 1}\n',
    "scratch/notes.txt": "ignored\n",
    "run.log": "ignored\n",
    "src/model.py": "print()\n",
}
LISTED = [
    ".gitignore",
    "data/external.csv.dvc",
    "dvc.yaml",
    "pyproject.toml",
    "reports/split.json",
    "src/model.py",
]


def test_in_git_the_listing_is_tracked_and_untracked_files_minus_ignored_and_dvc_outputs(
    make_repo: RepoMaker,
) -> None:
    root = make_repo(PROJECT, commit=True)
    (root / "src" / "new.py").write_text("x = 1\n")  # untracked, not ignored
    # In real life DVC also gitignores data/external.csv; here its .dvc file alone must
    # keep it out of the listing.
    repo = RepoView(root)
    assert sorted(repo.files()) == sorted([*LISTED, "src/new.py"])
    assert repo.is_tracked_by_git("src/model.py")
    assert not repo.is_tracked_by_git("src/new.py")


def test_outside_git_the_walk_honours_gitignore_and_dvc_outputs(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo(PROJECT))
    assert repo.files() == LISTED
    assert not repo.is_tracked_by_git("src/model.py")


def test_the_walk_never_enters_ignored_or_dvc_managed_folders(
    make_repo: RepoMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo({**PROJECT, "data/raw/deep/er/file.csv": "x\n", ".dvc/cache/ab/cd": "x"})
    entered: list[str] = []
    real_scandir = os.scandir

    def spy(path: str | os.PathLike[str] = ".") -> os.ScandirIterator[str]:
        entered.append(Path(path).relative_to(root).as_posix())
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", spy)
    RepoView(root).files()
    assert "data" in entered and "src" in entered
    assert not [p for p in entered if p.startswith(("data/raw", "scratch", ".dvc/cache"))]


def test_dvc_managed_outputs_exist_but_are_not_listed(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo(PROJECT, commit=True))
    assert repo.exists("data/split/indices.json") and repo.is_file("data/split/indices.json")
    assert repo.is_dvc_managed("data/split/indices.json")
    assert repo.is_dvc_managed("data/raw/table.csv")
    assert repo.is_dvc_managed("data/external.csv")
    assert not repo.is_dvc_managed("data/rawer.csv")
    assert not repo.is_dvc_managed("reports/split.json")  # cache: false stays in git
    assert not repo.exists("data/missing.csv")


def test_stage_outputs_are_relative_to_the_stage_wdir(make_repo: RepoMaker) -> None:
    dvc_yaml = "stages:\n  a:\n    cmd: x\n    wdir: pipeline\n    outs: [../data/out, model.pkl]\n"
    repo = RepoView(make_repo({"dvc.yaml": dvc_yaml}))
    assert repo.is_dvc_managed("data/out/x") and repo.is_dvc_managed("pipeline/model.pkl")


def test_config_exclude_drops_files_from_the_listing(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo(PROJECT), Config(exclude=("src/**", "*.toml")))
    assert repo.files() == [".gitignore", "data/external.csv.dvc", "dvc.yaml", "reports/split.json"]


def test_each_file_is_read_once(make_repo: RepoMaker) -> None:
    root = make_repo({"params.yaml": "seed: 1\n"})
    repo = RepoView(root)
    assert repo.params() == {"seed": 1}
    (root / "params.yaml").write_text("seed: 2\n")
    assert repo.params() == {"seed": 1}
    assert repo.text("params.yaml") == "seed: 1\n"


def test_well_known_files_are_parsed(make_repo: RepoMaker) -> None:
    repo = RepoView(
        make_repo(
            {
                **PROJECT,
                "params.yaml": "train: {seed: 42}\n",
                ".copier-answers.yml": "_commit: v0.1.0\n",
                "reports/gate.json": '{"decision": "go"}',
            }
        )
    )
    assert repo.dvc_yaml()["stages"]["ingest"]["outs"] == ["data/raw"]
    assert repo.params() == {"train": {"seed": 42}}
    assert repo.pyproject() == {"tool": {"crisp-lint": {"phase": "modelling"}}}
    assert repo.answers() == {"_commit": "v0.1.0"}
    assert repo.json("reports/gate.json") == {"decision": "go"}
    assert repo.lines("src/model.py") == ["print()"]


def test_placeholders_are_files_with_the_todo_crisp_marker(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo({"a.md": "# A\n\nTODO(crisp): say why\n", "b.md": "# B\n"}))
    assert repo.has_placeholder("a.md")
    assert not repo.has_placeholder("b.md")
    assert not repo.has_placeholder("missing.md")


def test_a_missing_file_is_none_and_no_problem(tmp_path: Path) -> None:
    (tmp_path / ".dvc").write_text("a file where DVC keeps a folder")
    repo = RepoView(tmp_path)
    assert repo.text("nope.md") is None and repo.yaml("nope.yaml") is None
    assert repo.text(".dvc/config") is None  # under a file: just as missing
    assert repo.problems(UNREADABLE) == repo.problems(MALFORMED) == []


def test_checklists_are_parsed_by_the_checklist_module(make_repo: RepoMaker) -> None:
    from crisp_lint.checklist import parse_checklist

    rel = f"{Phase.MODELLING.folder}/CHECKLIST.md"
    text = (
        "# Modelling\n\n| ID | Step | Status | Evidence | Signed off by | Date | Notes |\n"
        "|----|------|--------|----------|---------------|------|-------|\n"
        "| 5.1 | Set up MLflow | open | | | | |\n"
    )
    repo = RepoView(make_repo({rel: text}))
    checklist = repo.checklist(Phase.MODELLING)
    assert checklist == parse_checklist(text, rel)
    assert repo.checklist(Phase.MODELLING) is checklist
    assert repo.checklist(Phase.EVALUATION) is None


def test_git_runs_in_the_root_and_is_none_outside_a_work_tree(make_repo: RepoMaker) -> None:
    root = make_repo({"a.txt": "a"}, commit=True)
    assert RepoView(root).git("ls-files") == "a.txt\n"
    assert RepoView(root).git("no-such-command") is None
    (root / ".git").rename(root / "git-was-here")
    assert RepoView(root).git("ls-files") is None


# -- bad input: each is a problem naming the path, never an exception -----------------------


def problems(repo: RepoView) -> list[tuple[str, str, str, int | None]]:
    return [
        (code, p.path, p.message, p.line)
        for code in (UNREADABLE, MALFORMED)
        for p in repo.problems(code)
    ]


def test_a_repository_git_cannot_read_is_reported_not_taken_for_untracked(
    make_repo: RepoMaker,
) -> None:
    root = make_repo({"a.txt": "a"}, commit=True)
    (root / ".git" / "index").write_bytes(b"garbage")  # as git refuses a repository
    repo = RepoView(root)
    assert repo.files() == ["a.txt"]  # listed from disk instead
    assert not repo.git_listed
    [(code, path, message, _)] = problems(repo)
    assert (code, path) == (UNREADABLE, ".git")
    assert message.startswith("git cannot read the repository (fatal: ")
    assert message.endswith("; checks of what git tracks are skipped")


def test_the_configuration_file_is_not_read_twice(make_repo: RepoMaker) -> None:
    root = make_repo({"pyproject.toml": '[tool.crisp-lint]\nphase = "modelling"\n'})
    config = load_config(root)
    (root / "pyproject.toml").unlink()  # the view must answer from what the config read
    assert RepoView(root, config).text("pyproject.toml") == config.source_text


def test_lines_are_numbered_as_editors_number_them(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo({"notes.md": "a\u2028pasted\r\nb\x0cc\rTODO(crisp)\n"}))
    assert repo.lines("notes.md") == ["a\u2028pasted", "b\x0cc", "TODO(crisp)"]


def test_a_binary_file_where_text_is_expected(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo({"params.yaml": b"\x89PNG\r\n\x1a\n\x00\x00"}))
    assert repo.params() is None
    assert problems(repo) == [(UNREADABLE, "params.yaml", "is binary where text is expected", None)]


def test_a_file_that_is_not_utf8_names_the_line(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo({"notes.md": b"fine\nna\xefve\n"}))
    assert repo.text("notes.md") is None
    assert problems(repo) == [(UNREADABLE, "notes.md", "is not UTF-8 text; save it as UTF-8", 2)]


def test_a_very_large_file_is_not_read(make_repo: RepoMaker) -> None:
    root = make_repo({})
    with (root / "dvc.lock").open("wb") as handle:
        handle.truncate(MAX_TEXT_BYTES + 1)
    repo = RepoView(root)
    assert repo.yaml("dvc.lock") is None
    [(code, path, message, _)] = problems(repo)
    assert (code, path) == (UNREADABLE, "dvc.lock")
    assert message.startswith("too large to check (5.0 MB; the limit is 5 MB)")


def test_a_broken_symlink(make_repo: RepoMaker) -> None:
    root = make_repo({})
    (root / "params.yaml").symlink_to("gone.yaml")
    repo = RepoView(root)
    assert repo.params() is None
    assert problems(repo) == [
        (UNREADABLE, "params.yaml", "broken symbolic link to `gone.yaml`", None)
    ]


def test_a_broken_symlink_asked_about_is_recorded_with_its_target(make_repo: RepoMaker) -> None:
    """A rule that only asks whether a document exists still gets the reason it does not."""
    root = make_repo({"notes.md": "x", "docs/real.md": "x"})
    (root / "landscape.md").symlink_to("gone.md")
    (root / "docs-link").symlink_to("docs")
    repo = RepoView(root)
    assert not repo.is_file("landscape.md")
    assert not repo.exists("landscape.md")
    assert repo.exists("docs-link") and not repo.is_file("docs-link")  # a link to a folder
    assert not repo.exists("never-written.md")  # simply missing: nothing to record
    assert problems(repo) == [
        (UNREADABLE, "landscape.md", "broken symbolic link to `gone.md`", None)
    ]


def test_a_folder_where_a_file_is_expected(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo({"dvc.yaml/inner": "x"}))
    assert repo.dvc_yaml() is None
    assert problems(repo) == [
        (UNREADABLE, "dvc.yaml", "is a folder where a file is expected", None)
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files without read permission")
def test_an_unreadable_file(make_repo: RepoMaker) -> None:
    root = make_repo({"params.yaml": "a: 1\n"})
    (root / "params.yaml").chmod(0)
    repo = RepoView(root)
    assert repo.params() is None
    assert problems(repo) == [(UNREADABLE, "params.yaml", "cannot read: Permission denied", None)]


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("params.yaml", "train:\n  seed: 1\n bad: [\n", 3),
        ("pyproject.toml", "[tool]\nx = \n", 2),
        ("reports/gate.json", '{\n  "decision": "go",\n}\n', 3),
    ],
)
def test_malformed_yaml_toml_json_name_the_line(
    make_repo: RepoMaker, name: str, content: str, line: int
) -> None:
    repo = RepoView(make_repo({name: content}))
    parse = {"yaml": repo.yaml, "toml": repo.toml, "json": repo.json}[name.rpartition(".")[2]]
    assert parse(name) is None
    [(code, path, message, at)] = problems(repo)
    assert (code, path, at) == (MALFORMED, name, line)
    assert message.startswith(f"invalid {name.rpartition('.')[2].upper()}: ")


def test_a_yaml_tag_the_safe_loader_refuses_is_malformed(make_repo: RepoMaker) -> None:
    repo = RepoView(make_repo({"params.yaml": "a: !!python/object:os.system {}\n"}))
    assert repo.params() is None
    assert [c for c, *_ in problems(repo)] == [MALFORMED]


@pytest.mark.parametrize(
    "rel", ["../outside.md", "/etc/hostname", "a/../../outside.md", "a\0b", ""]
)
def test_paths_outside_the_repository_are_missing(make_repo: RepoMaker, rel: str) -> None:
    root = make_repo({"a/inside.md": "x"})
    (root.parent / "outside.md").write_text("secret")
    repo = RepoView(root)
    assert not repo.exists(rel) and not repo.is_file(rel)
    assert repo.text(rel) is None
    assert repo.problems(UNREADABLE) == []


def test_outside_git_a_deeper_gitignore_can_re_include_a_file(make_repo: RepoMaker) -> None:
    root = make_repo(
        {
            ".gitignore": "*.csv\n",
            "data/.gitignore": "!keep.csv\n",
            "data/keep.csv": "a\n",
            "data/drop.csv": "a\n",
        }
    )
    assert RepoView(root).files() == [".gitignore", "data/.gitignore", "data/keep.csv"]


def test_outside_git_a_gitignore_line_no_person_writes_is_passed_over(
    make_repo: RepoMaker,
) -> None:
    # Forty `*?` pairs backtrack for years in pathspec's regular expression; 100,000 `[`
    # cost minutes to translate. The walk passes over both and honours the rest.
    root = make_repo(
        {
            ".gitignore": "*?" * 40 + "Z\n" + "[" * 100_000 + "\n*.csv\n",
            "data/a-rather-long-file-name-that-the-stars-could-spread-over.csv": "a\n",
            "src/model.py": "",
        }
    )
    assert RepoView(root).files() == [".gitignore", "src/model.py"]
