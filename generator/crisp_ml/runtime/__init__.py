"""crisp_ml.runtime: the machinery every generated CRISP-ML project shares.

Gate and gate_check, the router, the serving app, the prediction log, monitoring with its
history, the dashboard, tracking helpers, the model registry and tags. Projects depend on
``crisp-ml[runtime]==<release>`` and import it from their own stage code; it is tested once,
in crisp-ml's repository, and reaches projects by a version bump. Nothing here imports
Copier or the generator.
"""
