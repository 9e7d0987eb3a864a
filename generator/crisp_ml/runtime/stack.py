"""The shared stack, locally: PostgreSQL, an S3-compatible server and ``mlflow server``.

``python -m crisp_ml.runtime.stack up|down|status|env [--dir .stack] [--ports ...]`` (and
``make stack`` / ``make stack-down`` / ``make stack-status`` in a generated project) starts
what a team shares, so the project can be tried against real servers before the team's own
exist:

- PostgreSQL (``initdb`` into ``<dir>/postgres``): databases ``mlflow`` (MLflow's backend
  store) and ``predictions`` (the prediction log);
- ``moto_server`` (moto's S3, the one DVC's own tests use) with credential checks on: bucket
  ``crisp-stack``, MLflow's artifacts under ``s3://crisp-stack/mlflow``, room for a DVC
  remote beside them;
- ``mlflow server`` on PostgreSQL, proxying artifacts to the bucket.

Each server runs in its own process group; its PID goes to ``<dir>/pids/<name>.pid`` and
its output to ``<dir>/logs/<name>.log``. ``down`` stops exactly those PIDs (never by name).
The generated passwords and keys live in ``<dir>/credentials.env`` (mode 0600), never in an
answer, params.yaml or a URL written to git; ``env`` prints the exports a shell or CI needs.

moto keeps everything in memory: stopping it forgets the bucket, its objects and the keys
(a restart makes new ones and ``env`` prints them). PostgreSQL's data stays in the folder.
Every wait is bounded; a missing binary or a port in use is reported naming the component
and the fix, as a :class:`StackError`.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

COMPONENTS = ("postgres", "moto", "mlflow")  # start order; `down` goes the other way
DEFAULT_DIR = ".stack"
BUCKET = "crisp-stack"
DB_USER = "crisp"
DATABASES = ("mlflow", "predictions")
REGION = "us-east-1"
HOST = "127.0.0.1"
# Measured: PostgreSQL is ready in about 1 s, moto in 2, mlflow server's /health in 5 to 7.
READY_SECONDS = {"postgres": 30.0, "moto": 30.0, "mlflow": 90.0}
STOP_SECONDS = 15.0  # after SIGTERM, before SIGKILL
COMMAND_SECONDS = 60.0  # initdb, createdb
HTTP_SECONDS = 3.0
# moto checks credentials after this many requests: the three that create the IAM user, its
# policy and its access key. Everything after, the bucket included, must be signed.
MOTO_UNAUTHENTICATED_REQUESTS = 3
# The name each component's command line holds: a recorded PID whose process does not is
# stale (the PID was reused), and is never signalled.
EXECUTABLE_MARK = {"postgres": "postgres", "moto": "moto_server", "mlflow": "mlflow"}
STACK_EXTRA_HINT = "install the stack's packages: pip install 'crisp-ml[stack]'"


class StackError(Exception):
    """A user-facing failure: the message names the component and what to do."""


@dataclass(frozen=True)
class Layout:
    """Where the stack keeps its files, all under one folder."""

    root: Path

    @property
    def postgres_data(self) -> Path:
        return self.root / "postgres"

    @property
    def credentials(self) -> Path:
        return self.root / "credentials.env"

    @property
    def settings(self) -> Path:
        return self.root / "stack.json"

    def pid_file(self, name: str) -> Path:
        return self.root / "pids" / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"


# ---------------------------------------------------------------- settings and secrets


def free_port() -> int:
    """A TCP port nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    """True when something accepts connections on ``HOST:port``."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


def parse_ports(text: str | None) -> dict[str, int]:
    """``postgres=5432,moto=5000,mlflow=5001`` (any subset) -> {name: port}."""
    ports: dict[str, int] = {}
    for item in filter(None, (text or "").split(",")):
        name, _, value = item.partition("=")
        if name.strip() not in COMPONENTS or not value.strip().isdigit():
            raise StackError(
                f"--ports: {item!r} is not NAME=PORT with NAME one of {', '.join(COMPONENTS)}"
            )
        ports[name.strip()] = int(value)
    return ports


def load_settings(layout: Layout) -> dict:
    """stack.json (ports, bucket, user), or {} before the first ``up``."""
    if not layout.settings.is_file():
        return {}
    return json.loads(layout.settings.read_text(encoding="utf-8"))


def save_settings(layout: Layout, settings: dict) -> None:
    layout.settings.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")


def read_credentials(layout: Layout) -> dict[str, str]:
    """credentials.env as {KEY: value} ({} when missing)."""
    if not layout.credentials.is_file():
        return {}
    pairs = {}
    for line in layout.credentials.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            pairs[key.strip()] = shlex.split(value)[0] if value.strip() else ""
    return pairs


def write_credentials(layout: Layout, values: dict[str, str]) -> None:
    """Rewrite credentials.env, readable by its owner only (created 0600, never wider)."""
    text = "# crisp-ml stack secrets: never commit this file\n" + "".join(
        f"{key}={shlex.quote(value)}\n" for key, value in sorted(values.items())
    )
    fd = os.open(layout.credentials, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(layout.credentials, 0o600)


# ---------------------------------------------------------------- processes


def read_pid(layout: Layout, name: str) -> int | None:
    """The recorded PID of a component if that process still runs it, else None."""
    path = layout.pid_file(name)
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None
    return pid if _runs(pid, EXECUTABLE_MARK[name]) else None


def _runs(pid: int, mark: str) -> bool:
    """Is ``pid`` alive and (where /proc says) running the component's executable?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user (postgres when started as root)
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.exists():
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return True
        # A zombie has an empty command line: it has exited, only not been reaped.
        return mark in text
    return True


def start_process(
    layout: Layout,
    name: str,
    argv: Sequence[str],
    env: dict[str, str],
    user: pwd.struct_passwd | None = None,
) -> subprocess.Popen:
    """Start ``argv`` in a process group of its own, logging to logs/<name>.log."""
    log = layout.log_file(name)
    with open(log, "ab") as out:
        if user is not None:
            os.chown(log, user.pw_uid, user.pw_gid)
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=layout.root,
            **_as_user(user),
        )
    layout.pid_file(name).write_text(f"{process.pid}\n", encoding="utf-8")
    return process


def _as_user(user: pwd.struct_passwd | None) -> dict:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def stop_pid(pid: int, stop_signal: int = signal.SIGTERM) -> None:
    """Signal the process group ``pid`` leads, wait, then SIGKILL it: all bounded."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, stop_signal)
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap our own child, or it lingers as a zombie
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/status")
    with contextlib.suppress(OSError):
        return "\nState:\tZ" not in status.read_text()
    return True


def wait_until(
    what: str, ready: Callable[[], bool], seconds: float, process: subprocess.Popen, log: Path
) -> None:
    """Poll ``ready`` until true; fail fast if the process exits, and after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(
                f"{what} exited with code {process.returncode} while starting:\n"
                f"{tail(log)}\n(full log: {log})"
            )
        if ready():
            return
        time.sleep(0.3)
    raise StackError(
        f"{what} did not become ready within {seconds:.0f} s; its log ({log}) ends:\n{tail(log)}"
    )


def tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_SECONDS) as response:
            return 200 <= response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------- finding binaries


def postgres_bin_dir() -> Path:
    """The folder holding initdb and postgres: PATH first, then /usr/lib/postgresql/*/bin."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise StackError(
        "postgres: PostgreSQL's server binaries (initdb, postgres) are not on PATH nor under "
        "/usr/lib/postgresql/*/bin: install them (Debian/Ubuntu: apt-get install postgresql; "
        "macOS: brew install postgresql) or put their bin folder on PATH"
    )


def venv_executable(name: str) -> str:
    """A console script of this environment (beside sys.executable), else from PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name} is not installed in this environment: {STACK_EXTRA_HINT}")
    return found


def postgres_user() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as: None (ourselves), or ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise StackError(
            "postgres: PostgreSQL refuses to run as root and this machine has no `postgres` "
            "user: run the stack as an ordinary user, or create one (useradd --system postgres)"
        ) from None


def check_reachable(path: Path, user: pwd.struct_passwd) -> None:
    """Fail clearly when ``user`` cannot enter every folder above ``path``."""
    for folder in [path, *path.parents]:
        mode = folder.stat()
        if mode.st_uid == user.pw_uid:
            ok = mode.st_mode & stat.S_IXUSR
        elif mode.st_gid == user.pw_gid:
            ok = mode.st_mode & stat.S_IXGRP
        else:
            ok = mode.st_mode & stat.S_IXOTH
        if not ok:
            raise StackError(
                f"postgres: PostgreSQL refuses to run as root, so the stack runs it as the "
                f"`postgres` user, who cannot enter {folder}: choose a --dir it can reach "
                f"(e.g. under /tmp) or allow it: chmod o+x {folder}"
            )


# ---------------------------------------------------------------- the components


def start_postgres(layout: Layout, settings: dict, creds: dict[str, str]) -> None:
    """initdb on first use (password in credentials.env), then the server, then databases."""
    bin_dir = postgres_bin_dir()
    user = postgres_user()
    port = settings["ports"]["postgres"]
    fresh = not (layout.postgres_data / "PG_VERSION").is_file()
    if fresh:
        initdb(layout, bin_dir, user, creds["POSTGRES_PASSWORD"])
    if user is not None:
        check_reachable(layout.postgres_data, user)
    argv = [
        str(bin_dir / "postgres"),
        "-D", str(layout.postgres_data),
        "-p", str(port),
        "-h", HOST,
        "-k", "",  # TCP only: no socket file in /var/run/postgresql, which may not exist
    ]  # fmt: skip
    process = start_process(layout, "postgres", argv, _clean_env(), user)
    ready = lambda: _pg_ready(bin_dir, port, creds)  # noqa: E731
    wait_until("postgres", ready, READY_SECONDS["postgres"], process, layout.log_file("postgres"))
    if fresh:
        for database in DATABASES:
            createdb(bin_dir, port, creds, database)


def initdb(layout: Layout, bin_dir: Path, user: pwd.struct_passwd | None, password: str) -> None:
    """A new cluster owned by ``user``, superuser ``crisp`` with a password (scram)."""
    data = layout.postgres_data
    if data.exists():
        shutil.rmtree(data)  # a half-made cluster from an interrupted first `up`
    data.mkdir(mode=0o700)
    pwfile = layout.root / "pwfile"
    pwfile.write_text(password + "\n", encoding="utf-8")
    try:
        if user is not None:
            check_reachable(layout.root, user)
            for path in (data, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(pwfile, 0o600)
        argv = [
            str(bin_dir / "initdb"), "-D", str(data), "-U", DB_USER, f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "--encoding=UTF8", "--no-instructions",
        ]  # fmt: skip
        _run("postgres (initdb)", argv, user=user)
    finally:
        pwfile.unlink(missing_ok=True)


def createdb(bin_dir: Path, port: int, creds: dict[str, str], database: str) -> None:
    argv = [str(bin_dir / "createdb"), "-h", HOST, "-p", str(port), "-U", DB_USER, database]
    if not (bin_dir / "createdb").is_file():
        argv[0] = shutil.which("createdb") or "createdb"
    _run(f"postgres (createdb {database})", argv, extra_env=_pg_env(creds))


def _pg_env(creds: dict[str, str]) -> dict[str, str]:
    return {"PGPASSWORD": creds["POSTGRES_PASSWORD"], "PGCONNECT_TIMEOUT": "3"}


def _pg_ready(bin_dir: Path, port: int, creds: dict[str, str]) -> bool:
    """pg_isready if there is one (it answers without credentials), else a TCP connect."""
    tool = bin_dir / "pg_isready"
    if not tool.is_file():
        return port_in_use(port)
    argv = [str(tool), "-q", "-h", HOST, "-p", str(port), "-t", "2"]
    env = {**_clean_env(), **_pg_env(creds)}
    return subprocess.run(argv, env=env, timeout=10, check=False).returncode == 0


def _run(
    what: str,
    argv: Sequence[str],
    user: pwd.struct_passwd | None = None,
    extra_env: dict[str, str] | None = None,
) -> None:
    env = {**_clean_env(), **(extra_env or {})}
    try:
        done = subprocess.run(
            list(argv), env=env, capture_output=True, text=True,
            timeout=COMMAND_SECONDS, check=False, **_as_user(user),
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise StackError(f"{what} did not finish within {COMMAND_SECONDS:.0f} s") from None
    if done.returncode != 0:
        raise StackError(f"{what} failed (exit {done.returncode}):\n{done.stderr.strip()}")


def start_moto(layout: Layout, settings: dict, creds: dict[str, str]) -> None:
    """moto's S3 with credential checks on; a fresh IAM user's keys go to credentials.env."""
    executable = venv_executable("moto_server")
    port = settings["ports"]["moto"]
    env = {**_clean_env(), "INITIAL_NO_AUTH_ACTION_COUNT": str(MOTO_UNAUTHENTICATED_REQUESTS)}
    argv = [executable, "-H", HOST, "-p", str(port)]
    process = start_process(layout, "moto", argv, env)
    url = f"http://{HOST}:{port}"
    ready = lambda: http_ok(f"{url}/moto-api/")  # noqa: E731  (not an AWS action: not counted)
    wait_until("moto (S3)", ready, READY_SECONDS["moto"], process, layout.log_file("moto"))
    creds.update(bootstrap_s3(url))
    write_credentials(layout, creds)


def bootstrap_s3(endpoint: str) -> dict[str, str]:
    """Create the IAM user and key (unauthenticated requests), then the bucket, signed."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise StackError(f"moto (S3): boto3 is missing: {STACK_EXTRA_HINT}") from None
    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2})
    anonymous = {"aws_access_key_id": "bootstrap", "aws_secret_access_key": "bootstrap"}
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION, config=config, **anonymous)
    iam.create_user(UserName="crisp-stack")
    iam.put_user_policy(
        UserName="crisp-stack",
        PolicyName="all-s3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="crisp-stack")["AccessKey"]
    keys = {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        config=config,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket=BUCKET)
    return keys


def start_mlflow(layout: Layout, settings: dict, creds: dict[str, str]) -> None:
    """mlflow server on PostgreSQL, proxying artifacts to s3://<bucket>/mlflow on moto."""
    executable = venv_executable("mlflow")
    try:
        import psycopg2  # noqa: F401  (SQLAlchemy's driver for the backend store)
    except ImportError:
        raise StackError(f"mlflow: psycopg2 is missing: {STACK_EXTRA_HINT}") from None
    ports = settings["ports"]
    # The password travels in PGPASSWORD (libpq reads it), not on a command line `ps` shows.
    backend = f"postgresql+psycopg2://{DB_USER}@{HOST}:{ports['postgres']}/mlflow"
    argv = [
        executable, "server", "--host", HOST, "--port", str(ports["mlflow"]), "--workers", "1",
        "--backend-store-uri", backend, "--artifacts-destination", f"s3://{BUCKET}/mlflow",
    ]  # fmt: skip
    env = {
        **_clean_env(),
        **_pg_env(creds),
        **s3_env(settings, creds),
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # no job runner: ~0.5 GB, 4 s start
    }
    process = start_process(layout, "mlflow", argv, env)
    ready = lambda: http_ok(f"http://{HOST}:{ports['mlflow']}/health")  # noqa: E731
    wait_until("mlflow server", ready, READY_SECONDS["mlflow"], process, layout.log_file("mlflow"))


def s3_env(settings: dict, creds: dict[str, str]) -> dict[str, str]:
    endpoint = f"http://{HOST}:{settings['ports']['moto']}"
    return {
        "AWS_ACCESS_KEY_ID": creds["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": creds["AWS_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "MLFLOW_S3_ENDPOINT_URL": endpoint,
    }


def _clean_env() -> dict[str, str]:
    """Our environment without another stack's settings, telemetry off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_", "PG"))}
    env.update(DVC_NO_ANALYTICS="1", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1")
    return env


STARTERS = {"postgres": start_postgres, "moto": start_moto, "mlflow": start_mlflow}


# ---------------------------------------------------------------- commands


def up(layout: Layout, ports: dict[str, int]) -> list[str]:
    """Start whatever is not running (idempotent); returns one line per component."""
    for folder in (layout.root, layout.root / "pids", layout.root / "logs"):
        folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(layout)
    settings.setdefault("bucket", BUCKET)
    settings.setdefault("user", DB_USER)
    known = settings.setdefault("ports", {})
    creds = read_credentials(layout)
    creds.setdefault("POSTGRES_PASSWORD", secrets.token_urlsafe(24))
    write_credentials(layout, creds)
    report = []
    restarted = set()
    for name in COMPONENTS:
        pid = read_pid(layout, name)
        if pid is not None and not (name == "mlflow" and "moto" in restarted):
            if name in ports and ports[name] != known.get(name):
                raise StackError(
                    f"{name} already runs on port {known.get(name)}: `down` first to move it "
                    f"to {ports[name]}"
                )
            report.append(f"{name}: already running (pid {pid}, port {known[name]})")
            continue
        if pid is not None:  # mlflow holding keys of a moto that has been replaced
            stop_pid(pid)
        known[name] = ports.get(name) or known.get(name) or free_port()
        if port_in_use(known[name]):
            raise StackError(
                f"{name}: port {known[name]} is in use by another process: stop it, or choose "
                f"another port with --ports {name}=PORT"
            )
        save_settings(layout, settings)
        STARTERS[name](layout, settings, creds)
        restarted.add(name)
        report.append(f"{name}: started (pid {read_pid(layout, name)}, port {known[name]})")
    return report


def down(layout: Layout) -> list[str]:
    """Stop exactly the recorded PIDs, in reverse start order; drop stale PID files."""
    report = []
    for name in reversed(COMPONENTS):
        path = layout.pid_file(name)
        if not path.exists():
            continue
        pid = read_pid(layout, name)
        if pid is None:
            report.append(f"{name}: not running (stale pid file removed)")
        else:
            # PostgreSQL's SIGTERM waits for every client to leave; SIGINT is its fast,
            # clean shutdown (rolls back open transactions, then exits).
            stop_pid(pid, signal.SIGINT if name == "postgres" else signal.SIGTERM)
            report.append(f"{name}: stopped (pid {pid})")
        path.unlink(missing_ok=True)
    return report or ["nothing recorded as running in " + str(layout.root)]


def status(layout: Layout) -> tuple[bool, list[str]]:
    """(all running and answering, one line per component)."""
    ports = load_settings(layout).get("ports", {})
    checks = {
        "postgres": lambda p: port_in_use(p),
        "moto": lambda p: http_ok(f"http://{HOST}:{p}/moto-api/"),
        "mlflow": lambda p: http_ok(f"http://{HOST}:{p}/health"),
    }
    healthy, lines = True, []
    for name in COMPONENTS:
        pid = read_pid(layout, name)
        if pid is None:
            stale = " (stale pid file)" if layout.pid_file(name).exists() else ""
            lines.append(f"{name}: stopped{stale}")
            healthy = False
        elif checks[name](ports.get(name, 0)):
            lines.append(f"{name}: running (pid {pid}, port {ports[name]})")
        else:
            lines.append(f"{name}: pid {pid} runs but port {ports.get(name)} does not answer")
            healthy = False
    return healthy, lines


def environment(layout: Layout) -> dict[str, str]:
    """The variables a client of this stack needs (secrets included: do not log them)."""
    settings, creds = load_settings(layout), read_credentials(layout)
    if not settings.get("ports") or "AWS_ACCESS_KEY_ID" not in creds:
        raise StackError(f"no stack has been started in {layout.root}: run `make stack` first")
    ports = settings["ports"]
    password = creds["POSTGRES_PASSWORD"]
    return {
        "CRISP_STACK_DIR": str(layout.root),
        "MLFLOW_TRACKING_URI": f"http://{HOST}:{ports['mlflow']}",
        "CRISP_PREDICTION_LOG_URL": (
            f"postgresql+psycopg2://{DB_USER}:{password}@{HOST}:{ports['postgres']}/predictions"
        ),
        "CRISP_STACK_POSTGRES_PORT": str(ports["postgres"]),
        "CRISP_STACK_BUCKET": settings.get("bucket", BUCKET),
        **s3_env(settings, creds),
        # Presigned downloads straight from S3; the proxy's multipart path retried for 400 s
        # against moto with credential checks on.
        "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD": "false",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crisp_ml.runtime.stack",
        description="Start, stop and describe the local shared stack "
        "(PostgreSQL, moto's S3, mlflow server).",
    )
    parser.add_argument("command", choices=("up", "down", "status", "env"))
    parser.add_argument("--dir", default=DEFAULT_DIR, help="the stack's folder (.stack)")
    parser.add_argument("--ports", help="fixed ports: postgres=N,moto=N,mlflow=N (default free)")
    parser.add_argument("--prefix", default="", help="env: prefix each variable's name")
    args = parser.parse_args(argv)
    layout = Layout(Path(args.dir).resolve())
    try:
        return _dispatch(args, layout)
    except StackError as error:
        print(f"stack: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stack: interrupted; `down` stops whatever was started", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace, layout: Layout) -> int:
    if args.command == "up":
        _print(up(layout, parse_ports(args.ports)))
        where = shlex.quote(str(layout.root))
        print(f'eval "$(python -m crisp_ml.runtime.stack env --dir {where})"  # a client shell')
        return 0
    if args.command == "down":
        _print(down(layout))
        return 0
    if args.command == "status":
        healthy, lines = status(layout)
        _print(lines)
        return 0 if healthy else 1
    for key, value in environment(layout).items():
        name = key if key.startswith("CRISP_STACK_") else args.prefix + key
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _print(lines: Iterator[str] | list[str]) -> None:
    for line in lines:
        print(line)


if __name__ == "__main__":
    sys.exit(main())
