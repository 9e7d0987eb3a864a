"""The workflow's data tags: ``raw-vN`` and ``dataset-vN`` name data versions in git.

``make tags`` in a generated project creates an annotated tag per new version whose
subject names the output and the hash ``dvc.lock`` records for it, e.g.
``data/raw 1a2b...dir (stage ingest in dvc.lock)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from crisp_lint.checks._pipeline import LOCK_FILE, locked_hash
from crisp_lint.model import Problem

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

GIT_HISTORY = "git-history"  # the `--with` input these rules need: tags are not in shallow clones


def untagged_version(repo: RepoView, kind: str, path: str) -> Iterator[Problem]:
    """A problem when the version of ``path`` in dvc.lock has no ``<kind>-vN`` tag."""
    version = locked_hash(repo, path)
    if version is None:
        return  # not run yet: MO008 asks for dvc.lock
    subjects = repo.git("tag", "--list", f"{kind}-v*", "--format=%(contents:subject)")
    if subjects is None:
        return  # not a git work tree
    if not any(version in subject.split() for subject in subjects.splitlines()):
        how = (
            "run `make tags`"
            if "tags" in repo.makefile_targets()
            else f"tag it (`git tag -a {kind}-vN -m '{path} {version}'`)"
        )
        yield Problem(
            LOCK_FILE,
            f"{path} version {version} has no `{kind}-vN` tag: {how} and `git push --tags`",
        )
