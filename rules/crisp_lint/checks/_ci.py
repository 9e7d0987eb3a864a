"""CI jobs of GitHub Actions and GitLab CI, read from their YAML without a CI library."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from crisp_lint.repo import RepoView

GITHUB_WORKFLOWS = ".github/workflows/"
GITLAB_CI = ".gitlab-ci.yml"
# Top-level keys of .gitlab-ci.yml that are settings, not jobs.
_GITLAB_RESERVED = frozenset(
    {"default", "include", "stages", "variables", "workflow", "image", "services", "cache",
     "before_script", "after_script", "pages"}
)  # fmt: skip


# A NamedTuple rather than a dataclass: see crisp_lint.model (start-up time).
class Job(NamedTuple):
    path: str
    id: str
    name: str
    needs: tuple[str, ...]
    commands: str  # every `run:` / `script:` line, joined


def jobs(repo: RepoView) -> list[Job]:
    found = []
    for rel in repo.files():
        if rel.startswith(GITHUB_WORKFLOWS) and rel.endswith((".yml", ".yaml")):
            workflow = repo.yaml(rel)
            job_map = workflow.get("jobs") if isinstance(workflow, dict) else None
            for job_id, body in job_map.items() if isinstance(job_map, dict) else ():
                if isinstance(body, dict):
                    steps = body.get("steps") if isinstance(body.get("steps"), list) else []
                    commands = "\n".join(
                        str(step.get("run", "")) for step in steps if isinstance(step, dict)
                    )
                    found.append(_job(rel, str(job_id), body, commands))
    pipeline = repo.yaml(GITLAB_CI) if repo.exists(GITLAB_CI) else None
    if isinstance(pipeline, dict):
        for job_id, body in pipeline.items():
            if str(job_id).startswith(".") or job_id in _GITLAB_RESERVED:
                continue
            if isinstance(body, dict):
                script = body.get("script")
                lines = script if isinstance(script, list) else [script or ""]
                found.append(_job(GITLAB_CI, str(job_id), body, "\n".join(map(str, lines))))
    return found


def _job(path: str, job_id: str, body: dict[str, Any], commands: str) -> Job:
    return Job(path, job_id, str(body.get("name") or job_id), _needs(body.get("needs")), commands)


def _needs(value: Any) -> tuple[str, ...]:
    """GitHub's ``needs: a`` / ``[a, b]``; GitLab's ``[a, {job: b}]``."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        return ()
    names = []
    for item in value:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and isinstance(item.get("job"), str):
            names.append(item["job"])
    return tuple(names)
