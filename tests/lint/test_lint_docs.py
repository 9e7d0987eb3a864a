"""docs/rules.md is generated from the registry; the committed file must match it."""

from __future__ import annotations

from lint_helpers import REPO_ROOT

from crisp_lint.docs import render
from crisp_lint.registry import load_registry


def test_the_committed_rule_reference_matches_the_registry() -> None:
    committed = (REPO_ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == render(load_registry()), (
        "docs/rules.md is stale: run `python -m crisp_lint.docs docs/rules.md`"
    )


def test_every_rule_has_a_section_with_its_rationale_and_fix() -> None:
    text = render(load_registry())
    for rule in load_registry().values():
        section = text.split(f"\n### {rule.code}\n", 1)[1].split("\n### ", 1)[0]
        assert rule.rationale in section and rule.fix in section


def test_the_user_guide_documents_every_option_and_configuration_key() -> None:
    from crisp_lint.cli import _parser
    from crisp_lint.config import KEYS

    guide = (REPO_ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    options = [
        option
        for action in _parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]
    assert [o for o in options if f"`{o}" not in guide] == []
    assert [k for k in KEYS if f"| `{k}` |" not in guide] == []
