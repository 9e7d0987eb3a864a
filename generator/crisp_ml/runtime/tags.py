"""``make tags``: mark data versions with the workflow's `raw` and `dataset` tags (steps 3.5, 4.8).

A data version is what ``dvc.lock`` records for an output: ``data/raw`` (the raw tables) and
``data/prepared`` (the final dataset). Each new version gets an annotated git tag on the
commit whose ``dvc.lock`` holds it, numbered per kind: ``raw-v1``, ``raw-v2``... and
``dataset-v1``... The tag message carries the hash, so a version that is already tagged is
not tagged again. Then the data is pushed to the DVC remote, if one is configured.

A failed push says why when DVC's own message does not: refused or missing S3 credentials
(where they go: ``.dvc/config.local`` or the environment) and an unreachable endpoint
(``endpointurl``). ``python -m crisp_ml.runtime.tags --push-only`` gives the same for a
plain ``dvc push`` (hooks, CI).

Get a version back with ``git checkout raw-v1 && dvc checkout``, or without checking out:
``dvc get . data/raw --rev raw-v1``. Share the tags with ``git push origin --tags``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import yaml

from .config import project_root

# tag kind -> the DVC output it versions
TAGGED_OUTPUTS = {"raw": "data/raw", "dataset": "data/prepared"}
TIMEOUT = 300  # seconds; a push to a slow remote takes a while
DVC = [sys.executable, "-m", "dvc"]  # this environment's DVC, whatever PATH says
# What DVC's output holds when S3 (or an S3-compatible server) refuses the keys, finds none,
# or cannot be reached: boto's words, as DVC passes them on.
REFUSED_MARKERS = (
    "(403)",
    "Forbidden",
    "AccessDenied",
    "Access Denied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
)
NO_CREDENTIALS_MARKERS = ("Unable to locate credentials", "NoCredentialsError")
UNREACHABLE_MARKERS = (
    "Could not connect to the endpoint URL",
    "EndpointConnectionError",
    "Connect timeout on endpoint URL",
    "Read timeout on endpoint URL",
)


class TagError(RuntimeError):
    """Tagging is not possible yet; the message says what to do first."""


def _run(args: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            args, cwd=root, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise TagError(f"`{args[0]}` is not installed; run `make setup`") from None
    except subprocess.TimeoutExpired:
        raise TagError(f"`{' '.join(args)}` did not finish within {TIMEOUT} s") from None


def locked_outputs(root: Path) -> dict[str, tuple[str, str]]:
    """Every output in ``dvc.lock``: path -> (stage, hash)."""
    path = root / "dvc.lock"
    if not path.is_file():
        raise TagError(
            "dvc.lock not found: the data is not committed to DVC yet. "
            "Run `make repro`, then `git add dvc.lock` and commit."
        )
    try:
        lock = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise TagError(f"dvc.lock is not valid YAML ({error}); run `dvc repro`") from None
    outputs = {}
    for stage, entry in (lock.get("stages") or {}).items():
        for out in (entry or {}).get("outs") or []:
            if out.get("md5"):
                outputs[str(out["path"])] = (stage, str(out["md5"]))
    return outputs


def existing_tags(kind: str, root: Path) -> dict[str, str]:
    """The tags ``<kind>-v<N>`` already in the repository, with their messages."""
    listing = _run(
        ["git", "tag", "--list", f"{kind}-v*", "--format=%(refname:strip=2)%09%(contents:subject)"],
        root,
    )
    tags = {}
    for line in listing.stdout.splitlines():
        name, _, message = line.partition("\t")
        if re.fullmatch(rf"{re.escape(kind)}-v\d+", name):
            tags[name] = message
    return tags


def next_tag(kind: str, tags: dict[str, str], version: str) -> tuple[str, bool]:
    """The tag for data ``version``: an existing one that names it, else the next number.

    Returns the tag and whether it must be created.
    """
    for name, message in tags.items():
        if version in message.split():
            return name, False
    numbers = [int(name.rsplit("-v", 1)[1]) for name in tags]
    return f"{kind}-v{max(numbers, default=0) + 1}", True


def check_committed(root: Path) -> None:
    """dvc.lock must be committed, or the tag would point at a commit without this data."""
    if _run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], root).returncode != 0:
        raise TagError("no git commit yet: commit the project (with dvc.lock) first")
    if _run(["git", "ls-files", "--error-unmatch", "dvc.lock"], root).returncode != 0:
        raise TagError(
            "dvc.lock is not committed to git, so the data is not committed to DVC yet: "
            "run `git add dvc.lock` and commit, then `make tags`"
        )
    if _run(["git", "diff", "--quiet", "HEAD", "--", "dvc.lock"], root).returncode != 0:
        raise TagError("dvc.lock has uncommitted changes: commit them, then `make tags`")


def tag_data(root: Path, push: bool) -> list[str]:
    """Create the missing tags, push the data, and return what was done, line by line."""
    if _run(["git", "rev-parse", "--git-dir"], root).returncode != 0:
        raise TagError("not a git repository: run `git init` and commit the project first")
    outputs = locked_outputs(root)
    check_committed(root)
    report, stages = [], []
    for kind, path in TAGGED_OUTPUTS.items():
        if path not in outputs:
            raise TagError(
                f"{path} is not in dvc.lock: the data is not committed to DVC yet. "
                "Run `make repro`, commit dvc.lock, then `make tags`."
            )
        stage, version = outputs[path]
        stages.append(stage)
        tag, create = next_tag(kind, existing_tags(kind, root), version)
        if create:
            message = f"{path} {version} (stage {stage} in dvc.lock)"
            created = _run(["git", "tag", "--annotate", tag, "--message", message], root)
            if created.returncode != 0:
                raise TagError(f"git could not create {tag}: {created.stderr.strip()}")
            report.append(f"tagged {path} ({version}) as {tag}")
        else:
            report.append(f"{path} ({version}) is already tagged {tag}")
    if push:
        report.append(push_data(root, stages))
    return report


def push_data(root: Path, stages: list[str], *, tagged: bool = True) -> str:
    """Push the tagged outputs (all outputs without ``stages``) to the default DVC remote,
    when there is one. A refusal or an unreachable endpoint is explained with its fix."""
    default = _run([*DVC, "remote", "default"], root)
    if default.returncode != 0:
        return "no default DVC remote: data not pushed (add one with `dvc remote add -d`)"
    remote = default.stdout.strip() or "<remote>"
    pushed = _run([*DVC, "push", *stages], root)
    if pushed.returncode != 0:
        output = (pushed.stderr + pushed.stdout).strip()
        done = "tags created, but " if tagged else ""
        cause = explain_push_error(output, remote)
        raise TagError(
            f"{done}`dvc push` failed: {_first_error(output)}" + (f"\n{cause}" if cause else "")
        )
    return "pushed the data to the DVC remote"


def _first_error(output: str) -> str:
    """DVC's error line, without its "Having any troubles?" footer."""
    lines = [
        line for line in output.splitlines() if line.strip() and "Having any troubles" not in line
    ]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["(no output)"])[0]


def explain_push_error(output: str, remote: str) -> str | None:
    """What DVC's bare S3 error means and how to fix it; None for errors it does not know.

    DVC prints boto's last words ("Forbidden", "Unable to locate credentials", "Could not
    connect to the endpoint URL") with nothing about where credentials or endpoints go.
    """
    keys = (
        f"put the keys in .dvc/config.local (git-ignored) with `dvc remote modify --local {remote}"
        f" access_key_id <KEY>` and `dvc remote modify --local {remote} secret_access_key"
        " <SECRET>`, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (CI: from its secrets)"
    )
    endpoint = (
        f"an S3-compatible server needs `dvc remote modify {remote} endpointurl <URL>`"
        " (`dvc remote list` shows the URL DVC uses)"
    )
    if any(marker in output for marker in REFUSED_MARKERS):
        return f"the DVC remote {remote!r} refused the credentials: {keys}; {endpoint}"
    if any(marker in output for marker in NO_CREDENTIALS_MARKERS):
        return f"no credentials for the DVC remote {remote!r}: {keys}"
    if any(marker in output for marker in UNREACHABLE_MARKERS):
        return (
            f"cannot reach the endpoint of the DVC remote {remote!r}: start the server or fix the"
            f" URL ({endpoint}); bound a hung one with `dvc remote modify {remote}"
            " connect_timeout 5` and `read_timeout 30`"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make tags", description="Tag the raw and prepared data versions (raw-vN, dataset-vN)."
    )
    parser.add_argument("--no-push", action="store_true", help="tag only; do not `dvc push`")
    parser.add_argument(
        "--push-only",
        action="store_true",
        help="`dvc push` everything, explaining credential and endpoint errors; no tags",
    )
    args = parser.parse_args(argv)
    try:
        if args.push_only:
            print(f"tags: {push_data(project_root(), [], tagged=False)}")
            return 0
        lines = tag_data(project_root(), push=not args.no_push)
    except TagError as error:
        print(f"tags: error: {error}", file=sys.stderr)
        return 1
    for line in lines:
        print(f"tags: {line}")
    print("tags: share them with `git push origin --tags`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
