"""Recognise credentials written into configuration: passwords in URLs, secret-named keys."""

from __future__ import annotations

import re

from crisp_lint.checks._regex import lazy
from crisp_lint.credentials import url_credentials
from crisp_lint.model import split_lines

SECRET_KEY = lazy(
    r"(^|[_.-])(token|secret|password|passwd|pwd|api[_-]?key|access[_-]?key"
    r"|secret[_-]?access[_-]?key|account[_-]?key|sas[_-]?token|connection[_-]?string"
    r"|private[_-]?key|credentials?)($|[_.-])",
    re.IGNORECASE,
)
_REFERENCE = lazy(r"^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$|^\{\{.*\}\}$|^<.*>$")


def is_reference(value: str) -> bool:
    """``${TOKEN}``, ``$TOKEN``, ``{{ secrets.X }}`` or ``<your token>``: not a literal secret."""
    return bool(_REFERENCE.match(value.strip()))


def url_passwords(text: str) -> list[tuple[int, str]]:
    """(line, redacted URL start) for every URL that carries a literal password."""
    found = []
    for number, line in enumerate(split_lines(text), start=1):
        for credential in url_credentials(line):
            if not is_reference(credential.password):
                found.append((number, credential.redacted))
    return found


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key))
