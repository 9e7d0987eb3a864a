"""crisp-lint: the phase-by-phase QA checker for CRISP-ML repositories."""

__version__ = "0.2.0"
