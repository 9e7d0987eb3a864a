"""Let a model through to promotion only when the evaluation gate said "go" (step 6.4).

The evaluate stage writes ``reports/evaluation/gate.json`` from the phase-1 success criteria;
CI's promotion job runs ``python -m <package>.gate_check`` first and stops on a non-zero exit:

- 0: the gate said go;
- 1: the gate said no-go (its reasons are printed);
- 2: there is no usable gate file (run ``dvc repro evaluate`` first).

Standard library only, so a CI job can run it without installing the project.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

GATE_FILE = Path("reports/evaluation/gate.json")
GO, NO_GO, UNUSABLE = 0, 1, 2


class GateFileError(Exception):
    """The gate file is missing or not what the evaluate stage writes."""


def read_gate(path: Path) -> dict[str, Any]:
    """The gate decision in ``path``; a :class:`GateFileError` naming the fix if unusable."""
    try:
        gate = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateFileError(f"{path}: not found; run `dvc repro evaluate` first") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GateFileError(f"{path}: unreadable ({error}); re-run `dvc repro evaluate`") from None
    if not isinstance(gate, dict) or gate.get("decision") not in ("go", "no-go"):
        raise GateFileError(
            f'{path}: expected an object with "decision": "go" or "no-go"; '
            "re-run `dvc repro evaluate`"
        )
    return gate


def _number(value: Any) -> str:
    """4 significant digits, as the gate's reasons show them (57.83, not 57.82928923230457)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


def describe(gate: dict[str, Any]) -> str:
    """One paragraph a person reads in the CI log."""
    lines = [
        f"evaluation gate: {gate['decision']}"
        f" ({gate.get('metric', 'metric')} = {_number(gate.get('value'))},"
        f" minimum {_number(gate.get('minimum'))}, target {_number(gate.get('target'))})"
    ]
    lines += [f"  - {reason}" for reason in gate.get("reasons") or []]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gate_file", nargs="?", type=Path, default=GATE_FILE)
    args = parser.parse_args(argv)
    try:
        gate = read_gate(args.gate_file)
    except GateFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return UNUSABLE
    print(describe(gate))
    return GO if gate["decision"] == "go" else NO_GO


if __name__ == "__main__":
    sys.exit(main())
