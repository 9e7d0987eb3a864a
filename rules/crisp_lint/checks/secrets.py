"""Secrets in git: every tracked text file is scanned once, and each finding goes to a rule.

GEN013 passwords in URLs, GEN020 tokens of a known format (clouds, code hosts, SaaS APIs),
GEN021 private-key blocks, GEN022 secret-named variables set to a literal, GEN023 a
tracked ``.dvc/config.local``, GEN024 a suppression without a reason.

The detectors are data (``TOKEN_DETECTORS``): a name, the lower-case substrings one of
which a file must hold before the regex runs (a C-speed ``in`` test per file), the regex
with a ``secret`` group, and what to call it. A line gets one finding, from the strongest
detector (private key, then token, then URL, then variable). A secret is never printed:
findings show its first characters and ``***`` (see ``mask``).

Not secrets: what ``[tool.crisp-lint] secrets-allowlist`` allows (a path glob, or
``regex:`` and a regex searched in the secret), and a line carrying
``crisp-lint: ignore[CODE] reason`` (in any comment syntax; on the line, or alone on the
line above). A suppression without a reason is honoured but is itself a finding (GEN024),
as an ``ignore`` without a reason is in the configuration (GEN004).
"""

from __future__ import annotations

import bisect
import posixpath
import re
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

from crisp_lint.cache import MISS, signature
from crisp_lint.checks._regex import LazyPattern, lazy
from crisp_lint.checks.general import DVC_CONFIG
from crisp_lint.credentials import url_credentials
from crisp_lint.model import Phase, Problem, rule
from crisp_lint.workflow import cite

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

PHASE = Phase.GENERAL
URL_RULE = "GEN013"
TOKEN_RULE = "GEN020"
KEY_RULE = "GEN021"
VARIABLE_RULE = "GEN022"
LOCAL_DVC_CONFIG = "GEN023"
SUPPRESSION_WITHOUT_REASON = "GEN024"
SCAN_MAX_BYTES = 1024 * 1024  # larger tracked files are GEN010's (500 KB) already
CACHE_SECTION = "secrets"  # per-file results kept between runs (crisp_lint.cache)
# When one line matches several detectors, the finding is the first of these.
PRECEDENCE = (KEY_RULE, TOKEN_RULE, URL_RULE, VARIABLE_RULE)
# Files whose secrets other rules report: .dvc/config (GEN012), params.yaml (GEN014).
VARIABLES_REPORTED_ELSEWHERE = frozenset({DVC_CONFIG, "params.yaml"})


# NamedTuples rather than dataclasses: see crisp_lint.model (start-up time).
class Detector(NamedTuple):
    name: str
    needles: tuple[str, ...]  # lower case; the file must contain one of them
    # Compiled the first time a file holds a needle. Its ``secret`` group is what is masked
    # and allow-listed.
    pattern: LazyPattern
    what: str  # "a GitHub token"


def _detector(name: str, needles: tuple[str, ...], pattern: str, what: str) -> Detector:
    return Detector(name, needles, lazy(pattern), what)


_B64 = r"[A-Za-z0-9+/]"
TOKEN_DETECTORS: tuple[Detector, ...] = (
    _detector(
        "aws-access-key-id",
        ("akia", "asia", "abia", "acca"),
        r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b",
        "an AWS access key id",
    ),
    _detector(
        "aws-secret-access-key",
        ("aws",),
        r"(?i:aws[\w.-]{0,20}secret[\w.-]{0,20})[\"']?\s*[:=]\s*[\"']?"
        rf"(?P<secret>{_B64}{{40}})(?!{_B64})",
        "an AWS secret access key",
    ),
    _detector(
        "gcp-service-account-key",
        ("private_key_id",),
        r"\"private_key_id\"\s*:\s*\"(?P<secret>[0-9a-f]{40})\"",
        "a GCP service-account key",
    ),
    _detector(
        "gcp-api-key",
        ("aiza",),
        r"\b(?P<secret>AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])",
        "a Google API key",
    ),
    _detector(
        "gcp-oauth-client-secret",
        ("gocspx-",),
        r"\b(?P<secret>GOCSPX-[A-Za-z0-9_-]{28})",
        "a Google OAuth client secret",
    ),
    _detector(
        "azure-storage-key",
        ("accountkey=", "sharedaccesskey="),
        rf"(?i:AccountKey|SharedAccessKey)=(?P<secret>{_B64}{{40,}}={{0,2}})",
        "an Azure storage or service-bus key",
    ),
    _detector(
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?P<secret>gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        "a GitHub token",
    ),
    _detector(
        "gitlab-token",
        ("glpat-", "gldt-", "glrt-", "glptt-"),
        r"\b(?P<secret>gl(?:pat|dt|rt|ptt)-[A-Za-z0-9_-]{20,})",
        "a GitLab token",
    ),
    _detector(
        "slack-token",
        ("xox",),
        r"\b(?P<secret>xox[baprs]-[0-9]{6,}-[A-Za-z0-9-]{6,})",
        "a Slack token",
    ),
    _detector(
        "slack-webhook",
        ("hooks.slack.com/",),
        r"hooks\.slack\.com/(?:services|workflows)/(?P<secret>T[A-Z0-9]{6,}/[A-Za-z0-9/]{20,})",
        "a Slack webhook URL",
    ),
    _detector(
        "stripe-key",
        ("_live_",),
        r"\b(?P<secret>(?:sk|rk)_live_[A-Za-z0-9]{20,})",
        "a Stripe live key",
    ),
    _detector(
        "openai-key",
        ("t3blbkfj", "sk-proj-", "sk-svcacct-", "sk-admin-"),
        r"\b(?P<secret>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}"
        r"|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,})",
        "an OpenAI API key",
    ),
    _detector(
        "anthropic-key",
        ("sk-ant-",),
        r"\b(?P<secret>sk-ant-[a-z]{3,6}[0-9]{2}-[A-Za-z0-9_-]{80,})",
        "an Anthropic API key",
    ),
    _detector(
        "huggingface-token",
        ("hf_",),
        r"\b(?P<secret>hf_[A-Za-z0-9]{34,40})\b",
        "a Hugging Face token",
    ),
    _detector(
        "pypi-token",
        ("pypi-ageichlwas5vcmc",),
        r"\b(?P<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
        "a PyPI upload token",
    ),
    _detector(
        "npm-token", ("npm_",), r"\b(?P<secret>npm_[A-Za-z0-9]{36})\b", "an npm access token"
    ),
    _detector(
        "databricks-token",
        ("dapi",),
        r"\b(?P<secret>dapi[0-9a-f]{32})(?:-[0-9]+)?\b",
        "a Databricks access token",
    ),
    _detector(
        "jwt",
        ("eyj",),
        r"\b(?P<secret>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,})",
        "a JSON web token",
    ),
)
# The header, then key material within a few lines (or "\n" escapes, as in a JSON key file):
# a PEM marker alone, as a parser's constant, is not a key.
PRIVATE_KEY_BLOCK = lazy(
    r"-----BEGIN (?P<kind>(?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----"
    rf"(?:[^-]{{0,300}}?)(?P<secret>{_B64}{{40,}})"
)

# -- secret-named variables -----------------------------------------------------------------

# NAME = value, NAME: value, "NAME": "value", NAME="value" (a keyword argument), export NAME=v
_ASSIGNMENT = lazy(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,100})(?P<quote>[\"']?)[ \t]*(?P<op>:=|=|:)(?!=)[ \t]*"
    r"(?P<value>\"(?:[^\"\\\n]|\\.)*\"|'[^'\n]*'|[^\s\"'`#,;()\[\]{}]+)"
)
# The name, in snake case, must end with one of these words.
_SECRET_NAME = lazy(
    r"(?:^|[_.-])(?:password|passwd|passphrase|pwd|secret|token|auth[_-]?token|api[_-]?key"
    r"|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|account[_-]?key|signing[_-]?key"
    r"|encryption[_-]?key|client[_-]?secret|credentials?)$"
)
# ...but not these: tokenizer vocabulary and pagination cursors.
_NOT_SECRET_NAME = lazy(
    r"(?:^|[_.-])(?:pad|bos|eos|unk|sep|cls|mask|start|end|stop|special|page|next|continuation"
    r"|cancel|cancellation|sentinel|default|max|min|num|n)[_.-]token$"
)
_CAMEL = lazy(r"(?<=[a-z0-9])(?=[A-Z])")
_PYTHON_LIKE = frozenset(
    {".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".jsx", ".tsx", ".java", ".kt", ".go", ".rs",
     ".rb", ".r", ".scala", ".c", ".h", ".cpp", ".cs", ".swift", ".php", ".jl", ".ipynb"}
)  # fmt: skip
_YAML_LIKE = frozenset({".yaml", ".yml", ".json", ".md", ".markdown"})
_REFERENCE = lazy(
    r"^(?:\$|!|%\(|\{.*\}$|<.*>$|\[.*\]$)|\{\{|\{%|os\.environ|getenv|process\.env|secrets\."
)
_PLACEHOLDER_WORDS = lazy(
    r"example|sample|dummy|fake|placeholder|changeme|change[_-]me|redacted|your[_-]?|xxxx"
    r"|\*\*\*|\.\.\.|…|todo|fixme|replace[_-]?me|insert[_-]|<|>|xxx|12345|asdf|qwerty"
    # a value that names a secret rather than being one: "refresh_token", "my-secret-key"
    r"|passw|passphrase|secret|token|api[_-]?key",
    re.IGNORECASE,
)
_NOT_A_VALUE = frozenset(
    {"none", "null", "nil", "true", "false", "yes", "no", "pass", "passwd", "pwd",
     "token", "required", "optional", "string", "str", "bytes", "env", "undefined", "n/a",
     "empty", "hidden", "masked", "unset", "off", "on"}
)  # fmt: skip
_ENV_NAME = lazy(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
_PATH = lazy(r"^(?:~|\.{1,2})?/|^[\w.-]+(?:/[\w.-]+)+\.\w{1,5}$|://")
_FENCE = lazy(r"^[ \t]*(?:```|~~~)", re.MULTILINE)
# A secret word right before an assignment: the only lines worth parsing.
_CANDIDATE_WORDS = r"(?:passw|passphrase|pwd|secret|token|key|credential)"
_CANDIDATE = lazy(_CANDIDATE_WORDS + r"[a-z0-9_.-]*[\"']?[ \t]*[:=]")  # on lower case
_CANDIDATE_ANY_CASE = lazy(_CANDIDATE.pattern, re.IGNORECASE)  # 8x slower
# A lower-case word or words ("delimiter", "some_value"): in code a label, not a secret.
_WORD_LIKE = lazy(r"^@?[a-z]+(?:[._-][a-z]+)*$")
MAX_LINE_FOR_VARIABLES = 2000  # longer lines are minified code, not settings
_EXPRESSION = lazy(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$")  # settings.token

# -- suppressions -----------------------------------------------------------------------

_SUPPRESSION = lazy(r"crisp-lint:[ \t]*ignore\[(?P<codes>[^\]\n]*)\](?P<reason>[^\n]*)")
_REASON_END = lazy(r"\s*(?:-->|\*/|\"\"\"|''')\s*$")


def mask(secret: str) -> str:
    """The first characters of ``secret`` (four at most, fewer for a short one) and ``***``."""
    return secret[: min(4, len(secret) // 4)] + "***"


def is_placeholder(value: str) -> bool:
    """A reference (``${VAR}``, ``{{ secrets.X }}``, ``<token>``) or a stand-in value
    (``changeme``, ``xxxx``, ``your-token``, ``example``), not a secret."""
    value = value.strip()
    lowered = value.lower()
    return (
        len(value) < 4
        or lowered in _NOT_A_VALUE
        or len(set(value)) <= 2
        or bool(_REFERENCE.search(value))
        or bool(_PLACEHOLDER_WORDS.search(value))
    )


class Hit(NamedTuple):
    code: str
    line: int
    secret: str  # never printed: for the allowlist only
    message: str


class Suppression(NamedTuple):
    line: int
    codes: frozenset[str]
    reason: str
    alone: bool  # the comment is all the line holds: it covers the next line too


class Scan(NamedTuple):  # its dict and list fill up; the fields are never reassigned
    hits: dict[str, list[Problem]]
    reasonless: list[Problem]


_SCANS: weakref.WeakKeyDictionary[RepoView, Scan] = weakref.WeakKeyDictionary()


def scan(repo: RepoView) -> Scan:
    """Scan the repository's files once, for every secret rule."""
    done = _SCANS.get(repo)
    if done is None:
        done = _SCANS[repo] = _scan(repo)
    return done


def _scanned_files(repo: RepoView) -> Iterator[str]:
    """Every file git tracks; outside a work tree, every file listed."""
    if not repo.git_listed:
        yield from repo.files()
        return
    yield from (rel for rel in repo.files() if repo.is_tracked_by_git(rel))


def _scan(repo: RepoView) -> Scan:
    allowed_paths, allowed_values = _allowlist(repo)
    hits: dict[str, list[Problem]] = {code: [] for code in PRECEDENCE}
    reasonless: list[Problem] = []
    for rel in _scanned_files(repo):
        if allowed_paths and any(pattern.fullmatch(rel) for pattern in allowed_paths):
            continue
        found, suppressions = _scan_file(repo, rel)
        for suppression in suppressions.values():
            if not suppression.reason:
                codes = ",".join(sorted(suppression.codes))
                reasonless.append(
                    Problem(rel, f"`crisp-lint: ignore[{codes}]` gives no reason", suppression.line)
                )
        for hit in found:
            if allowed_values and any(pattern.search(hit.secret) for pattern in allowed_values):
                continue
            if _suppressed(hit, suppressions):
                continue
            hits[hit.code].append(Problem(rel, hit.message, hit.line))
    repo.cache.complete(CACHE_SECTION)
    return Scan(hits, reasonless)


def _scan_file(repo: RepoView, rel: str) -> tuple[list[Hit], dict[int, Suppression]]:
    """One file's secrets (strongest per line) and suppressions, before the allowlist:
    a function of the file alone, so the cache (crisp_lint.cache) keeps it by signature."""
    sig = signature(repo.root / rel, follow=False) if repo.cache.enabled else None
    stored = repo.cache.get(CACHE_SECTION, rel, sig)
    if stored is not MISS:
        hits, suppressions = stored
        return [Hit(*hit) for hit in hits], {
            line: Suppression(line, frozenset(codes), reason, alone)
            for line, codes, reason, alone in suppressions
        }
    text = repo.text_if_text(rel, SCAN_MAX_BYTES)
    found = _strongest_per_line(scan_text(rel, text)) if text else []
    suppressed = _suppressions(text) if text and "crisp-lint:" in text else {}
    repo.cache.put(
        CACHE_SECTION,
        rel,
        # Of the text scanned: a file that changed after a rule read it is not stored
        # under its new signature. A file that is not text is stored under the one above.
        repo.read_signature(rel) if text else sig,
        (
            [tuple(hit) for hit in found],
            [(s.line, tuple(sorted(s.codes)), s.reason, s.alone) for s in suppressed.values()],
        ),
    )
    return found, suppressed


def _allowlist(repo: RepoView) -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
    from crisp_lint.repo import _glob

    entries = getattr(repo.config, "secrets_allowlist", ())
    values = [re.compile(e.removeprefix("regex:")) for e in entries if e.startswith("regex:")]
    paths = [_glob(e) for e in entries if not e.startswith("regex:")]
    return paths, values


def scan_text(rel: str, text: str) -> list[Hit]:
    """Every secret in one file's text (before allowlist and suppressions)."""
    lower = text.lower()
    found: list[tuple[str, int, str, str]] = []  # code, offset, secret, message
    if "private key" in lower:
        for match in PRIVATE_KEY_BLOCK.finditer(text):
            header = f"-----BEGIN {match['kind']}PRIVATE KEY-----"
            found.append(
                (
                    KEY_RULE,
                    match.start(),
                    match["secret"],
                    f"a private key ({header}) is committed",
                )
            )
    for detector in TOKEN_DETECTORS:
        if not any(needle in lower for needle in detector.needles):
            continue
        for match in detector.pattern.finditer(text):
            secret = match["secret"]
            if not _PLACEHOLDER_WORDS.search(secret):
                message = f"{detector.what} ({mask(secret)}) is committed"
                found.append((TOKEN_RULE, match.start(), secret, message))
    if rel != DVC_CONFIG:  # GEN012 reports the URLs of .dvc/config
        for credential in url_credentials(text):
            if not is_placeholder(credential.password):
                message = f"a URL with a password ({credential.redacted}) is committed"
                found.append((URL_RULE, credential.start, credential.password, message))
    hits = [Hit(code, _line_of(text, offset), secret, msg) for code, offset, secret, msg in found]
    if rel not in VARIABLES_REPORTED_ELSEWHERE:
        hits.extend(_secret_variables(rel, text, lower))
    return hits


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _secret_variables(rel: str, text: str, lower: str) -> Iterator[Hit]:
    extension = posixpath.splitext(rel)[1].lower()
    code_file = extension in _PYTHON_LIKE
    markdown = extension in (".md", ".markdown")
    # One pass over the text finds the lines that may set a secret-named variable.
    # (On the lower-cased text when lowering kept every offset, as it does for ASCII.)
    same = len(lower) == len(text)
    candidates = _CANDIDATE.finditer(lower) if same else _CANDIDATE_ANY_CASE.finditer(text)
    starts = sorted({text.rfind("\n", 0, m.start()) + 1 for m in candidates})
    fences = [_line_of(text, m.start()) for m in _FENCE.finditer(text)] if markdown else []
    number, counted_to = 1, 0
    for start in starts:
        number += text.count("\n", counted_to, start)
        counted_to = start
        stop = text.find("\n", start)
        line = text[start : stop if stop >= 0 else len(text)]
        if len(line) > MAX_LINE_FOR_VARIABLES:
            continue
        in_fence = bisect.bisect_left(fences, number) % 2 == 1  # after an odd number of fences
        if number in fences:
            continue
        prose = markdown and not in_fence
        yaml_like = extension in _YAML_LIKE or (markdown and in_fence)
        position = 0
        while match := _ASSIGNMENT.search(line, position):
            # A rejected match may hide one in its value (`note: TOKEN=...`): look on there.
            position = match.start("value")
            hit = _assignment(match, line, code_file=code_file, prose=prose, yaml_like=yaml_like)
            if hit is not None:
                name, value = hit
                message = f"`{name}` is set to a literal secret ({mask(value)})"
                yield Hit(VARIABLE_RULE, number, value, message)
                position = match.end()


def _assignment(
    match: re.Match[str], line: str, *, code_file: bool, prose: bool, yaml_like: bool
) -> tuple[str, str] | None:
    """(name, value) when ``match`` sets a secret-named variable to a literal."""
    name, value, op = match["name"], match["value"], match["op"]
    snake = _CAMEL.sub("_", name).lower()
    if not _SECRET_NAME.search(snake) or _NOT_SECRET_NAME.search(snake):
        return None
    # NAME: value is YAML's (JSON's, a fenced block's, an object literal's in code);
    # elsewhere it is a type annotation or prose, unless the name is quoted (a dict).
    quoted = value[:1] in ("'", '"')
    if op == ":" and not (match["quote"] or (yaml_like and not prose) or (code_file and quoted)):
        return None
    if quoted:
        value = value[1:-1]
    else:
        if code_file:
            return None  # in code an unquoted value is an expression, not a literal
        if prose and line[match.end("quote") : match.start("value")] != "=":
            return None  # in prose only NAME=value (an environment variable) is a setting
        following = line[match.end("value") : match.end("value") + 1]
        if following in ("(", "[") or _EXPRESSION.match(value):
            return None
    if " " in value or _ENV_NAME.match(value) or _PATH.search(value) or is_placeholder(value):
        return None
    if code_file and _WORD_LIKE.match(value):
        return None
    return name, value


def _suppressions(text: str) -> dict[int, Suppression]:
    found: dict[int, Suppression] = {}
    for match in _SUPPRESSION.finditer(text):
        number = _line_of(text, match.start())
        codes = frozenset(c for c in re.split(r"[\s,]+", match["codes"].upper()) if c)
        reason = _REASON_END.sub("", match["reason"]).strip(" \t:-\u2013\u2014")
        start = text.rfind("\n", 0, match.start()) + 1
        before = text[start : match.start()].strip()
        alone = before in ("", "#", "//", "<!--", "/*", "--", ";", "%")
        found[number] = Suppression(number, codes, reason, alone)
    return found


def _suppressed(hit: Hit, suppressions: dict[int, Suppression]) -> bool:
    same = suppressions.get(hit.line)
    if same is not None and hit.code in same.codes:
        return True
    above = suppressions.get(hit.line - 1)
    return above is not None and above.alone and hit.code in above.codes


def _strongest_per_line(hits: list[Hit]) -> list[Hit]:
    best: dict[int, Hit] = {}
    for hit in hits:
        current = best.get(hit.line)
        if current is None or PRECEDENCE.index(hit.code) < PRECEDENCE.index(current.code):
            best[hit.line] = hit
    return sorted(best.values(), key=lambda hit: hit.line)


# -- the rules --------------------------------------------------------------------------

_ROTATE = "rotate it first (it is in the history for good), then"
_SUPPRESS = (
    "; for a value that is not a secret add `crisp-lint: ignore[{code}] <reason>` on its line"
    " or a `secrets-allowlist` entry"
)


@rule(
    URL_RULE,
    PHASE,
    "Password in a URL in a tracked file",
    rationale=f"{cite('5.1')}. A tracking server, remote or database URL with `user:password@`"
    " (whatever the password holds: `/`, `%` and `@` too) leaks the password to everyone who"
    " can read the repository.",
    fix=f"{_ROTATE} drop the password from the URL and pass it through the environment"
    " (e.g. MLFLOW_TRACKING_PASSWORD) or a CI secret" + _SUPPRESS.format(code=URL_RULE),
)
def no_password_in_urls(repo: RepoView) -> Iterator[Problem]:
    yield from scan(repo).hits[URL_RULE]


@rule(
    TOKEN_RULE,
    PHASE,
    "Token of a cloud, code host or API provider in a tracked file",
    rationale=f"{cite('3.5', '5.1')}. An access key or token in git (AWS, GCP, Azure, GitHub,"
    " GitLab, Slack, Stripe, OpenAI, Anthropic, Hugging Face, PyPI, npm, Databricks, JWTs)"
    " gives everyone who can read the repository, or any clone of it, that account.",
    fix=f"{_ROTATE} read it from the environment or a CI secret"
    " (`${{ secrets.NAME }}`) and delete it from the file" + _SUPPRESS.format(code=TOKEN_RULE),
)
def no_known_tokens(repo: RepoView) -> Iterator[Problem]:
    yield from scan(repo).hits[TOKEN_RULE]


@rule(
    KEY_RULE,
    PHASE,
    "Private key in a tracked file",
    rationale=f"{cite('3.5', '5.1')}. A private key (SSH, TLS, PGP, a cloud service-account"
    " key) in any tracked file is a credential shared with every reader of the repository.",
    fix=f"{_ROTATE} keep the key in a secret store or a git-ignored file and delete it from"
    " git" + _SUPPRESS.format(code=KEY_RULE),
)
def no_private_keys(repo: RepoView) -> Iterator[Problem]:
    yield from scan(repo).hits[KEY_RULE]


@rule(
    VARIABLE_RULE,
    PHASE,
    "Secret-named variable set to a literal value",
    rationale=f"{cite('3.5', '5.1')}. `PASSWORD=`, `API_KEY=`, `MLFLOW_TRACKING_PASSWORD=`,"
    " `aws_secret_access_key:` and the like, set to a literal in any tracked file (.env,"
    " YAML, TOML, Python, shell, a README's code), publish the secret; a reference"
    " (`$VAR`, `${{ secrets.X }}`, `os.environ[...]`) or a placeholder does not.",
    fix=f"{_ROTATE} set the variable from the environment or a CI secret and keep the"
    " value out of git (a git-ignored .env)" + _SUPPRESS.format(code=VARIABLE_RULE),
)
def no_secret_variables(repo: RepoView) -> Iterator[Problem]:
    yield from scan(repo).hits[VARIABLE_RULE]


@rule(
    LOCAL_DVC_CONFIG,
    PHASE,
    ".dvc/config.local is tracked by git",
    rationale=f"{cite('3.5')}. `.dvc/config.local` holds the DVC remote's credentials and is"
    " git-ignored by DVC; force-added, it publishes them.",
    fix=f"{_ROTATE} `git rm --cached .dvc/config.local` (the file stays on disk) and commit",
)
def local_dvc_config_untracked(repo: RepoView) -> Iterator[Problem]:
    if not repo.git_listed:
        return
    for rel in repo.files():
        if (rel == ".dvc/config.local" or rel.endswith("/.dvc/config.local")) and (
            repo.is_tracked_by_git(rel)
        ):
            yield Problem(rel, "the file with the DVC remote's credentials is tracked by git")


@rule(
    SUPPRESSION_WITHOUT_REASON,
    PHASE,
    "A secret finding is suppressed without a reason",
    rationale=f"{cite('5.1')}. A suppressed secret finding is a decision someone took; without"
    " the reason on the line, the next reviewer cannot tell a test fixture from a leak.",
    fix="write the reason after the codes: `# crisp-lint: ignore[GEN020] fake token for the"
    " parser tests`",
)
def suppressions_have_reasons(repo: RepoView) -> Iterator[Problem]:
    yield from scan(repo).reasonless
