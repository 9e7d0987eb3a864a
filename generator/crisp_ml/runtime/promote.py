"""Move the registry's aliases (CRISP-ML step 7.3): who serves, decided on evidence, on record.

``python -m crisp_ml.runtime.promote COMMAND``, run from the project (``make promote``,
``make promote-champion REASON="..."``):

- ``challenger``: the version train registered (``reports/train/run.json``) gets the alias
  ``challenger`` when the evaluation gate (``reports/evaluation/gate.json``) said go; the
  version is tagged ``crisp.gate=go`` with the gate's metric, value and interval. When no
  champion exists yet, it becomes champion too: there is nothing to compare it with. A
  no-go tags the version ``crisp.gate=no-go`` and leaves every alias as it was.
- ``champion --reason TEXT [--by NAME]``: the experiment concluded; the challenger becomes
  champion, the champion it replaces keeps the alias ``previous-champion`` and the alias
  ``challenger`` is removed. Refused while the challenger's gate tag is not go, or while its
  live comparison says no: the latest entry of ``reports/monitoring/history.jsonl`` must
  show at least ``promote.min_feedback`` rewards for the challenger arm (default
  ``deploy.canary.min_rewards``, else 100) and a mean reward no more than
  ``promote.reward_margin`` (default ``deploy.canary.rollback_margin``, else 0.05) below the
  champion arm's. ``--force`` promotes without a live comparison when there is none at all
  (no history, or no reward for this challenger version in its latest window; recorded as
  forced); it never overrides the gate, too few rewards or a worse result.
- ``rollback --reason TEXT [--by NAME]``: ``previous-champion`` becomes champion again (and
  the demoted version becomes ``previous-champion``, so a rollback can be undone the same way).
- ``status``: the versions that hold each alias.

Every alias change appends one JSON line to ``reports/deployment/promotions.jsonl``
(commit it: it is the audit trail) and tags the version with who (``--by``, else git's
``user.name``, else ``$USER``), why and when. Nothing changed, nothing written: a repeated
``make promote`` leaves git clean.

Exit codes: 0 done; 1 refused (no-go, no challenger, live comparison says no); 2 usage or
configuration error (unreadable gate or run.json, a gate older than the model, no registry);
3 no gate result yet (as ``crisp_ml.runtime.gate_check``: run ``dvc repro evaluate``).
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from .config import ConfigError, load_params, project_root
from .gate_check import GATE_FILE, GateFileError, describe, read_gate
from .pipeline import TRAIN_DIR, StageError
from .registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS_CHAMPION,
    RUN_RECORD_KEY,
    client,
    registered_model_name,
    version_by_alias,
)
from .tracking import MODEL_SHA256_TAG, public_uri

DONE, REFUSED, USAGE, NO_GATE = 0, 1, 2, 3
RUN_FILE = TRAIN_DIR / "run.json"
AUDIT_FILE = Path("reports/deployment/promotions.jsonl")
HISTORY_FILE = Path("reports/monitoring/history.jsonl")
GATE_TAG = "crisp.gate"
DEFAULT_MIN_FEEDBACK = 100
DEFAULT_REWARD_MARGIN = 0.05
GIT_TIMEOUT_SECONDS = 10


class Refused(Exception):
    """The promotion is not allowed now (exit code 1); the message says what would allow it."""


class Unusable(Exception):
    """An input or the command line cannot be used (exit code 2, or the gate's own code)."""

    def __init__(self, message: str, exit_code: int = USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Project:
    """What every command needs: the root, its parameters and the registry."""

    root: Path
    params: dict[str, Any]
    name: str
    client: Any
    uri: str


# Inputs ------------------------------------------------------------------------------------


def open_project(root: Path) -> Project:
    try:
        params = load_params(root / "params.yaml")
        mlflow_client, uri = client(root, params)
    except (ConfigError, StageError) as error:
        raise Unusable(str(error)) from None
    return Project(root, params, registered_model_name(root, params), mlflow_client, uri)


def recorded_version(project: Project) -> str:
    """The version train registered, from run.json; it must be the project's model."""
    path = project.root / RUN_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Unusable(f"{path}: not found; run `dvc repro train` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Unusable(f"{path}: unreadable ({error}); re-run `dvc repro train`") from None
    registered = record.get(RUN_RECORD_KEY) if isinstance(record, dict) else None
    if not isinstance(registered, dict) or not registered.get("version"):
        raise Unusable(
            f"{path}: no `{RUN_RECORD_KEY}` version (trained before models were registered);"
            " run `dvc repro --force train`"
        )
    if registered.get("name") != project.name:
        raise Unusable(
            f"{path}: registered as {registered.get('name')!r}, but params.yaml names the model "
            f"{project.name!r}; run `dvc repro train` to register it under the new name"
        )
    return str(registered["version"])


def registered_version(project: Project, version: str) -> Any:
    """The registry's version ``version``, which must be the model run.json describes: with
    the embedded store each clone numbers its own versions, so a committed number may name
    another model (or none) in this store."""
    from mlflow.exceptions import MlflowException

    run_file = project.root / RUN_FILE
    try:
        model = project.client.get_model_version(project.name, version)
    except MlflowException:
        model = None
    expected = json.loads(run_file.read_text(encoding="utf-8")).get("model_sha256")
    found = (model.tags or {}).get(MODEL_SHA256_TAG) if model is not None else None
    if model is None or (expected and found != expected):
        what = "does not exist" if model is None else "is another model (model.sha256 differs)"
        raise Unusable(
            f"{run_file}: version {version} of {project.name!r} {what} in the MLflow registry"
            f" at {project.uri}; run `dvc repro --force train` to register this model here"
        )
    return model


def check_gate_is_current(root: Path) -> None:
    """Refuse a gate.json that judged another run.json than the one on disk.

    dvc.lock records the md5 of each dependency of evaluate when it ran; without a lock
    entry (a project without DVC's evaluate stage) there is nothing to compare.
    """
    try:
        lock = yaml.safe_load((root / "dvc.lock").read_text(encoding="utf-8")) or {}
        deps = lock["stages"]["evaluate"]["deps"]
        recorded = next(dep["md5"] for dep in deps if dep.get("path") == str(RUN_FILE))
    except (OSError, yaml.YAMLError, KeyError, TypeError, StopIteration):
        return
    current = hashlib.md5((root / RUN_FILE).read_bytes(), usedforsecurity=False).hexdigest()
    if current != recorded:
        raise Unusable(
            f"{root / GATE_FILE}: judged an older model than {RUN_FILE} records;"
            " run `dvc repro evaluate` first"
        )


def gate_of(root: Path) -> dict[str, Any]:
    try:
        return read_gate(root / GATE_FILE)
    except GateFileError as error:
        raise Unusable(str(error), error.exit_code) from None


def identity(given: str | None, root: Path) -> str:
    """Who promotes: ``--by``, else git's user.name, else the login name."""
    if given and given.strip():
        return given.strip()
    try:
        result = subprocess.run(
            ["git", "config", "user.name"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        raise Unusable("who is promoting? pass --by NAME (no git user.name, no $USER)") from None


def reason_of(text: str | None) -> str:
    if not text or not text.strip():
        raise Unusable('a reason is required: --reason "why" (make ... REASON="why")')
    return text.strip()


# The live comparison ------------------------------------------------------------------------


def _section(params: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The nested mapping ``params[keys[0]][keys[1]]...``; empty when any level is missing."""
    section: Any = params
    for key in keys:
        section = section.get(key) if isinstance(section, dict) else None
    return section if isinstance(section, dict) else {}


def _setting(params: dict[str, Any], key: str, fallback: str, default: float) -> float:
    """``promote.<key>``, else ``deploy.canary.<fallback>``, else ``default``."""
    value = _section(params, "promote").get(key)
    if value is None:
        value = _section(params, "deploy", "canary").get(fallback, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise Unusable(f"params.yaml: promote.{key} must be a number >= 0, got {value!r}")
    return float(value)


def latest_arms(root: Path) -> dict[str, Any] | None:
    """The per-arm statistics of the monitoring history's latest entry; None when there are
    none. Read defensively: the history is another component's file."""
    path = root / HISTORY_FILE
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise Unusable(f"{path}: unreadable ({error}); run `make monitor` again") from None
    if not lines:
        return None
    try:
        entry = json.loads(lines[-1])
    except json.JSONDecodeError as error:
        raise Unusable(
            f"{path}: the last line is not JSON ({error.msg}); fix or delete it"
        ) from None
    arms = entry.get("arms") if isinstance(entry, dict) else None
    return arms if isinstance(arms, dict) and arms else None


def _arm(arms: dict[str, Any], name: str) -> tuple[int, float | None, list[str]]:
    """An arm's reward count, mean reward and the model versions it served."""
    arm = arms.get(name) if isinstance(arms.get(name), dict) else {}
    rewards = arm.get("rewards")
    mean = arm.get("mean_reward")
    versions = arm.get("model_versions")
    return (
        rewards if isinstance(rewards, int) and not isinstance(rewards, bool) else 0,
        float(mean) if isinstance(mean, int | float) and not isinstance(mean, bool) else None,
        [str(v) for v in versions] if isinstance(versions, list) else [],
    )


def live_comparison(project: Project, challenger: str, force: bool) -> dict[str, Any]:
    """What the monitoring history says about the challenger against the champion; raises
    :class:`Refused` when it says no (or says nothing and ``force`` is not given)."""
    arms = latest_arms(project.root)
    source = project.root / HISTORY_FILE
    if arms is not None:
        rewards, _, versions = _arm(arms, CHALLENGER)
        if versions and challenger not in versions:
            arms = None  # that window served an older challenger: no evidence on this one
        elif rewards == 0:
            arms = None  # a window without feedback on the challenger is no evidence either
    if arms is None:
        if force:
            return {"forced": True, "note": f"no live comparison in {HISTORY_FILE}"}
        raise Refused(
            f"{source}: no live comparison for challenger version {challenger} yet; serve it,"
            " collect feedback and run `make monitor` (or pass --force to promote without one,"
            " recorded in the audit trail)"
        )
    minimum = int(_setting(project.params, "min_feedback", "min_rewards", DEFAULT_MIN_FEEDBACK))
    margin = _setting(project.params, "reward_margin", "rollback_margin", DEFAULT_REWARD_MARGIN)
    rewards, mean, _ = _arm(arms, CHALLENGER)
    champion_rewards, champion_mean, _ = _arm(arms, CHAMPION)
    found = {
        "challenger": {"rewards": rewards, "mean_reward": mean},
        "champion": {"rewards": champion_rewards, "mean_reward": champion_mean},
        "min_feedback": minimum,
        "reward_margin": margin,
    }
    if rewards < minimum or mean is None:
        raise Refused(
            f"{source}: the challenger has {rewards} rewards, fewer than the {minimum} needed"
            " (promote.min_feedback); keep it serving and run `make monitor` again"
        )
    if champion_mean is not None and mean < champion_mean - margin:
        raise Refused(
            f"{source}: the challenger's mean reward {mean:.4g} is more than {margin:.4g} below"
            f" the champion's {champion_mean:.4g}; keep the champion (or retrain)"
        )
    return found


# Changing aliases ---------------------------------------------------------------------------


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit(project: Project, entry: dict[str, Any]) -> None:
    """Append one line to the audit trail (sorted keys: lines diff well), with the store the
    version number belongs to: a number means nothing without its registry, and crisp-lint
    compares this ``tracking_uri`` with the project's configured store."""
    entry = {**entry, "tracking_uri": public_uri(project.uri, project.root)}
    path = project.root / AUDIT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as file:
        file.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")


def _version_number(project: Project, alias: str) -> str | None:
    version = version_by_alias(project.client, project.name, alias)
    return str(version.version) if version is not None else None


def gate_tags(gate: dict[str, Any]) -> dict[str, str]:
    """The gate's verdict as model-version tags (MLflow tags are strings)."""
    tags = {
        GATE_TAG: str(gate["decision"]),
        "crisp.gate.metric": str(gate.get("metric")),
        "crisp.gate.value": str(gate.get("value")),
        "crisp.gate.decide_on": str(gate.get("decide_on")),
    }
    if isinstance(interval := gate.get("interval"), dict):
        for key in ("low", "high", "confidence"):
            tags[f"crisp.gate.interval.{key}"] = str(interval.get(key))
    return tags


def promote_challenger(project: Project, by: str | None) -> int:
    gate = gate_of(project.root)
    version = recorded_version(project)
    check_gate_is_current(project.root)
    model = registered_version(project, version)
    print(describe(gate))
    for key, value in gate_tags(gate).items():
        project.client.set_model_version_tag(project.name, version, key, value)
    if gate["decision"] != "go":
        raise Refused(
            f"{project.root / GATE_FILE}: no-go; version {version} of {project.name!r} is not"
            " promoted and the aliases are unchanged: improve the model, then `dvc repro`"
        )
    previous = _version_number(project, CHALLENGER)
    champion = _version_number(project, CHAMPION)
    if previous == version and champion is not None:
        print(f"promote: version {version} of {project.name!r} already is the challenger")
        return DONE
    project.client.set_registered_model_alias(project.name, CHALLENGER, version)
    entry = {
        "time": now(),
        "action": CHALLENGER,
        "model": project.name,
        "version": version,
        "previous_challenger": previous,
        "model_sha256": (model.tags or {}).get(MODEL_SHA256_TAG),
        "gate": {key: gate.get(key) for key in ("decision", "metric", "value", "interval")},
        "by": identity(by, project.root),
    }
    print(f"promote: version {version} of {project.name!r} is now the challenger")
    if champion is None:
        project.client.set_registered_model_alias(project.name, CHAMPION, version)
        _record_promotion(project, version, entry["by"], "first go version", None, entry["time"])
        entry["first_champion"] = True
        print(
            f"promote: there was no champion, so version {version} is champion too (nothing to"
            " compare it with); later challengers face it live"
        )
    audit(project, entry)
    print(f"promote: recorded in {AUDIT_FILE}; commit it")
    return DONE


def _record_promotion(
    project: Project, version: str, by: str, reason: str, previous: str | None, at: str
) -> None:
    tags = {
        "crisp.promoted_by": by,
        "crisp.promoted_reason": reason,
        "crisp.promoted_at": at,
        "crisp.previous_champion": previous or "none",
    }
    for key, value in tags.items():
        project.client.set_model_version_tag(project.name, version, key, value)


def promote_champion(project: Project, reason: str | None, by: str | None, force: bool) -> int:
    reason = reason_of(reason)
    challenger = version_by_alias(project.client, project.name, CHALLENGER)
    if challenger is None:
        raise Refused(f"{project.name!r} has no challenger; run `make promote` first")
    version = str(challenger.version)
    gate = (challenger.tags or {}).get(GATE_TAG)
    if gate != "go":
        raise Refused(
            f"challenger version {version} of {project.name!r} has no go gate ({GATE_TAG}="
            f"{gate}); only `make promote` after a go gate makes a challenger"
        )
    previous = _version_number(project, CHAMPION)
    if previous == version:
        raise Refused(f"version {version} of {project.name!r} already is the champion")
    live = live_comparison(project, version, force)
    who, at = identity(by, project.root), now()
    project.client.set_registered_model_alias(project.name, CHAMPION, version)
    if previous is not None:
        project.client.set_registered_model_alias(project.name, PREVIOUS_CHAMPION, previous)
    project.client.delete_registered_model_alias(project.name, CHALLENGER)
    _record_promotion(project, version, who, reason, previous, at)
    audit(
        project,
        {
            "time": at,
            "action": CHAMPION,
            "model": project.name,
            "version": version,
            "previous_champion": previous,
            "by": who,
            "reason": reason,
            "live": live,
        },
    )
    print(
        f"promote: version {version} of {project.name!r} is now the champion (was {previous});"
        f" `python -m crisp_ml.runtime.promote rollback --reason ...` restores {previous}."
        f" Recorded in {AUDIT_FILE}; commit it"
    )
    return DONE


def rollback(project: Project, reason: str | None, by: str | None) -> int:
    reason = reason_of(reason)
    restored = _version_number(project, PREVIOUS_CHAMPION)
    if restored is None:
        raise Refused(f"{project.name!r} has no previous champion to roll back to")
    demoted = _version_number(project, CHAMPION)
    who, at = identity(by, project.root), now()
    project.client.set_registered_model_alias(project.name, CHAMPION, restored)
    if demoted is not None:
        project.client.set_registered_model_alias(project.name, PREVIOUS_CHAMPION, demoted)
        for key, value in (("by", who), ("reason", reason), ("at", at)):
            project.client.set_model_version_tag(
                project.name, demoted, f"crisp.rolled_back_{key}", value
            )
    _record_promotion(project, restored, who, f"rollback: {reason}", demoted, at)
    audit(
        project,
        {
            "time": at,
            "action": "rollback",
            "model": project.name,
            "version": restored,
            "previous_champion": demoted,
            "by": who,
            "reason": reason,
        },
    )
    print(
        f"promote: rolled back: version {restored} of {project.name!r} is champion again"
        f" (version {demoted} is previous-champion). Recorded in {AUDIT_FILE}; commit it"
    )
    return DONE


def status(project: Project) -> int:
    for alias in (CHAMPION, CHALLENGER, PREVIOUS_CHAMPION):
        print(f"{alias}: {_version_number(project, alias) or '-'}")
    print(f"registered model {project.name!r} in {project.uri}")
    return DONE


# Command line -------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    main_parser = argparse.ArgumentParser(
        prog="python -m crisp_ml.runtime.promote", description=__doc__.splitlines()[0]
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    challenger = commands.add_parser("challenger", help="alias challenger, if the gate said go")
    challenger.add_argument("--by", help="who promotes (default: git user.name, else $USER)")
    for name, text in (("champion", "the challenger becomes champion"), ("rollback", "undo")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--reason", required=True, help="why: kept in the audit trail")
        command.add_argument("--by", help="who promotes (default: git user.name, else $USER)")
        if name == "champion":
            command.add_argument(
                "--force",
                action="store_true",
                help="promote without a live comparison when the history has none (recorded)",
            )
    commands.add_parser("status", help="which version holds each alias")
    return main_parser


def run(args: argparse.Namespace, root: Path) -> int:
    from mlflow.exceptions import MlflowException

    project = open_project(root)
    try:
        if args.command == "challenger":
            return promote_challenger(project, args.by)
        if args.command == "champion":
            return promote_champion(project, args.reason, args.by, args.force)
        if args.command == "rollback":
            return rollback(project, args.reason, args.by)
        return status(project)
    except MlflowException as error:
        raise Unusable(
            f"the MLflow registry at {project.uri} refused ({error.message}); check"
            " MLFLOW_TRACKING_URI or mlflow.tracking_uri in params.yaml, and that"
            " `dvc repro train` ran against this store"
        ) from None


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    args = parser().parse_args(argv)  # bad arguments: argparse exits with 2 (USAGE)
    try:
        return run(args, root or project_root())
    except Refused as error:
        print(f"promote {args.command}: refused: {error}", file=sys.stderr)
        return REFUSED
    except Unusable as error:
        print(f"promote {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except StageError as error:
        print(f"promote {args.command}: error: {error}", file=sys.stderr)
        return USAGE


if __name__ == "__main__":
    sys.exit(main())
