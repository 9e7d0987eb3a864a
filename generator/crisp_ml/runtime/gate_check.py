"""Let a model through to promotion only when the evaluation gate said "go" (step 6.4).

The evaluate stage writes ``reports/evaluation/gate.json`` from the phase-1 success criteria;
CI's promotion job runs ``python -m crisp_ml.runtime.gate_check [GATE_FILE]`` first and stops on a
non-zero exit. The exit codes, distinct so a pipeline can tell "the model is not good
enough" from "the check could not be made":

- 0 go: the gate said go; the decision and its reasons are printed;
- 1 no-go: the gate said no-go; the reasons are printed;
- 2 invalid input: the gate file is unreadable, not JSON or not the shape the evaluate
  stage writes, or the command line is wrong (argparse's own exit code); re-run
  ``dvc repro evaluate`` or fix the command;
- 3 no gate result: the gate file does not exist; run ``dvc repro evaluate`` first.

Standard library only, so a CI job can run it without installing the project.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

GATE_FILE = Path("reports/evaluation/gate.json")
GO, NO_GO, INVALID, MISSING = 0, 1, 2, 3


class GateFileError(Exception):
    """The gate file is not what the evaluate stage writes (exit code 2)."""

    exit_code = INVALID


class GateFileMissing(GateFileError):
    """There is no gate file: the evaluate stage has not run (exit code 3)."""

    exit_code = MISSING


def read_gate(path: Path) -> dict[str, Any]:
    """The gate decision in ``path``; a :class:`GateFileError` naming the fix if unusable."""
    try:
        gate = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateFileMissing(f"{path}: not found; run `dvc repro evaluate` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GateFileError(f"{path}: unreadable ({error}); re-run `dvc repro evaluate`") from None
    problem = _shape_problem(gate)
    if problem:
        raise GateFileError(f"{path}: {problem}; re-run `dvc repro evaluate`")
    return gate


def _shape_problem(gate: Any) -> str | None:
    """What is wrong with the shape of ``gate``, or None when it is what evaluate writes."""
    if not isinstance(gate, dict) or gate.get("decision") not in ("go", "no-go"):
        return 'expected an object with "decision": "go" or "no-go"'
    if not isinstance(gate.get("reasons", []), list):
        return '"reasons" must be a list'
    interval = gate.get("interval")
    if interval is not None and not isinstance(interval, dict):
        return '"interval" must be an object with "low", "high", "confidence" and "resamples"'
    return None


def _number(value: Any) -> str:
    """4 significant digits, as the gate's reasons show them (57.83, not 57.82928923230457)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


def _interval(gate: dict[str, Any]) -> str:
    """``", 95% CI 0.93–0.98"``; empty for a gate file written before intervals."""
    interval = gate.get("interval")
    if not interval:
        return ""
    confidence = interval.get("confidence")
    share = f"{confidence:.0%}" if isinstance(confidence, int | float) else "?"
    return f", {share} CI {_number(interval.get('low'))}–{_number(interval.get('high'))}"


def describe(gate: dict[str, Any]) -> str:
    """One paragraph a person reads in the CI log."""
    lines = [
        f"evaluation gate: {gate['decision']}"
        f" ({gate.get('metric', 'metric')} = {_number(gate.get('value'))}{_interval(gate)},"
        f" minimum {_number(gate.get('minimum'))}, target {_number(gate.get('target'))})"
    ]
    lines += [f"  - {reason}" for reason in gate.get("reasons") or []]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gate_file", nargs="?", type=Path, default=GATE_FILE)
    args = parser.parse_args(argv)  # bad arguments: argparse exits with 2 (INVALID)
    try:
        gate = read_gate(args.gate_file)
    except GateFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(describe(gate))
    return GO if gate["decision"] == "go" else NO_GO


if __name__ == "__main__":
    sys.exit(main())
