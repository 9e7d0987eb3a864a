"""A CRISP-ML project: each pipeline stage is a module that DVC runs (see dvc.yaml)."""

__version__ = "0.1.0"
