"""Template drift: is the template version a project was generated from the newest one?

Shared by ``crisp-ml check-update`` and crisp-lint's drift rule, so it stays light: no
Copier import, only ``git`` in a subprocess (crisp_lint.spawn), PyYAML for the answers file and
``packaging.version`` (loaded on first use) to order PEP 440 tags the way Copier does.

Copier records the template in ``.copier-answers.yml``: ``_src_path`` (where the template
came from) and ``_commit`` (``git describe --tags`` of the template at generation time,
e.g. ``v1.0.0`` or ``v1.0.0-3-gabc1234``). The latest version is the highest PEP 440 tag
that is not a pre-release, which is the tag ``copier update`` moves to by default.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from crisp_lint import spawn

if TYPE_CHECKING:
    from packaging.version import Version

ANSWERS_FILE = ".copier-answers.yml"
GIT_TIMEOUT_SECONDS = 10.0

# What ``git describe --tags`` appends past the tag: commits since it and the hash.
_DESCRIBE_SUFFIX = re.compile(r"^(?P<tag>.+)-(?P<distance>\d+)-g(?P<hash>[0-9a-f]+)$")
# Copier's remote URL forms (copier/_vcs.py); anything else is a path.
_REMOTE_PREFIXES = ("gh:", "gl:", "git@", "git+", "http://", "https://", "ssh://", "git://")
# Git reads these from the environment before any -C: inside a git hook (pre-commit)
# they point at the *project's* repository and would redirect queries about the template.
_GIT_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


# A NamedTuple rather than a dataclass: see crisp_lint.model (start-up time).
class Drift(NamedTuple):
    """How a project's template version compares with the newest template release.

    ``reason`` says why the comparison could not be made (then ``update_available`` is
    False and ``latest`` may be None); it is None when ``current`` and ``latest`` were
    compared.
    """

    current: str | None
    latest: str | None
    update_available: bool
    source: str | None
    reason: str | None = None

    @property
    def known(self) -> bool:
        return self.reason is None

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


def template_drift(
    root: Path,
    *,
    remote: bool = False,
    answers_file: str = ANSWERS_FILE,
    timeout: float = GIT_TIMEOUT_SECONDS,
) -> Drift:
    """Compare the template version recorded in ``root``'s answers file with the newest tag.

    Local template sources (a path or ``file://`` URL) are read offline. Remote sources are
    reported as unknown unless ``remote`` is True, which allows one ``git ls-remote``
    bounded by ``timeout`` seconds.
    """
    answers_path = root / answers_file
    try:
        answers = read_answers(answers_path)
    except ValueError as error:
        return Drift(None, None, False, None, str(error))
    source, current = answers.get("_src_path"), answers.get("_commit")
    if not isinstance(source, str) or not source:
        return Drift(None, None, False, None, f"{answers_file} names no template (_src_path)")
    if not isinstance(current, str) or not current:
        return Drift(None, None, False, source, f"{answers_file} records no template commit")

    local = local_source_path(source, root)
    if local is None and not remote:
        return Drift(current, None, False, source, "unknown (remote source; offline)")
    if local is not None and not local.exists():
        return Drift(current, None, False, source, f"template source {local} does not exist")
    try:
        tags = list_tags(local if local is not None else source, timeout=timeout)
    except TemplateUnreachable as error:
        return Drift(current, None, False, source, str(error))

    latest = newest_release(tags)
    if latest is None:
        return Drift(current, None, False, source, "template has no PEP 440 release tag")
    current_version = describe_to_version(current)
    if current_version is None:
        return Drift(
            current, latest, False, source, f"template commit {current!r} is not a version tag"
        )
    return Drift(current, latest, _parse(latest) > current_version, source)


class TemplateUnreachable(Exception):
    """The template's tags could not be listed (missing repo, git error or timeout)."""


def local_source_path(source: str, root: Path) -> Path | None:
    """The filesystem path of a local template source, or None for a remote one.

    Relative paths are taken relative to the project root; ``~`` is expanded.
    """
    if source.startswith("file://"):
        return Path(source.removeprefix("file://")).expanduser()
    if source.startswith(_REMOTE_PREFIXES) or (source.endswith(".git") and ":" in source):
        return None
    path = Path(source).expanduser()
    return path if path.is_absolute() else (root / path).resolve()


def list_tags(source: Path | str, *, timeout: float = GIT_TIMEOUT_SECONDS) -> list[str]:
    """Tag names of a local repository (``git tag``) or a remote one (``git ls-remote``)."""
    if isinstance(source, Path):
        command = ["git", "-C", str(source), "tag", "--list"]
    else:
        command = ["git", "ls-remote", "--tags", "--refs", "--", source]
    env = {k: v for k, v in os.environ.items() if k not in _GIT_REPO_ENV}
    # A remote asking for credentials must fail, not wait for a person.
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        done = spawn.run(command, timeout, env)
    except spawn.Timeout:
        raise TemplateUnreachable(f"listing tags of {source} took over {timeout:g} s") from None
    except OSError as error:
        raise TemplateUnreachable(f"cannot run git: {error}") from None
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", "replace")
        detail = stderr.strip().splitlines()[-1:] or ["git failed"]
        raise TemplateUnreachable(f"cannot list tags of {source}: {detail[0]}")
    lines = done.stdout.decode("utf-8", "replace").splitlines()
    if isinstance(source, Path):
        return [line.strip() for line in lines if line.strip()]
    return [line.split("\t", 1)[1].removeprefix("refs/tags/") for line in lines if "\t" in line]


def newest_release(tags: list[str]) -> str | None:
    """The highest tag that is a PEP 440 version and not a pre-release, as Copier picks it."""
    releases = [(version, tag) for tag in tags if (version := _parse(tag)) is not None]
    releases = [(version, tag) for version, tag in releases if not version.is_prerelease]
    return max(releases)[1] if releases else None


def describe_to_version(described: str) -> Version | None:
    """The PEP 440 version of a ``git describe --tags`` string, or None if it is not one.

    ``v1.0.0`` is 1.0.0; ``v1.0.0-3-gabc1234`` (three commits past the tag) is
    1.0.0.post3+abc1234, newer than the tag and older than the next release, as in Copier.
    """
    if match := _DESCRIBE_SUFFIX.match(described):
        base = _parse(match["tag"])
        if base is None:
            return None
        return _parse(f"{base.public}.post{match['distance']}+g{match['hash']}")
    return _parse(described)


# What a run of letters in a PEP 440 version's public part can be (after
# packaging.version.VERSION_PATTERN): the "v" prefix, then a pre-release, a post-release and
# a dev marker, each optional and with nothing between them at the least ("1.0arev1dev2").
_LETTERS = re.compile(r"[a-z]+")
_VERSION_WORDS = re.compile(r"v?(?:alpha|a|beta|b|preview|pre|c|rc)?(?:post|rev|r)?(?:dev)?")


def _may_be_version(text: str) -> bool:
    """False only for what cannot be a PEP 440 version, such as the short commit hash
    Copier records for a template without tags (``6e14561``), so that checking one does
    not import ``packaging`` (a tenth of crisp-lint's start-up). True may still be wrong."""
    if not text.isascii():
        return True  # case-insensitive matching of non-ASCII letters: leave it to packaging
    public = text.strip().lower().partition("+")[0]  # after "+", any local label is allowed
    if not public.lstrip("v")[:1].isdigit():
        return False
    return all(_VERSION_WORDS.fullmatch(run) for run in _LETTERS.findall(public))


def _parse(text: str) -> Version | None:
    if not _may_be_version(text):
        return None
    from packaging.version import InvalidVersion, Version

    try:
        return Version(text)
    except InvalidVersion:
        return None


def read_answers(path: Path) -> dict[str, Any]:
    """The answers file as a mapping; ValueError with a readable message when it is not one."""
    import yaml

    from crisp_lint.bounded import LoadError, load_yaml, read_text

    try:
        text = read_text(path)  # never blocks on a FIFO, never reads a huge file
    except FileNotFoundError:
        raise ValueError(f"{path.name} not found: not generated by Copier") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {path.name}: {error}") from None
    try:
        data = load_yaml(text)
    except LoadError as error:
        raise ValueError(f"{path.name}: {error}") from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ValueError(f"{path.name} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is not a mapping of answers")
    return data
