"""The promotion guard: only a "go" from the evaluation gate lets a model through.

Exit codes: 0 go, 1 no-go, 2 invalid input, 3 no gate result.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crisp_ml.runtime.gate_check import GO, INVALID, MISSING, NO_GO, main

GO_GATE = {
    "decision": "go",
    "metric": "f1_macro",
    "value": 0.95,
    "minimum": 0.9,
    "target": 0.95,
    "baseline": 0.4,
    "reasons": [],
    "decide_on": "lower_bound",
    "compared_value": 0.91,
    "interval": {"low": 0.91, "high": 0.98, "confidence": 0.95, "resamples": 1000, "skipped": 0},
}


def write(tmp_path: Path, content: object) -> str:
    path = tmp_path / "gate.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_the_exit_codes_are_distinct() -> None:
    assert (GO, NO_GO, INVALID, MISSING) == (0, 1, 2, 3)


def test_go_lets_the_promotion_through(tmp_path: Path, capsys) -> None:
    assert main([write(tmp_path, GO_GATE)]) == GO
    assert (
        "evaluation gate: go (f1_macro = 0.95, 95% CI 0.91–0.98, minimum 0.9, target 0.95)"
        in capsys.readouterr().out
    )


def test_a_gate_file_from_before_intervals_still_reads(tmp_path: Path, capsys) -> None:
    old = {key: GO_GATE[key] for key in ("decision", "metric", "value", "minimum", "target")}
    assert main([write(tmp_path, old)]) == GO
    assert "(f1_macro = 0.95, minimum 0.9, target 0.95)" in capsys.readouterr().out


def test_no_go_stops_the_promotion_and_says_why(tmp_path: Path, capsys) -> None:
    gate = {
        **GO_GATE,
        "decision": "no-go",
        "value": 0.7,
        "reasons": ["f1_macro 0.7 is below the minimum 0.9"],
    }
    assert main([write(tmp_path, gate)]) == NO_GO
    assert "- f1_macro 0.7 is below the minimum 0.9" in capsys.readouterr().out


def test_the_log_line_rounds_the_value_as_the_reasons_do(tmp_path: Path, capsys) -> None:
    gate = {**GO_GATE, "metric": "rmse", "value": 57.82928923230457, "minimum": 66.0}
    del gate["interval"]
    assert main([write(tmp_path, gate)]) == GO
    assert "(rmse = 57.83, minimum 66, target 0.95)" in capsys.readouterr().out


def test_a_missing_gate_file_means_no_gate_result(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path / "reports" / "gate.json")]) == MISSING
    assert "not found; run `dvc repro evaluate` first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "unreadable"),
        (b"\xff\xfe not utf-8", "unreadable"),
        ({"decision": "maybe"}, 'expected an object with "decision": "go" or "no-go"'),
        ([1, 2], 'expected an object with "decision"'),
        ({**GO_GATE, "reasons": "all good"}, '"reasons" must be a list'),
        ({**GO_GATE, "interval": [0.9, 1.0]}, '"interval" must be an object'),
    ],
)
def test_a_broken_gate_file_is_invalid_input(
    tmp_path: Path, capsys, content: object, message: str
) -> None:
    if isinstance(content, bytes):
        (tmp_path / "gate.json").write_bytes(content)
        path = str(tmp_path / "gate.json")
    else:
        path = write(tmp_path, content)
    assert main([path]) == INVALID
    assert message in capsys.readouterr().err


def test_a_folder_instead_of_a_gate_file_is_invalid_input(tmp_path: Path, capsys) -> None:
    assert main([str(tmp_path)]) == INVALID
    assert "unreadable" in capsys.readouterr().err


def test_bad_arguments_are_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stopped:
        main([write(tmp_path, GO_GATE), "a second file"])
    assert stopped.value.code == INVALID
