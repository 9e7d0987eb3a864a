"""``crisp-lint [PATH]``: check a CRISP-ML repository phase by phase.

argparse rather than click: the hook runs on every commit and argparse costs nothing to
import. Exit codes follow ruff: 0 nothing fails, 1 findings that fail, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from crisp_lint import __version__
from crisp_lint.config import ConfigError, load_config, parse_phase
from crisp_lint.model import LIFECYCLE

if TYPE_CHECKING:
    from crisp_lint.model import Rule

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
FORMATS = ("text", "json", "sarif", "github", "junit")  # crisp_lint.reporters.FORMATS, unimported


def main(argv: Sequence[str] | None = None) -> None:
    try:
        code = run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`crisp-lint | head`): say nothing more, as Python's docs advise.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_FINDINGS
    raise SystemExit(code)


def run(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, do what it asks, and return the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.list_rules:
            return _write(args, _list_rules(args.output_format))
        if args.explain:
            return _write(args, _explain(args.explain, args.output_format))
        return _check(args)
    except ConfigError as error:
        print(f"crisp-lint: error: {error}", file=sys.stderr)
        return EXIT_USAGE


def _parser() -> argparse.ArgumentParser:
    phases = ", ".join(p.value for p in LIFECYCLE)
    parser = argparse.ArgumentParser(
        prog="crisp-lint",
        description="Check a CRISP-ML repository phase by phase: earlier phases must be clean, "
        "the current phase is a to-do list, later phases are not judged.",
        epilog="Exit status: 0 nothing fails, 1 findings that fail, 2 usage or configuration "
        "error. Settings live in [tool.crisp-lint] of pyproject.toml.",
    )
    parser.add_argument(
        "path", nargs="?", default=".", type=Path, help="the repository (default: .)"
    )
    selection = parser.add_argument_group("rule selection (codes or prefixes, comma-separated)")
    selection.add_argument("--select", type=_codes, help="run only these rules")
    selection.add_argument("--extend-select", type=_codes, default=(), help="run these too")
    selection.add_argument("--ignore", type=_codes, default=(), help="skip these rules")
    gating = parser.add_argument_group("phase gating")
    gating.add_argument("--phase", help=f"the current phase, overriding the config ({phases})")
    gating.add_argument(
        "--strict", action="store_true", help="findings of the current phase are errors too"
    )
    gating.add_argument(
        "--all-phases", action="store_true", help="also report later phases, as info"
    )
    gating.add_argument(
        "--with",
        dest="needs",
        type=_codes,
        default=(),
        metavar="INPUTS",
        help="run the rules that need these inputs (e.g. git-history)",
    )
    gating.add_argument(
        "--time-budget",
        type=_seconds,
        metavar="SECONDS",
        help="stop running rules after this long and name the ones skipped"
        " (default: time-budget in the config, else 10; 0: no limit)",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--output-format", choices=FORMATS, default="text")
    output.add_argument("-o", "--output-file", type=Path, help="write the report to this file")
    output.add_argument(
        "--statistics", action="store_true", help="count the findings per rule instead"
    )
    output.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings fail")
    parser.add_argument("--config", type=Path, help="a TOML file to use instead of pyproject.toml")
    parser.add_argument("--list-rules", action="store_true", help="list every rule and exit")
    parser.add_argument("--explain", metavar="CODE", help="explain one rule and exit")
    parser.add_argument("--version", action="version", version=f"crisp-lint {__version__}")
    return parser


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (0: no limit)")
    return seconds


def _codes(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _check(args: argparse.Namespace) -> int:
    from crisp_lint.engine import Options, lint
    from crisp_lint.repo import RepoView

    if not args.path.is_dir():
        problem = "not a folder" if args.path.exists() else "no such folder"
        raise ConfigError(f"{args.path}: {problem}")
    if args.statistics and args.output_format not in ("text", "json"):
        raise ConfigError("--statistics works with --output-format text or json")
    root = find_root(args.path)
    config = load_config(root, args.config)
    options = Options(
        phase=parse_phase(args.phase, "--phase") if args.phase else None,
        strict=args.strict,
        all_phases=args.all_phases,
        select=args.select,
        extend_select=args.extend_select,
        ignore=args.ignore,
        needs=frozenset(args.needs),
        time_budget=args.time_budget,
    )
    report = lint(RepoView(root, config), options)
    if args.statistics:
        from crisp_lint.reporters.statistics import render_statistics

        text = render_statistics(report, args.output_format)
    else:
        from crisp_lint.reporters import renderer

        text = renderer(args.output_format)(report)
    if _write(args, text) != EXIT_CLEAN:
        return EXIT_USAGE
    return report.exit_code(exit_zero=args.exit_zero)


def find_root(path: Path) -> Path:
    """The repository holding ``path``: the nearest folder with pyproject.toml or .git."""
    start = path.resolve()
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


def _write(args: argparse.Namespace, text: str) -> int:
    if args.output_file is None:
        try:
            sys.stdout.write(text)
        except UnicodeEncodeError:
            # A terminal or pipe that cannot show every character (PYTHONIOENCODING=ascii,
            # a C locale): escape what it cannot encode rather than fail. TextIOWrapper
            # encodes the whole text before writing, so nothing was written twice.
            encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
            sys.stdout.write(text.encode(encoding, "backslashreplace").decode(encoding))
        return EXIT_CLEAN
    try:
        args.output_file.write_text(text, encoding="utf-8")
    except OSError as error:
        print(
            f"crisp-lint: error: cannot write {args.output_file}: {error.strerror or error}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_CLEAN


def _list_rules(output_format: str) -> str:
    from crisp_lint.registry import load_registry

    rules = load_registry()
    if output_format == "json":
        import json

        return json.dumps([_rule_dict(r) for r in rules.values()], indent=2) + "\n"
    width = max((len(r.phase.value) for r in rules.values()), default=0)
    return "".join(
        f"{r.code:<7}{r.phase.value:<{width + 2}}{r.title}"
        + (f" (needs --with {r.needs})" if r.needs else "")
        + "\n"
        for r in rules.values()
    )


def _explain(code: str, output_format: str) -> str:
    from crisp_lint.registry import load_registry

    rules = load_registry()
    rule = rules.get(code.upper())
    if rule is None:
        raise ConfigError(f"--explain: unknown rule `{code}` (see `crisp-lint --list-rules`)")
    if output_format == "json":
        import json

        return json.dumps(_rule_dict(rule), indent=2) + "\n"
    lines = [
        f"{rule.code}: {rule.title}",
        "",
        f"Phase: {rule.phase.value}",
        f"Why: {rule.rationale}",
        f"How to fix: {rule.fix}",
    ]
    if rule.needs:
        lines.append(f"Runs only with: --with {rule.needs}")
    return "\n".join(lines) + "\n"


def _rule_dict(rule: Rule) -> dict[str, object]:
    return {
        "code": rule.code,
        "phase": rule.phase.value,
        "title": rule.title,
        "rationale": rule.rationale,
        "fix": rule.fix,
        "needs": rule.needs,
    }
