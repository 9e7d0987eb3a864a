"""crisp-ml: create and update CRISP-ML repositories from the Copier template."""

__version__ = "0.2.0"
