"""crisp-lint's settings: ``[tool.crisp-lint]`` in pyproject.toml, or a file given with --config.

```toml
[tool.crisp-lint]
phase = "modelling"                  # the current phase: earlier ones must be clean
select = ["ALL"]                     # codes or prefixes; default: every rule
extend-select = []                   # added to select
ignore = [                           # codes or prefixes, each with the reason it is ignored
  { code = "DE004", reason = "Promotion runs in the platform team's pipeline, gated there." },
  "DE104",                           # allowed, but GEN004 warns that the reason is missing
]
exclude = ["experiments/scratch/**"] # globs of paths whose findings are dropped
strict = false                       # current-phase findings are errors, like --strict
time-budget = 10                     # seconds; the rules left when it runs out are skipped
secrets-allowlist = [                # not secrets: path globs, or "regex:" + a regex of the value
  "tests/fixtures/fake-credentials/**",
  "regex:^AKIA[A-Z0-9]{12}TEST$",
]
stage-roles = { training = "train", evaluation = "evaluate" }  # dvc.yaml stage -> role(s)
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from crisp_lint.model import CODE_PREFIX, LIFECYCLE, Phase, split_lines

if TYPE_CHECKING:
    from crisp_lint.cache import FileCache, Signature

TABLE = "tool.crisp-lint"
KEYS = (
    "phase",
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "strict",
    "time-budget",
    "secrets-allowlist",
    "stage-roles",
)
# The lifecycle roles a dvc.yaml stage can play (crisp_lint.checks._pipeline reads them).
ROLES = ("ingest", "validate", "prepare", "split", "baseline", "train", "evaluate", "monitor")
DEFAULT_TIME_BUDGET = 10.0  # seconds: pre-commit must never wait long


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file and the key."""


# NamedTuples rather than dataclasses: see crisp_lint.model (start-up time).
class Ignore(NamedTuple):
    selector: str
    reason: str | None


class Config(NamedTuple):
    phase: Phase | None = None
    select: tuple[str, ...] | None = None  # None: every rule
    extend_select: tuple[str, ...] = ()
    ignore: tuple[Ignore, ...] = ()
    exclude: tuple[str, ...] = ()
    strict: bool = False
    time_budget: float = DEFAULT_TIME_BUDGET  # seconds for all rules; 0: no limit
    secrets_allowlist: tuple[str, ...] = ()  # see crisp_lint.checks.secrets
    # Declared roles of dvc.yaml stages by stage name; see crisp_lint.checks._pipeline.
    # The default is one dict shared by every Config(): nothing may mutate it.
    stage_roles: dict[str, tuple[str, ...]] = {}  # noqa: RUF012
    # Where the settings came from (repository-relative when inside the repository), for
    # findings about the configuration itself; None when there was no configuration.
    source: str | None = None
    source_text: str = ""  # left out of repr: a whole file
    # The file's signature just before it was read (crisp_lint.cache); left out of repr.
    source_signature: Signature | None = None

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in zip(self._fields[:-2], self[:-2], strict=True))
        return f"Config({shown})"

    @property
    def ignore_selectors(self) -> tuple[str, ...]:
        return tuple(i.selector for i in self.ignore)

    def line_of(self, needle: str) -> int | None:
        """The first line of the configuration file that mentions ``needle``."""
        for number, line in enumerate(split_lines(self.source_text), start=1):
            if needle in line:
                return number
        return None


def load_config(
    root: Path, config_file: Path | None = None, cache: FileCache | None = None
) -> Config:
    """Read the settings for the repository at ``root``.

    With ``config_file`` that file is the only source (its keys at top level or under
    ``[tool.crisp-lint]``); otherwise ``root/pyproject.toml``'s ``[tool.crisp-lint]``, and
    the defaults when there is neither file nor table. ``cache`` keeps the parsed file
    between runs (crisp_lint.cache), under the key crisp_lint.repo uses for it.
    """
    if config_file is not None:
        data, text, sig = _read_toml(config_file, cache, _display(config_file, root))
        table = _table(data, config_file) if "tool" in data else data
        where = None if "tool" in data else str(config_file)
        return _parse(table, config_file, root, text, where)._replace(source_signature=sig)
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return Config()
    data, text, sig = _read_toml(pyproject, cache, "pyproject.toml")
    return _parse(_table(data, pyproject), pyproject, root, text)._replace(source_signature=sig)


def _read_toml(
    path: Path, cache: FileCache | None = None, key: str = ""
) -> tuple[dict[str, Any], str, Signature | None]:
    """The parsed file, its text, and its signature before the read (None without cache)."""
    from crisp_lint.bounded import read_bytes  # never blocks on a FIFO, bounded in size
    from crisp_lint.cache import MISS, signature

    # Taken before the read: a file changed in between is stored under its old signature,
    # which the next run no longer finds.
    sig = signature(path) if cache is not None and cache.enabled else None
    try:
        text = read_bytes(path).decode("utf-8").removeprefix("\ufeff")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read it ({error.strerror or error})") from None
    if cache is not None:
        data = cache.get("toml", key, sig)
        if data is not MISS:
            return data, text, sig
    import tomllib  # imported only when the file is not in the cache

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    if cache is not None and _storable(data):
        cache.put("toml", key, sig, data)
    return data, text, sig


def _storable(data: dict[str, Any]) -> bool:
    """Whether crisp_lint.repo would accept the document too (it refuses deep nesting),
    so that the cached value means the same to both."""
    from crisp_lint.bounded import LoadError, check_depth

    try:
        check_depth(data)
    except LoadError:
        return False
    return True


def _table(data: dict[str, Any], path: Path) -> dict[str, Any]:
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: `tool` must be a table")
    table = tool.get("crisp-lint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [{TABLE}] must be a table")
    return table


def _parse(
    table: dict[str, Any], path: Path, root: Path, text: str, where: str | None = None
) -> Config:
    where = where or f"{path}: [{TABLE}]"
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key `{unknown[0]}` (known keys: {', '.join(KEYS)})")
    phase = None
    if "phase" in table:
        phase = parse_phase(table["phase"], f"{where} phase")
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{where}: `strict` must be true or false, not {strict!r}")
    select = table.get("select")
    budget = table.get("time-budget", DEFAULT_TIME_BUDGET)
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget >= 0:
        raise ConfigError(
            f"{where}: `time-budget` must be a number of seconds (0: no limit), not {budget!r}"
        )
    return Config(
        phase=phase,
        select=None if select is None else _strings(select, f"{where} select"),
        extend_select=_strings(table.get("extend-select", []), f"{where} extend-select"),
        ignore=_ignores(table.get("ignore", []), f"{where} ignore"),
        exclude=_strings(table.get("exclude", []), f"{where} exclude"),
        strict=strict,
        time_budget=float(budget),
        secrets_allowlist=_allowlist(table.get("secrets-allowlist", []), where),
        stage_roles=_stage_roles(table.get("stage-roles", {}), f"{where} stage-roles"),
        source=_display(path, root),
        source_text=text,
    )


def parse_phase(value: object, where: str) -> Phase:
    """A lifecycle phase id, or a ConfigError that lists the valid ones."""
    ids = [p.value for p in LIFECYCLE]
    if not isinstance(value, str) or value not in ids:
        raise ConfigError(f"{where}: unknown phase {value!r} (one of: {', '.join(ids)})")
    return Phase(value)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings, not {value!r}")
    return tuple(value)


def _ignores(value: object, where: str) -> tuple[Ignore, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, not {value!r}")
    ignores = []
    for item in value:
        if isinstance(item, str):
            ignores.append(Ignore(item, None))
        elif (
            isinstance(item, dict)
            and set(item) == {"code", "reason"}
            and isinstance(item["code"], str)
            and isinstance(item["reason"], str)
        ):
            reason = item["reason"].strip()
            ignores.append(Ignore(item["code"], reason or None))
        else:
            raise ConfigError(
                f'{where}: each entry is a code or {{ code = "...", reason = "..." }}, not {item!r}'
            )
    return tuple(ignores)


def _stage_roles(value: object, where: str) -> dict[str, tuple[str, ...]]:
    """``{ stage = "role" }`` or ``{ stage = ["role", ...] }``; each role one of ROLES."""
    if not isinstance(value, dict):
        raise ConfigError(f'{where}: expected a table such as {{ training = "train" }}')
    roles: dict[str, tuple[str, ...]] = {}
    for stage, declared in value.items():
        names = [declared] if isinstance(declared, str) else declared
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{where}: `{stage}` must be a role or a list of roles")
        for name in names:
            if name not in ROLES:
                raise ConfigError(
                    f"{where}: `{stage}` has unknown role {name!r} (one of: {', '.join(ROLES)})"
                )
        roles[stage] = tuple(names)
    return roles


def _allowlist(value: object, where: str) -> tuple[str, ...]:
    entries = _strings(value, f"{where} secrets-allowlist")
    for entry in entries:
        if entry.startswith("regex:"):
            try:
                re.compile(entry.removeprefix("regex:"))
            except re.error as error:
                raise ConfigError(
                    f"{where} secrets-allowlist: `{entry}` is not a valid regex ({error})"
                ) from None
    return entries


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


SELECTOR = re.compile(f"ALL|({'|'.join(CODE_PREFIX.values())})[0-9]{{0,3}}")


def check_selectors(selectors: tuple[str, ...], known_codes: set[str], where: str) -> None:
    """Every selector must be ``ALL``, a phase prefix, or the start of a known code."""
    for selector in selectors:
        match = SELECTOR.fullmatch(selector)
        if match is None:
            raise ConfigError(f"{where}: `{selector}` is not a rule code or prefix")
        is_prefix = selector in ("ALL", match.group(1))
        if not is_prefix and not any(code.startswith(selector) for code in known_codes):
            raise ConfigError(f"{where}: unknown rule `{selector}` (see `crisp-lint --list-rules`)")
