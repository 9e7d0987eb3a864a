"""Adoption tests render the template the way tests/template does: share its helpers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "template"))
