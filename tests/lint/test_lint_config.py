"""[tool.crisp-lint] in pyproject.toml, or --config FILE: what is read, what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from crisp_lint.config import Config, ConfigError, Ignore, check_selectors, load_config
from crisp_lint.model import Phase
from crisp_lint.registry import load_registry
from crisp_lint.repo import RepoView


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_no_pyproject_gives_the_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path) == Config()


def test_a_pyproject_without_the_table_gives_the_defaults(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    config = load_config(tmp_path)
    assert (config.phase, config.select, config.ignore) == (None, None, ())


def test_every_key_is_read(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
[tool.crisp-lint]
phase = "modelling"
select = ["BU", "DU101"]
extend-select = ["GEN"]
ignore = ["MO1", { code = "DE104", reason = "no users yet" }]
exclude = ["scratch/**"]
strict = true
""",
    )
    config = load_config(tmp_path)
    assert config.phase is Phase.MODELLING
    assert config.select == ("BU", "DU101")
    assert config.extend_select == ("GEN",)
    assert config.ignore == (Ignore("MO1", None), Ignore("DE104", "no users yet"))
    assert config.exclude == ("scratch/**",)
    assert config.strict is True
    assert config.source == "pyproject.toml"
    assert config.line_of('"MO1"') == 6


def test_a_config_file_may_hold_the_keys_at_top_level(tmp_path: Path) -> None:
    file = write(tmp_path / "lint.toml", 'phase = "evaluation"\n')
    assert load_config(tmp_path, file).phase is Phase.EVALUATION


def test_a_config_file_may_hold_the_keys_under_the_tool_table(tmp_path: Path) -> None:
    file = write(tmp_path / "lint.toml", '[tool.crisp-lint]\nphase = "deployment"\n')
    assert load_config(tmp_path, file).phase is Phase.DEPLOYMENT


def test_a_bad_key_at_top_level_of_a_config_file_names_that_file(tmp_path: Path) -> None:
    file = write(tmp_path / "lint.toml", "phases = []\n")
    with pytest.raises(ConfigError, match=r"lint.toml: unknown key `phases`"):
        load_config(tmp_path, file)


def test_a_config_file_replaces_pyproject(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.crisp-lint]\nphase = "modelling"\n')
    file = write(tmp_path / "lint.toml", "strict = true\n")
    config = load_config(tmp_path, file)
    assert (config.phase, config.strict) == (None, True)


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ('phase = "modeling"', "unknown phase 'modeling'"),
        ('phase = "general"', "unknown phase 'general'"),
        ("phase = 3", "unknown phase 3"),
        ('selekt = ["BU"]', "unknown key `selekt`"),
        ('select = "BU"', "select: expected a list of strings"),
        ("strict = 1", "`strict` must be true or false"),
        ("ignore = [{ code = 'BU101' }]", 'each entry is a code or { code = "...", reason'),
        ("ignore = [3]", "each entry is a code"),
    ],
)
def test_a_bad_value_names_the_file_and_the_key(tmp_path: Path, table: str, named: str) -> None:
    write(tmp_path / "pyproject.toml", f"[tool.crisp-lint]\n{table}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path)
    assert "pyproject.toml" in str(raised.value)
    assert named in str(raised.value)


def test_an_unknown_phase_lists_the_valid_ones(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.crisp-lint]\nphase = "testing"\n')
    with pytest.raises(ConfigError, match="business-understanding, literature-review"):
        load_config(tmp_path)


def test_malformed_toml_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\nversion = \n')
    with pytest.raises(ConfigError, match=r"pyproject.toml: invalid TOML: .*line 3"):
        load_config(tmp_path)


def test_toml_nested_too_deeply_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "a = " + "[" * 100_000)
    with pytest.raises(ConfigError, match=r"pyproject\.toml: invalid TOML: nested too deeply"):
        load_config(tmp_path)


def test_a_pyproject_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"name = '\xff'\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(tmp_path)


def test_a_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_config(tmp_path, tmp_path / "missing.toml")


def test_a_tool_table_of_the_wrong_type_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", 'tool = "x"\n')
    with pytest.raises(ConfigError, match="`tool` must be a table"):
        load_config(tmp_path)


KNOWN = {"BU101", "BU102", "DU201", "GEN001"}


@pytest.mark.parametrize("selector", ["ALL", "BU", "BU1", "BU101", "DU2", "GEN", "MN"])
def test_selectors_are_all_a_phase_prefix_or_the_start_of_a_known_code(selector: str) -> None:
    check_selectors((selector,), KNOWN, "--select")


@pytest.mark.parametrize("selector", ["BU103", "BU9", "MN1", "XX", "bu101", "BU1011", "E501"])
def test_other_selectors_are_refused_by_name(selector: str) -> None:
    with pytest.raises(ConfigError, match=f"--select: .*`{selector}`"):
        check_selectors((selector,), KNOWN, "--select")


def ignores_without_reason(root: Path, table: str) -> list[tuple[str, int | None, str]]:
    """What GEN004 reports about the ignores of ``[tool.crisp-lint]`` written as ``table``."""
    write(root / "pyproject.toml", f'[project]\nname = "x"\n\n[tool.crisp-lint]\n{table}')
    rule = load_registry()["GEN004"]
    return [(p.path, p.line, p.message) for p in rule.check(RepoView(root, load_config(root)))]


def test_ignores_with_a_reason_pass(tmp_path: Path) -> None:
    table = 'ignore = [{ code = "DE004", reason = "gated in the platform pipeline" }]\n'
    assert ignores_without_reason(tmp_path, table) == []


def test_an_ignore_without_a_reason_is_reported_at_its_line(tmp_path: Path) -> None:
    table = 'ignore = [\n  "BU103",\n  \'LR1\',\n  { code = "DE004", reason = " " },\n]\n'
    assert ignores_without_reason(tmp_path, table) == [
        ("pyproject.toml", 6, "`BU103` is ignored without a reason"),
        ("pyproject.toml", 7, "`LR1` is ignored without a reason"),  # a TOML literal string
        ("pyproject.toml", 8, "`DE004` is ignored without a reason"),
    ]
