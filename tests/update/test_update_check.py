"""``crisp-ml check-update`` says whether a newer template release exists, offline."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_an_older_project_exits_1_and_names_the_newer_version(new_project, crisp_ml):
    project = new_project("v1.0.0")

    done = crisp_ml("check-update", str(project))

    assert done.returncode == 1
    assert "v1.0.0 -> v1.1.0 available" in done.stdout
    assert "crisp-ml update" in done.stdout


def test_a_project_at_the_newest_tag_exits_0(new_project, crisp_ml):
    done = crisp_ml("check-update", str(new_project("v1.1.0")))

    assert done.returncode == 0
    assert "up to date" in done.stdout


def test_json_output_carries_the_comparison(new_project, crisp_ml, template_repo):
    project = new_project("v1.0.0")

    done = crisp_ml("check-update", "--output-format", "json", str(project))

    assert done.returncode == 1
    assert json.loads(done.stdout) == {
        "repo": str(project),
        "current": "v1.0.0",
        "latest": "v1.1.0",
        "update_available": True,
        "source": str(template_repo[0].resolve()),
        "reason": None,
    }


def test_the_current_directory_is_the_default(new_project, crisp_ml):
    done = crisp_ml("check-update", cwd=new_project("v1.1.0"))

    assert done.returncode == 0


def test_a_remote_source_without_remote_exits_3(tmp_path, crisp_ml):
    (tmp_path / ".copier-answers.yml").write_text(
        "_commit: v1.0.0\n_src_path: https://github.com/crisp-ml/crisp-ml.git\n"
    )

    done = crisp_ml("check-update", str(tmp_path))

    assert done.returncode == 3
    assert "remote source; offline" in done.stderr


def test_a_folder_without_answers_exits_2(tmp_path, crisp_ml):
    done = crisp_ml("check-update", str(tmp_path))

    assert done.returncode == 2
    assert ".copier-answers.yml" in done.stderr
    assert done.stderr.count(".copier-answers.yml") == 1, "the file is named once, not twice"
