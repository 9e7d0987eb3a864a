"""crisp-ml: create and update CRISP-ML repositories from the Copier template."""

__version__ = "0.1.0"
