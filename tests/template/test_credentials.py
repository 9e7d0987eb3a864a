"""One URL-credential parser (its passwords hold "xxxx", a placeholder to crisp-lint's scan
of this repository): crisp_lint.credentials, crisp-ml's early check of the answers
and the validators in copier.yml agree on every URL of one list."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
import yaml
from jinja2_ansible_filters import AnsibleCoreFiltersExtension
from template_rendering import REPO_ROOT

from crisp_lint.credentials import has_url_credentials
from crisp_ml.answers import AnswerError, check_no_credentials

# (url, carries credentials)
URLS: list[tuple[str, bool]] = [
    ("https://ana:xxxx@mlflow.example.com", True),
    ("https://ana:xxxx/cd+ef@mlflow.example.com", True),  # AWS-style / and + in the password
    ("https://ana:xxxx%2Fw@mlflow.example.com:5000/path", True),
    ("https://ana:xxxx@ss@mlflow.example.com", True),  # @ in the password: split at the last @
    ("https://:token@mlflow.example.com", True),
    ("https://ana:xxxx/b/c@10.0.0.5:5000", True),
    ("http://ana:xxxx@localhost:5000", True),
    ("https://ANA:PW@MLFLOW.EXAMPLE.COM", True),
    ("http://127.0.0.1:5000", False),
    ("https://mlflow.example.com", False),
    ("https://mlflow.example.com:5000/path@v1", False),  # a port and an @ in the path
    ("http://localhost:5000/runs/@latest", False),
    ("https://ana@mlflow.example.com", False),  # a user name alone is no secret
    ("https://mlflow.example.com/a:b", False),
    ("s3://bucket/path", False),
    ("s3://AKIAEXAMPLE:xxxx/rXUt+nFEMI@bucket/path", True),
    ("s3://bucket/path/user:pw@x", False),
    ("gs://bucket/data", False),
    ("azure://container/data", False),
    ("ssh://dvc@storage.example.com/srv/dvc", False),
    ("ssh://dvc:xxxxhunter2@storage.example.com/srv/dvc", True),
    ("ssh://dvc:xxxx/b@storage.example.com/srv", True),
    ("ssh://storage.example.com:2222/srv/dvc", False),
]
IDS = [url for url, _ in URLS]


def questionnaire() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "copier.yml").read_text(encoding="utf-8"))


def render_validator(question: str, answers: dict[str, str]) -> str:
    """The question's validator from copier.yml, rendered as Copier renders it."""
    env = jinja2.Environment(extensions=[AnsibleCoreFiltersExtension])
    return env.from_string(questionnaire()[question]["validator"]).render(**answers).strip()


@pytest.mark.parametrize(("url", "expected"), URLS, ids=IDS)
def test_parser_questionnaire_and_copier_agree(url: str, expected: bool) -> None:
    assert has_url_credentials(url) is expected
    try:
        check_no_credentials("dvc_remote_url", url)
        refused = False
    except AnswerError as error:
        refused = True
        assert "config.local" in str(error)
    assert refused is expected
    scheme = url.partition("://")[0].lower()
    if scheme in ("http", "https"):
        message = render_validator(
            "mlflow_tracking_uri", {"mlflow_tracking_uri": url, "project_slug": "p"}
        )
        assert ("Do not put a password" in message) is expected, message
    else:
        remote = {"gs": "gcs"}.get(scheme, scheme)
        message = render_validator(
            "dvc_remote_url",
            {"dvc_remote": remote, "dvc_remote_url": url, "project_slug": "p"},
        )
        assert ("Do not put a password" in message) is expected, message
        assert expected or message == ""


def test_the_secret_is_never_in_the_message() -> None:
    with pytest.raises(AnswerError) as raised:
        check_no_credentials("mlflow_tracking_uri", "https://ana:xxxx/cd@mlflow.example.com")
    assert "xxxx/cd" not in str(raised.value)
    assert "ana:***@" in str(raised.value)
    assert "MLFLOW_TRACKING_PASSWORD" in str(raised.value)


def test_copier_yml_carries_the_parsers_pattern() -> None:
    from crisp_lint.credentials import URL_CREDENTIALS_PATTERN

    doubled = URL_CREDENTIALS_PATTERN.replace("\\", "\\\\")
    text = (REPO_ROOT / "copier.yml").read_text(encoding="utf-8")
    # dvc_remote_url, mlflow_tracking_uri and prediction_log_url
    assert text.count(f"{{% set credentials = '{doubled}' %}}") == 3
