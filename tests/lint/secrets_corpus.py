"""Planted secrets for crisp-lint's secret rules, built at import time from fragments.

No secret-looking string is written in this repository (code hosts' push protection would
refuse it, and crisp-lint's own scan of this repository must stay clean): every token is a
known prefix joined with seeded random characters. Each case is one file holding one
planted secret and the rule that must report it; ``build`` writes them all into one git
repository. Used by tests/lint/rules/test_rules_secrets.py and benchmarks/bench_secrets.py.
"""

# ruff: noqa: E501 - a table of cases, one planted secret a line

from __future__ import annotations

import random
import string
from dataclasses import dataclass

_RANDOM = random.Random(20261126)
ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
B64 = ALNUM + "+/"


def rand(alphabet: str, length: int) -> str:
    return "".join(_RANDOM.choice(alphabet) for _ in range(length))


def pem_body(lines: int = 4) -> str:
    return "\n".join(rand(B64, 64) for _ in range(lines))


def pem(kind: str) -> str:
    begin, end = "-----BEGIN ", "-----END "
    return f"{begin}{kind}PRIVATE KEY-----\n{pem_body()}\n{end}{kind}PRIVATE KEY-----\n"


# A password with /, + and @ (AWS secret keys hold / and +), and an AWS secret key.
SLASH_PASSWORD = rand(ALNUM, 6) + "/" + rand(ALNUM, 5) + "+" + rand(ALNUM, 4)
AT_PASSWORD = rand(ALNUM, 5) + "@" + rand(ALNUM, 6) + "/" + rand(ALNUM, 3)
AWS_SECRET = rand(ALNUM, 12) + "/" + rand(ALNUM, 15) + "+" + rand(ALNUM, 11)
AWS_KEY_ID = "AKIA" + rand(UPPER, 16)


@dataclass(frozen=True)
class Planted:
    name: str
    path: str
    content: str
    code: str  # the rule that must report it
    secret: str  # must never appear in a finding


def _cases() -> list[Planted]:
    gh = "ghp_" + rand(ALNUM, 36)
    cases = [
        # -- passwords in URLs, whatever they hold -------------------------------------------
        Planted(
            "dvc-remote-url-password-with-slash",
            ".dvc/config",
            "[core]\n    remote = storage\n['remote \"storage\"']\n"
            f"    url = s3://{AWS_KEY_ID}:{AWS_SECRET}@my-bucket/data\n",
            "GEN012",
            AWS_SECRET,
        ),
        Planted(
            "mlflow-uri-password-with-slash",
            "params.yaml",
            f"mlflow:\n  tracking_uri: https://ana:{SLASH_PASSWORD}@mlflow.example.com\n"
            "db:\n  - name: warehouse\n    password: " + (pw := rand(ALNUM, 14)) + "\n",
            "GEN013",
            SLASH_PASSWORD,
        ),
        Planted(
            "params-secret-nested-in-a-list",
            "params.yaml",
            "",  # the same file as above: its second secret
            "GEN014",
            pw,
        ),
        Planted(
            "database-url-password-with-at",
            "deploy/app.env",
            f"DATABASE_URL=postgresql://app:{AT_PASSWORD}@db.internal:5432/app\n",
            "GEN013",
            AT_PASSWORD,
        ),
        Planted(
            "redis-token-only",
            "docker-compose.yml",
            "services:\n  worker:\n    environment:\n"
            f"      - CELERY_BROKER=redis://:{(t := rand(ALNUM, 20))}@redis:6379/0\n",
            "GEN013",
            t,
        ),
        Planted(
            "percent-encoded-password-in-readme",
            "docs/tracking.md",
            "Point MLflow at the server:\n\n"
            f"    mlflow ui --backend-store-uri https://ana:{(p := rand(ALNUM, 8) + '%2F' + rand(ALNUM, 6))}@mlflow.example.com\n",
            "GEN013",
            p,
        ),
        Planted(
            "tracking-uri-in-python",
            "src/pkg/settings.py",
            f'TRACKING_URI = "https://svc:{(p2 := rand(ALNUM, 10) + "/" + rand(ALNUM, 8))}@mlflow.example.com:5000"\n',
            "GEN013",
            p2,
        ),
        Planted(
            "ssh-url-in-makefile",
            "Makefile",
            f"push:\n\trsync data ssh://deploy:{(p3 := rand(ALNUM, 12))}@storage.example.com/srv\n",
            "GEN013",
            p3,
        ),
        Planted(
            "answers-file-uri",
            ".copier-answers.yml",
            f"mlflow_tracking_uri: https://ana:{(p4 := rand(ALNUM, 9) + '/' + rand(ALNUM, 9))}@mlflow.example.com\n",
            "GEN013",
            p4,
        ),
        # -- tokens of known formats -------------------------------------------------------------
        Planted(
            "github-token-in-workflow",
            ".github/workflows/release.yml",
            "jobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n"
            f"      - run: gh release create v1\n        env:\n          GH_TOKEN: {gh}\n",
            "GEN020",
            gh,
        ),
        Planted(
            "github-oauth-token",
            "scripts/clone.sh",
            f"git clone https://{(g2 := 'gho_' + rand(ALNUM, 36))}@github.com/org/repo\n",
            "GEN020",
            g2,
        ),
        Planted(
            "github-app-token-in-python",
            "src/pkg/ci.py",
            f'HEADERS = {{"Authorization": "token {(g3 := "ghs_" + rand(ALNUM, 36))}"}}\n',
            "GEN020",
            g3,
        ),
        Planted(
            "github-refresh-token",
            "notes/oauth.txt",
            f"refresh with {(g4 := 'ghr_' + rand(ALNUM, 36))}\n",
            "GEN020",
            g4,
        ),
        Planted(
            "github-user-token",
            "config/app.toml",
            f'[github]\nuser_to_server = "{(g5 := "ghu_" + rand(ALNUM, 36))}"\n',
            "GEN020",
            g5,
        ),
        Planted(
            "github-fine-grained-pat-in-readme",
            "README.md",
            "# Project\n\nClone it with\n\n```bash\n"
            f"git clone https://{(g6 := 'github_pat_' + rand(ALNUM, 22) + '_' + rand(ALNUM, 59))}@github.com/org/p\n```\n",
            "GEN020",
            g6,
        ),
        Planted(
            "gitlab-token-in-ci",
            ".gitlab-ci.yml",
            f"variables:\n  GITLAB_AUTH: {(gl := 'glpat-' + rand(ALNUM, 20))}\n",
            "GEN020",
            gl,
        ),
        Planted(
            "aws-access-key-id-in-src",
            "src/pkg/storage.py",
            f'import boto3\n\nclient = boto3.client("s3", aws_access_key_id="{AWS_KEY_ID}")\n',
            "GEN020",
            AWS_KEY_ID,
        ),
        Planted(
            "aws-session-key-id-in-env",
            "ops/session.env",
            f"KEY_ID={(asia := 'ASIA' + rand(UPPER, 16))}\n",
            "GEN020",
            asia,
        ),
        Planted(
            "aws-secret-access-key-in-src",
            "src/pkg/upload.py",
            f'aws_secret_access_key = "{AWS_SECRET}"\n',
            "GEN020",
            AWS_SECRET,
        ),
        Planted(
            "aws-credentials-file",
            "ops/aws-credentials",
            f"[default]\naws_secret_access_key = {(aws2 := rand(B64, 40))}\n",
            "GEN020",
            aws2,
        ),
        Planted(
            "gcp-service-account-json",
            "secrets/service-account.json",
            '{\n  "type": "service_account",\n'
            f'  "private_key_id": "{(kid := rand("0123456789abcdef", 40))}",\n'
            '  "client_email": "svc@proj.iam.gserviceaccount.com"\n}\n',
            "GEN020",
            kid,
        ),
        Planted(
            "gcp-api-key",
            "config/maps.yaml",
            f"maps:\n  key: {(aiza := 'AIza' + rand(ALNUM + '_-', 35))}\n",
            "GEN020",
            aiza,
        ),
        Planted(
            "google-oauth-client-secret",
            "config/oauth.json",
            f'{{"web": {{"client": "{(gocspx := "GOCSPX-" + rand(ALNUM, 28))}"}}}}\n',
            "GEN020",
            gocspx,
        ),
        Planted(
            "azure-storage-connection-string",
            "ops/azure.env",
            "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acct;"
            f"AccountKey={(azk := rand(B64, 86) + '==')};EndpointSuffix=core.windows.net\n",
            "GEN020",
            azk,
        ),
        Planted(
            "slack-bot-token",
            "config/alerts.yaml",
            f"alerts:\n  slack: {(xox := 'xoxb-' + rand(string.digits, 12) + '-' + rand(string.digits, 12) + '-' + rand(ALNUM, 24))}\n",
            "GEN020",
            xox,
        ),
        Planted(
            "slack-webhook-in-monitor",
            "src/pkg/notify.py",
            f'WEBHOOK = "https://hooks.slack.com/services/{(hook := "T" + rand(UPPER, 8) + "/B" + rand(UPPER, 8) + "/" + rand(ALNUM, 24))}"\n',
            "GEN020",
            hook,
        ),
        Planted(
            "stripe-live-key",
            "web/pay.js",
            f'const stripe = Stripe("{(sk := "sk_live_" + rand(ALNUM, 24))}");\n',
            "GEN020",
            sk,
        ),
        Planted(
            "openai-project-key",
            "src/pkg/llm.py",
            f'client = OpenAI(api_key="{(oa := "sk-proj-" + rand(ALNUM + "_-", 60))}")\n',
            "GEN020",
            oa,
        ),
        Planted(
            "openai-legacy-key",
            "notebooks/explore.py",
            f"# key {(oa2 := 'sk-' + rand(ALNUM, 20) + 'T3BlbkFJ' + rand(ALNUM, 20))}\n",
            "GEN020",
            oa2,
        ),
        Planted(
            "anthropic-key",
            "config/llm.toml",
            f'[llm]\nkey = "{(ant := "sk-ant-api03-" + rand(ALNUM + "_-", 93))}"\n',
            "GEN020",
            ant,
        ),
        Planted(
            "huggingface-token",
            "src/pkg/hub.py",
            f'login("{(hf := "hf_" + rand(ALNUM, 34))}")\n',
            "GEN020",
            hf,
        ),
        Planted(
            "pypi-token",
            ".pypirc",
            "[pypi]\nusername = __token__\n"
            f"password = {(pypi := 'pypi-AgEIcHlwaS5vcmc' + rand(ALNUM + '_-', 60))}\n",
            "GEN020",
            pypi,
        ),
        Planted(
            "npm-token",
            ".npmrc",
            f"//registry.npmjs.org/:_authToken={(npm := 'npm_' + rand(ALNUM, 36))}\n",
            "GEN020",
            npm,
        ),
        Planted(
            "databricks-token",
            "config/databricks.yaml",
            f"workspace:\n  pat: {(dapi := 'dapi' + rand('0123456789abcdef', 32))}\n",
            "GEN020",
            dapi,
        ),
        Planted(
            "jwt",
            "tests/fixtures/session.json",
            f'{{"session": "{(jwt := "eyJ" + rand(ALNUM, 30) + ".eyJ" + rand(ALNUM, 40) + "." + rand(ALNUM + "_-", 43))}"}}\n',
            "GEN020",
            jwt,
        ),
        # -- private keys in any file -------------------------------------------------------
        Planted("rsa-key-file", "deploy/id_rsa", pem("RSA "), "GEN021", ""),
        Planted(
            "openssh-key-in-markdown",
            "docs/setup.md",
            "# Setup\n\nUse this key:\n\n```\n" + pem("OPENSSH ") + "```\n",
            "GEN021",
            "",
        ),
        Planted("ec-key-pem", "config/tls/server.pem", pem("EC "), "GEN021", ""),
        Planted(
            "private-key-in-service-account-json",
            "ops/sa.json",
            '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n'
            + rand(B64, 64)
            + "\\n"
            + rand(B64, 64)
            + '\\n-----END PRIVATE KEY-----\\n"}\n',
            "GEN021",
            "",
        ),
        Planted(
            "pgp-private-key-block",
            "keys/release.asc",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
            + pem_body()
            + "\n-----END PGP PRIVATE KEY BLOCK-----\n",
            "GEN021",
            "",
        ),
        Planted(
            "encrypted-key-in-yaml",
            "config/tls.yaml",
            "tls:\n  key: |\n    -----BEGIN ENCRYPTED PRIVATE KEY-----\n    "
            + rand(B64, 64)
            + "\n    -----END ENCRYPTED PRIVATE KEY-----\n",
            "GEN021",
            "",
        ),
        # -- secret-named variables with literal values ------------------------------------
        Planted(
            "mlflow-password-in-readme-code",
            "docs/tracking-server.md",
            "Connect to the server:\n\n```bash\nexport MLFLOW_TRACKING_USERNAME=ana\n"
            f"export MLFLOW_TRACKING_PASSWORD={(mp := rand(ALNUM, 16))}\n```\n",
            "GEN022",
            mp,
        ),
        Planted(
            "mlflow-password-in-readme-prose",
            "docs/quickstart.md",
            "Set the credentials before training: "
            f"MLFLOW_TRACKING_PASSWORD={(mp2 := rand(ALNUM, 12))} and run `make train`.\n",
            "GEN022",
            mp2,
        ),
        Planted(
            "dotenv-password",
            ".env.production",
            f"DB_HOST=db\nDB_PASSWORD={(dbp := rand(ALNUM, 14))}\n",
            "GEN022",
            dbp,
        ),
        Planted(
            "yaml-password",
            "config/db.yaml",
            f"database:\n  user: app\n  password: {(yp := rand(ALNUM, 12))}\n",
            "GEN022",
            yp,
        ),
        Planted(
            "yaml-secret-in-a-list",
            "config/users.yaml",
            f"users:\n  - name: ana\n    password: '{(lp := rand(ALNUM, 10))}'\n",
            "GEN022",
            lp,
        ),
        Planted(
            "toml-api-key",
            "config/service.toml",
            f'[service]\napi_key = "{(tk := rand(ALNUM, 32))}"\n',
            "GEN022",
            tk,
        ),
        Planted(
            "python-secret-key",
            "src/pkg/web.py",
            f'SECRET_KEY = "{(pk := rand(ALNUM, 40))}"\n',
            "GEN022",
            pk,
        ),
        Planted(
            "python-keyword-password",
            "src/pkg/db.py",
            f'conn = connect(host="db", user="app", password="{(kp := rand(ALNUM, 11))}")\n',
            "GEN022",
            kp,
        ),
        Planted(
            "python-dict-client-secret",
            "src/pkg/auth.py",
            f'OAUTH = {{"client_id": "abc", "client_secret": "{(cs := rand(ALNUM, 30))}"}}\n',
            "GEN022",
            cs,
        ),
        Planted(
            "shell-export-token",
            "scripts/deploy.sh",
            f"#!/bin/sh\nexport API_TOKEN={(st := rand(ALNUM, 24))}\n./deploy\n",
            "GEN022",
            st,
        ),
        Planted(
            "json-password",
            "config/db.json",
            f'{{"db": {{"password": "{(jp := rand(ALNUM, 13))}"}}}}\n',
            "GEN022",
            jp,
        ),
        Planted(
            "camel-case-api-key",
            "web/config.js",
            f'export const config = {{ apiKey: "{(ck := rand(ALNUM, 26))}" }};\n',
            "GEN022",
            ck,
        ),
        Planted(
            "wandb-key-in-dockerfile",
            "Dockerfile",
            f"FROM python:3.11\nENV WANDB_API_KEY={(wk := rand('0123456789abcdef', 40))}\n",
            "GEN022",
            wk,
        ),
        # -- files that must not be tracked ------------------------------------------------
        Planted(
            "force-added-dvc-config-local",
            ".dvc/config.local",
            "['remote \"storage\"']\n    access_key_id = x\n",
            "GEN023",
            "",
        ),
    ]
    return cases


PLANTED: list[Planted] = _cases()


def files() -> dict[str, str]:
    """Every planted file by path (cases sharing a file add to it in order)."""
    tree: dict[str, str] = {}
    for case in PLANTED:
        tree[case.path] = tree.get(case.path, "") + case.content
    return tree
