"""Credentials written into URLs: the one parser that crisp-ml's questionnaire, the
validators in copier.yml and crisp-lint share.

``scheme://user:password@host`` is split at the *last* ``@`` that is followed by a host
name (and then a port, path, query, the end or a delimiter), and the user at the *first*
``:`` - so a password may hold any character but white space and quotes, ``/``, ``%``,
``:`` and ``@`` included (AWS secret keys often contain ``/``). urllib's parsing cannot be
used: it ends the authority at the first ``/``, so for it ``s3://xxxx:xx/xx@host`` has no
password.

``URL_CREDENTIALS`` is a plain regular expression so that Jinja (Copier's ``regex_search``)
applies exactly the same test; copier.yml holds a copy of ``URL_CREDENTIALS_PATTERN`` and a
test proves they agree. Standard library only: crisp-lint imports this on every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from crisp_lint.checks._regex import lazy

# White space, quotes (\x22 \x27 \x60) and <> end a URL in running text or configuration.
# The pattern holds no quote character, so copier.yml can carry it in a Jinja string.
_URL_CHAR = r"[^\s\x22\x27\x60<>]"
URL_CREDENTIALS_PATTERN = (
    r"(?i)\b[a-z][a-z0-9+.-]{0,30}://"
    # host:port/path@... is a port and a path (an @ in the path), not user:password@
    r"(?!(?:localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):[0-9]+(?:[/?#]|$))"
    r"(?P<user>[^\s\x22\x27\x60<>/:@]{0,256}):(?P<password>" + _URL_CHAR + r"{0,1024})"
    r"@(?P<host>[a-z0-9_~%-]+(?:\.[a-z0-9_~%-]+)*|\[[0-9a-f:.]+\])"
    r"(?=[:/?#\s\x22\x27\x60<>,;)\]}]|$)"
)
# Compiled on first use (a few milliseconds): most runs find no URL with an ``@`` in it.
URL_CREDENTIALS = lazy(URL_CREDENTIALS_PATTERN)


# A NamedTuple rather than a dataclass: see crisp_lint.model (start-up time).
class UrlCredential(NamedTuple):
    """``user:password@`` found in a URL; ``start`` is its offset in the searched text."""

    user: str
    password: str
    host: str
    start: int

    @property
    def redacted(self) -> str:
        """The user and a masked password, safe to print: ``ana:***@``. A long user name
        (an access key id in ``s3://KEY:SECRET@``) is masked too."""
        user = self.user if len(self.user) <= 12 else self.user[:4] + "***"
        return f"{user}:***@"


def url_credentials(text: str) -> Iterator[UrlCredential]:
    """Every ``user:password@`` (or ``:token@``) in the URLs of ``text``."""
    if "://" not in text or "@" not in text:
        return
    for match in URL_CREDENTIALS.finditer(text):
        yield UrlCredential(match["user"], match["password"], match["host"], match.start())


def has_url_credentials(url: str) -> bool:
    """Whether ``url`` carries a password or token before its host (any value counts)."""
    return next(url_credentials(url), None) is not None
