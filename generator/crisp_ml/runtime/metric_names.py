"""The metrics the runtime computes: the direction each improves in, and which lie in [0, 1].

The one source of truth for config (which checks the success criteria against it), metrics,
the dashboard and crisp-lint's BU003. It imports nothing: crisp-lint, which starts on every
commit, imports it where ``crisp_ml.runtime.config`` would cost it dataclasses and inspect.
"""

# The metrics metrics.compute_metric knows, with the direction in which each one improves.
METRIC_DIRECTIONS = {
    "accuracy": "maximize",
    "f1_macro": "maximize",
    "roc_auc": "maximize",
    "precision_macro": "maximize",
    "recall_macro": "maximize",
    "rmse": "minimize",
    "mae": "minimize",
    "r2": "maximize",
}
# Metrics bounded to [0, 1]; thresholds outside that range can never be met.
UNIT_INTERVAL_METRICS = frozenset(
    {"accuracy", "f1_macro", "roc_auc", "precision_macro", "recall_macro"}
)
