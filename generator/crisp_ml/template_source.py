"""Where the crisp-ml Copier template lives."""

from __future__ import annotations

import os
from pathlib import Path

# The published template, for installs that do not come from a checkout.
PUBLISHED_TEMPLATE = "https://github.com/crisp-ml/crisp-ml.git"
ENV_VAR = "CRISP_ML_TEMPLATE"


def default_template() -> str:
    """The template to use when the user names none.

    ``$CRISP_ML_TEMPLATE`` wins; otherwise the checkout this package runs from (an editable
    install), so a developer's ``crisp-ml new`` uses the template beside the code.
    """
    if env := os.environ.get(ENV_VAR):
        return env
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "copier.yml").is_file() and (checkout / "template").is_dir():
        return str(checkout)
    return PUBLISHED_TEMPLATE
