"""Probe the MLflow tracking server and its artifact store before a stage talks to them.

MLflow's client retries a failing server for about four minutes and waits up to two minutes
for each answer, so a stage facing a broken store used to print nothing for minutes and
leave a RUNNING run behind. A probe makes one bounded call to each part, with a hard total
deadline of a few seconds, and turns what it sees into one message naming the part that
failed and what to do next:

- the tracking server: nothing listens (``cannot reach the MLflow tracking server``), or it
  accepts connections but does not answer ``/health`` (``did not answer``);
- its backend database: ``/health`` answers but an API call (``experiments/search``) fails
  or hangs: MLflow answers 503 ``TEMPORARILY_UNAVAILABLE`` when PostgreSQL is down, 400 when
  the SQLite file is corrupt, and waits ~20 s when it is locked;
- the artifact store: through the server's proxy (``mlflow-artifacts:``), a listing the
  server must fetch from its ``--artifacts-destination``; for ``s3://`` locations the client
  writes itself, a ``head_bucket`` (403: the credentials; unreachable: the endpoint).

Every message names its part with one of the words in :data:`COMPONENTS` (and
:class:`ProbeError` carries it as ``component``); docs/shared-stack.md ("When something is
down") lists the messages. URLs are
printed without passwords. Only the standard library is needed for HTTP; boto3 is imported
only for ``s3://`` locations.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .pipeline import StageError

PROBE_SECONDS = 5.0  # total deadline of one probe: a healthy server answers in milliseconds
# Words the messages use for the parts, so scripts and tests can tell them apart.
TRACKING, DATABASE, ARTIFACTS = "tracking server", "backend database", "artifact store"
COMPONENTS = (TRACKING, DATABASE, ARTIFACTS)
PREFIX = "MLflow "
LOCAL_FALLBACK = "or track locally for now with MLFLOW_TRACKING_URI=sqlite:///$PWD/mlflow.db"
HEALTH_PATH = "/health"
SEARCH_PATH = "/api/2.0/mlflow/experiments/search"
ARTIFACTS_PATH = "/api/2.0/mlflow-artifacts/artifacts"
S3_ENDPOINT_VARIABLES = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
S3_REFUSED = ("403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden")
MAX_DETAIL = 200  # characters of a server's error message worth showing

T = TypeVar("T")


class ProbeError(StageError):
    """A part of the MLflow store is down; the message names it and the next step."""

    def __init__(self, component: str, message: str) -> None:
        super().__init__(message)
        self.component = component


class _Timeout(Exception):
    pass


def mask(url: str) -> str:
    """``url`` without a password (``user:***@host``): fit for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``'s result, or :class:`_Timeout` after ``seconds`` however it blocks.

    Socket timeouts bound each read, not a whole exchange (a server may dribble bytes or
    DNS may hang), so the call runs in a daemon thread that is abandoned at the deadline.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the caller's thread below
            outcome["error"] = error

    worker = threading.Thread(target=target, name="crisp-probe", daemon=True)
    worker.start()
    worker.join(max(seconds, 0.0))
    if worker.is_alive():
        raise _Timeout
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# Tracking server -------------------------------------------------------------------------


def _base(uri: str) -> tuple[str, dict[str, str]]:
    """The server's URL without credentials, and the headers MLflow's client would send."""
    parts = urllib.parse.urlsplit(uri)
    headers = {"User-Agent": "crisp-ml-probe"}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or parts.username
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or parts.password
    if token := os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = f"Bearer {token}"
    elif user and password:
        pair = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")), headers


def _call(
    url: str, headers: dict[str, str], body: dict[str, Any] | None, seconds: float
) -> tuple[int, str]:
    """(HTTP status, body text) of one request; connection errors and timeouts raise."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=dict(headers))
    if data is not None:
        request.add_header("Content-Type", "application/json")

    def exchange() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(request, timeout=seconds) as response:
                return response.status, response.read(64 * 1024).decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read(64 * 1024).decode("utf-8", "replace")
        except TimeoutError:  # the socket's own timeout, a hair before the deadline
            raise _Timeout from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                raise _Timeout from None
            raise

    return within(seconds, exchange)


def _detail(text: str) -> str:
    """MLflow's error code and the first line of its message, from an error body."""
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        code = str(payload.get("error_code") or "")
        message = str(payload.get("message") or "").strip().splitlines()
        text = f"{code}: {message[0]}" if message else code
    text = " ".join(text.split())
    return text[:MAX_DETAIL] + ("..." if len(text) > MAX_DETAIL else "")


def _unreachable(shown: str, error: BaseException) -> ProbeError:
    reason = getattr(error, "reason", error)
    return ProbeError(
        TRACKING,
        f"cannot reach the MLflow {TRACKING} {shown} ({reason}): start it or connect to its"
        f" network, {LOCAL_FALLBACK}",
    )


def _refused(shown: str, status: int) -> ProbeError:
    return ProbeError(
        TRACKING,
        f"{PREFIX}{TRACKING} {shown} refused the credentials (HTTP {status}): set"
        " MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)",
    )


@dataclass(frozen=True)
class _Request:
    """One bounded call a probe makes to the tracking server, and what each failure says.

    Every call fails the same ways, in this order: no answer in time (``hung``), nothing
    listening (``cannot reach``), the credentials refused (401/403), an answer of its own
    meaning (``statuses``), any other status than 200 (``failed``). The wording is a
    ``str.format`` template over ``shown`` (the URI without password), ``seconds`` (the
    time allowed), ``status`` and ``detail`` (the server's error, shortened): in the
    f-strings that build them, ``{{shown}}`` is such a field, filled in at each call.
    """

    path: str
    component: str  # the part a hang or a failure points at
    hung: str
    failed: str
    body: dict[str, Any] | None = None  # a POST body; None for a GET
    statuses: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # component, wording

    def ask(self, uri: str, seconds: float) -> None:
        """Raise :class:`ProbeError` unless the server at ``uri`` answers 200 in time."""
        base, headers = _base(uri)
        shown = mask(uri)
        try:
            status, text = _call(base + self.path, headers, self.body, seconds)
        except _Timeout:
            raise ProbeError(
                self.component, self.hung.format(shown=shown, seconds=seconds)
            ) from None
        except OSError as error:
            raise _unreachable(shown, error) from None
        if status in (401, 403):
            raise _refused(shown, status)
        if status == 200:
            return
        component, wording = self.statuses.get(status, (self.component, self.failed))
        words = {"shown": shown, "seconds": seconds, "status": status, "detail": _detail(text)}
        raise ProbeError(component, wording.format(**words))


DATABASE_CHECK = (
    "check that the database of its --backend-store-uri is running and reachable from the"
    " server (then restart the server if it does not recover)"
)
# The server itself: it answers /health without touching its database.
HEALTH = _Request(
    path=HEALTH_PATH,
    component=TRACKING,
    hung=f"{PREFIX}{TRACKING} {{shown}} accepted the connection but did not answer"
    f" {HEALTH_PATH} within {{seconds:g}} s: it is hung or overloaded; check its process"
    f" and logs (restart it), {LOCAL_FALLBACK}",
    failed=f"{PREFIX}{TRACKING} {{shown}} answered HTTP {{status}} on {HEALTH_PATH}"
    " ({detail}): check its logs, or that the URI names an MLflow server",
)
# An API call that needs the database: what fails when only the database is down.
SEARCH = _Request(
    path=SEARCH_PATH,
    body={"max_results": 1},
    component=DATABASE,
    hung=f"{PREFIX}{TRACKING} {{shown}} answers {HEALTH_PATH}, but its {DATABASE} did not"
    f" answer within {{seconds:.0f}} s (down, hung or locked): {DATABASE_CHECK}",
    failed=f"{PREFIX}{TRACKING} {{shown}} answers {HEALTH_PATH}, but its {DATABASE} failed"
    f" (HTTP {{status}}, {{detail}}): {DATABASE_CHECK}",
    statuses={
        404: (
            TRACKING,
            f"{PREFIX}{TRACKING} {{shown}} has no MLflow REST API (HTTP 404 on {SEARCH_PATH}):"
            " check the tracking URI (MLFLOW_TRACKING_URI or mlflow.tracking_uri in params.yaml)",
        )
    },
)


def _is_server(uri: str) -> bool:
    return urllib.parse.urlsplit(uri).scheme in ("http", "https")


def probe_tracking(uri: str, timeout: float = PROBE_SECONDS) -> None:
    """Raise :class:`ProbeError` unless the tracking server at ``uri`` and its backend
    database answer within ``timeout`` seconds in all. Other stores (SQLite, files) pass."""
    if not _is_server(uri):
        return
    deadline = time.monotonic() + timeout
    HEALTH.ask(uri, timeout)
    # At least a second for the database, however long /health took.
    SEARCH.ask(uri, max(deadline - time.monotonic(), 1.0))


# Artifact store --------------------------------------------------------------------------


PROXY_CHECK = (
    "check that the store of its --artifacts-destination is running and that the server's"
    " credentials for it (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, MLFLOW_S3_ENDPOINT_URL in"
    " the server's environment) are right"
)
# A listing of the artifact proxy's root: the server must ask its --artifacts-destination.
PROXY = _Request(
    path=ARTIFACTS_PATH + "?path=",
    component=ARTIFACTS,
    hung=f"{PREFIX}{ARTIFACTS} behind the {TRACKING} {{shown}} did not answer within"
    f" {{seconds:g}} s (hung or unreachable from the server): {PROXY_CHECK}",
    failed=f"{PREFIX}{ARTIFACTS} behind the {TRACKING} {{shown}} failed (HTTP {{status}},"
    f" {{detail}}): {PROXY_CHECK}; a server started without --artifacts-destination"
    " (or with --no-serve-artifacts) cannot proxy artifacts",
)


def probe_artifacts(
    location: str, tracking: str | None = None, timeout: float = PROBE_SECONDS
) -> None:
    """Raise :class:`ProbeError` unless the artifact store of ``location`` (an experiment's
    artifact location) answers within ``timeout`` seconds.

    ``mlflow-artifacts:`` goes through the tracking server ``tracking``; ``s3://`` is
    reached directly with boto3. Local paths and other schemes pass unchecked.
    """
    scheme = urllib.parse.urlsplit(location).scheme
    if scheme == "mlflow-artifacts" and tracking:
        if _is_server(tracking):
            PROXY.ask(tracking, timeout)
    elif scheme in ("s3", "s3a"):
        _probe_s3(location, timeout)


def s3_endpoint() -> str | None:
    """The S3-compatible endpoint the clients use, as MLflow and boto pick it."""
    return next((os.environ[name] for name in S3_ENDPOINT_VARIABLES if os.environ.get(name)), None)


def _probe_s3(location: str, timeout: float) -> None:
    try:
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError:
        raise ProbeError(
            ARTIFACTS,
            f"{PREFIX}{ARTIFACTS} {location} is on S3, but boto3 is not installed: pip install"
            " boto3 (add it to the project's dependencies)",
        ) from None
    bucket = urllib.parse.urlsplit(location).netloc
    endpoint = s3_endpoint()
    where = f"S3 endpoint {endpoint}" if endpoint else "AWS S3 (no MLFLOW_S3_ENDPOINT_URL set)"
    session = boto3.session.Session()
    credentials = session.get_credentials()
    source = credentials.method if credentials else "none found"
    config = Config(
        connect_timeout=timeout / 2, read_timeout=timeout / 2, retries={"total_max_attempts": 2}
    )
    s3 = session.client("s3", endpoint_url=endpoint, config=config)
    try:
        within(timeout, lambda: s3.head_bucket(Bucket=bucket))
    except _Timeout:
        raise ProbeError(
            ARTIFACTS,
            f"{PREFIX}{ARTIFACTS} s3://{bucket} at the {where} did not answer within {timeout:g} s"
            " (hung or overloaded): check the S3 server",
        ) from None
    except NoCredentialsError:
        raise ProbeError(
            ARTIFACTS, _s3_credentials(bucket, where, "no credentials found")
        ) from None
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in S3_REFUSED:
            raise ProbeError(
                ARTIFACTS, _s3_credentials(bucket, where, f"{code}; credentials from {source}")
            ) from None
        if code in ("404", "NoSuchBucket"):
            raise ProbeError(
                ARTIFACTS,
                f"{PREFIX}{ARTIFACTS}: the bucket {bucket} does not exist at the {where}: create"
                " it, or fix the experiment's artifact location",
            ) from None
        raise ProbeError(
            ARTIFACTS, f"{PREFIX}{ARTIFACTS} s3://{bucket} at the {where}: {error}"
        ) from None
    except BotoCoreError as error:  # endpoint unreachable, connect or read timeout, bad URL
        raise ProbeError(
            ARTIFACTS,
            f"{PREFIX}{ARTIFACTS} s3://{bucket}: cannot reach the {where} ({error}): start it, or"
            " set MLFLOW_S3_ENDPOINT_URL (and AWS_ENDPOINT_URL) to an S3-compatible server's URL",
        ) from None


def _s3_credentials(bucket: str, where: str, why: str) -> str:
    return (
        f"{PREFIX}{ARTIFACTS}: the S3 server refused the credentials for s3://{bucket} at the"
        f" {where} ({why}): set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) to"
        " keys that may write the bucket"
    )
