"""``crisp-lint [PATH]``: check a CRISP-ML repository phase by phase.

argparse rather than click: the hook runs on every commit and argparse costs little to
import; the hook's own call (no arguments, or just the path) skips even that. Exit codes
follow ruff: 0 nothing fails, 1 findings that fail, 2 usage or configuration error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from crisp_lint import __version__
from crisp_lint.config import ConfigError, load_config, parse_phase
from crisp_lint.model import LIFECYCLE

if TYPE_CHECKING:
    import argparse

    from crisp_lint.cache import FileCache
    from crisp_lint.config import Config
    from crisp_lint.engine import Options
    from crisp_lint.model import Phase, Rule

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
FORMATS = ("text", "json", "sarif", "github", "junit")  # crisp_lint.reporters.FORMATS, unimported
REPORTS = ("ml-test-score",)
REPORT_FORMATS = ("text", "json", "markdown")  # crisp_lint.reporters.ml_test_score.FORMATS


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
    args = _common_call(sys.argv[1:] if argv is None else argv) or _parser().parse_args(argv)
    try:
        _check_report_options(args)
        if args.list_rules:
            return _write(args, _list_rules(args.output_format))
        if args.explain:
            return _write(args, _explain(args.explain, args.output_format))
        if args.report:
            return _report(args)
        return _check(args)
    except ConfigError as error:
        print(f"crisp-lint: error: {error}", file=sys.stderr)
        return EXIT_USAGE


# What _parser() gives for ``crisp-lint [PATH]``; tests/lint/test_lint_cli.py keeps them equal.
_DEFAULTS: dict[str, object] = {
    "select": None,
    "extend_select": (),
    "ignore": (),
    "phase": None,
    "strict": False,
    "all_phases": False,
    "needs": (),
    "time_budget": None,
    "output_format": "text",
    "output_file": None,
    "statistics": False,
    "exit_zero": False,
    "report": None,
    "fail_under": None,
    "config": None,
    "no_cache": False,
    "list_rules": False,
    "explain": None,
}


def _common_call(argv: Sequence[str]) -> argparse.Namespace | None:
    """The arguments of the call every commit makes (none, or just the path) without
    argparse, whose import and parser (with gettext, locale and shutil) cost a tenth of a
    run; None for any other call, which argparse parses, helps with and refuses."""
    if len(argv) > 1 or (argv and (not argv[0] or argv[0].startswith("-"))):
        return None
    path = Path(argv[0] if argv else ".")
    return SimpleNamespace(path=path, **_DEFAULTS)  # type: ignore[return-value]


def _parser() -> argparse.ArgumentParser:
    import argparse

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
    output.add_argument(
        "--output-format",
        choices=tuple(dict.fromkeys((*FORMATS, *REPORT_FORMATS))),
        default="text",
        help="markdown only with --report",
    )
    output.add_argument("-o", "--output-file", type=Path, help="write the report to this file")
    output.add_argument(
        "--statistics", action="store_true", help="count the findings per rule instead"
    )
    output.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings fail")
    report = parser.add_argument_group("reports (instead of the findings; every phase judged)")
    report.add_argument(
        "--report",
        choices=REPORTS,
        help="ml-test-score: the ML Test Score (Breck et al., 2017) of the repository;"
        " formats text, json, markdown; exit 0 when produced",
    )
    report.add_argument(
        "--fail-under",
        type=_score,
        metavar="SCORE",
        help="with --report ml-test-score: exit 1 when the final score is below SCORE (0-7)",
    )
    parser.add_argument("--config", type=Path, help="a TOML file to use instead of pyproject.toml")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="read and parse every file, keeping nothing for the next run"
        " (also CRISP_LINT_NO_CACHE=1; the cache lives in .git/crisp-lint)",
    )
    parser.add_argument("--list-rules", action="store_true", help="list every rule and exit")
    parser.add_argument("--explain", metavar="CODE", help="explain one rule and exit")
    parser.add_argument("--version", action="version", version=f"crisp-lint {__version__}")
    return parser


def _seconds(value: str) -> float:
    import argparse  # imported already: only the parser calls this

    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (0: no limit)")
    return seconds


def _score(value: str) -> float:
    import argparse  # imported already: only the parser calls this

    try:
        score = float(value)
    except ValueError:
        score = -1.0
    if not 0 <= score <= 7:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ML Test Score (0 to 7)")
    return score


def _codes(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _check_report_options(args: argparse.Namespace) -> None:
    """Options that belong to one mode only: a clear usage error rather than ignoring them."""
    if args.report is None:
        if args.output_format not in FORMATS:
            raise ConfigError(
                f"--output-format {args.output_format} works only with --report ml-test-score"
            )
        if args.fail_under is not None:
            raise ConfigError("--fail-under works only with --report ml-test-score")
        return
    if args.output_format not in REPORT_FORMATS:
        raise ConfigError(
            f"--report {args.report} writes --output-format {', '.join(REPORT_FORMATS)},"
            f" not {args.output_format}"
        )
    for flag, given in (("--statistics", args.statistics), ("--phase", args.phase)):
        if given:
            raise ConfigError(f"--report judges every phase: {flag} does not apply")


def _check(args: argparse.Namespace) -> int:
    from crisp_lint.engine import lint
    from crisp_lint.repo import RepoView

    if args.statistics and args.output_format not in ("text", "json"):
        raise ConfigError("--statistics works with --output-format text or json")
    root, config, cache = _repository(args)
    report = lint(RepoView(root, config, cache), _options(args))
    cache.save()
    if args.statistics:
        from crisp_lint.reporters.statistics import render_statistics

        text = render_statistics(report, args.output_format)
    else:
        from crisp_lint.reporters import renderer

        text = renderer(args.output_format)(report)
    if _write(args, text) != EXIT_CLEAN:
        return EXIT_USAGE
    return report.exit_code(exit_zero=args.exit_zero)


def _report(args: argparse.Namespace) -> int:
    """``--report ml-test-score``: a report, not a gate, so 0 unless --fail-under says 1."""
    from crisp_lint.engine import lint
    from crisp_lint.ml_test_score import all_phases, score
    from crisp_lint.repo import RepoView
    from crisp_lint.reporters.ml_test_score import renderer

    root, config, cache = _repository(args)
    repo = RepoView(root, config, cache)
    # The last phase as the current one: every phase is judged, whatever the project says.
    result = score(lint(repo, _options(args, phase=all_phases())), repo)
    cache.save()
    if _write(args, renderer(args.output_format)(result)) != EXIT_CLEAN:
        return EXIT_USAGE
    below = args.fail_under is not None and result.final < args.fail_under
    return EXIT_FINDINGS if below else EXIT_CLEAN


def _repository(args: argparse.Namespace) -> tuple[Path, Config, FileCache]:
    from crisp_lint.cache import open_cache

    if not args.path.is_dir():
        problem = "not a folder" if args.path.exists() else "no such folder"
        raise ConfigError(f"{args.path}: {problem}")
    root = find_root(args.path)
    cache = open_cache(root, enabled=not args.no_cache)
    return root, load_config(root, args.config, cache), cache


def _options(args: argparse.Namespace, phase: Phase | None = None) -> Options:
    from crisp_lint.engine import Options

    return Options(
        phase=phase or (parse_phase(args.phase, "--phase") if args.phase else None),
        strict=args.strict,
        all_phases=args.all_phases,
        select=args.select,
        extend_select=args.extend_select,
        ignore=args.ignore,
        needs=frozenset(args.needs),
        time_budget=args.time_budget,
    )


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
