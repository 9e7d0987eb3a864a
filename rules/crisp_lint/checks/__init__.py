"""crisp-lint's rules, one module per phase plus ``general``.

Importing this package registers every rule in :data:`crisp_lint.model.REGISTRY`. The list
is explicit so a new module is a deliberate, reviewed addition; modules whose name starts
with ``_`` are shared helpers and register nothing of their own.
"""

from crisp_lint.checks import (  # noqa: F401 - imported for their registrations
    business_understanding,
    data_preparation,
    data_understanding,
    deployment,
    evaluation,
    general,
    literature_review,
    modelling,
    monitoring,
    secrets,
)
