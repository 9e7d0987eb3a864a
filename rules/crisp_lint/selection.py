"""Ruff's selection logic: codes or prefixes, the most specific selector wins."""

from __future__ import annotations

from collections.abc import Iterable


def is_selected(
    code: str,
    select: Iterable[str] | None,
    extend_select: Iterable[str],
    ignore: Iterable[str],
) -> bool:
    """Whether rule ``code`` runs.

    ``select`` None means every rule. Of the selectors matching ``code``, the longest
    decides; between an equally specific select and ignore, ignore wins.
    """
    chosen = _specificity(code, [*(["ALL"] if select is None else select), *extend_select])
    dropped = _specificity(code, ignore)
    return chosen > dropped


def _specificity(code: str, selectors: Iterable[str]) -> int:
    """Length of the longest selector matching ``code``; ALL counts 0, no match -1."""
    best = -1
    for selector in selectors:
        if selector == "ALL":
            best = max(best, 0)
        elif code.startswith(selector):
            best = max(best, len(selector))
    return best
