"""crisp-lint's rules, one module per phase plus ``general`` and ``secrets``.

Importing this package registers nothing: each rule module registers its own rules in
:data:`crisp_lint.model.REGISTRY` when it is imported, and crisp_lint.registry imports only
the modules of the rules a run judges (its index ``RULE_MODULES`` names every module and the
codes it registers). Modules whose name starts with ``_`` are shared helpers and register
nothing of their own.
"""
