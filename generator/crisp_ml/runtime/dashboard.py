"""The monitoring dashboard (CRISP-ML step 8.2): one self-contained HTML page.

The monitor stage renders it from the monitoring history (``reports/monitoring/history.jsonl``),
the retraining trigger and the evaluation gate; inline CSS and SVG only, no scripts, fonts or
links to fetch, so it opens from disk, from a CI artifact or from an e-mail attachment.
It shows the trend, not one batch: the success metric window by window against target and
minimum, drift per feature over time, traffic per arm, the router's live comparison, the
gate's decision and whether the model must be retrained. Every date on the page comes from
the history, so the same history renders the same bytes.

``python -m crisp_ml.runtime.dashboard`` prints where the page is; ``--open`` opens it in a browser.
"""

from __future__ import annotations

import argparse
import math
import sys
import webbrowser
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

from .config import UNIT_INTERVAL_METRICS, project_root

DASHBOARD_FILE = Path("reports/monitoring/dashboard.html")

ALERT_TEXT = {
    "ok": ("meets the target", "good"),
    # Worded for either direction: an rmse above its minimum is as bad as an f1 below it.
    "below_target": ("acceptable, short of the target", "warn"),
    "below_minimum": ("short of the minimum acceptable value", "bad"),
    "unmeasured": ("could not be measured on this window", "warn"),
}

TEST_NAMES = {"ks": "Kolmogorov-Smirnov", "chi2": "chi-square", "none": "no values"}
ARM_COLOURS = {"champion": "#3b6fc4", "challenger": "#e39b2d"}
# The trend tables show the latest windows only, so the page stays readable after a year.
MAX_WINDOWS = 24

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       background: #f5f6f8; color: #1d2330; }
header { background: #1d2330; color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0; font-size: 1.4rem; }
header p { margin: .3rem 0 0; opacity: .8; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr));
       gap: 1rem; padding: 1rem 2rem 2rem; }
section { background: #fff; border-radius: 8px; padding: 1rem 1.2rem;
          box-shadow: 0 1px 3px rgba(0, 0, 0, .08); }
section.wide { grid-column: 1 / -1; }
h2 { font-size: 1rem; margin: 0 0 .8rem; text-transform: uppercase; letter-spacing: .04em;
     color: #5a6275; }
.big { font-size: 2rem; font-weight: 600; }
.badge { display: inline-block; padding: .15rem .6rem; border-radius: 1rem; font-weight: 600; }
.good { background: #dff3e4; color: #1e6b34; }
.warn { background: #fff1d6; color: #8a5a00; }
.bad { background: #fbe0e0; color: #a12020; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e6e8ee; }
td.num, th.num { text-align: right; }
ul { margin: .4rem 0 0; padding-left: 1.2rem; }
svg text { font-size: 12px; fill: #1d2330; }
svg.chart { width: 100%; max-width: 30rem; display: block; margin: .5rem 0; }
svg.wide-chart { max-width: 40rem; }
footer { padding: 0 2rem 2rem; color: #5a6275; font-size: .85rem; }
"""


def fmt(value: Any) -> str:
    """A number as people read it (4 significant digits); ``n/a`` when there is none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:.4g}"
    return escape(str(value))


def _number_or_none(value: Any) -> float | None:
    """``value`` as a plottable number; None when missing or NaN (undefined on the batch)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _scale(lo: float, hi: float, width: float) -> Any:
    span = (hi - lo) or 1.0
    return lambda value: max(0.0, min(width, (value - lo) / span * width))


def _interval_ends(gate: dict[str, Any] | None) -> tuple[float, float] | None:
    """The gate's confidence interval as (low, high); None without one (or if undefined)."""
    interval = (gate or {}).get("interval")
    if not isinstance(interval, dict):
        return None
    low, high = _number_or_none(interval.get("low")), _number_or_none(interval.get("high"))
    return None if low is None or high is None else (low, high)


def metric_gauge(
    quality: dict[str, Any],
    evaluated: float | None,
    interval: tuple[float, float] | None = None,
) -> str:
    """A horizontal band: red short of the minimum, amber short of the target, green beyond.

    The axis spans the thresholds and values with some room, so close thresholds stay apart;
    the evaluation's confidence interval, if any, is a bar through its marker.
    """
    minimum, target = quality["minimum"], quality["target"]
    value, evaluated = _number_or_none(quality.get("value")), _number_or_none(evaluated)
    maximize = quality["direction"] == "maximize"
    ends = interval or ()
    points = [p for p in (minimum, target, value, evaluated, *ends) if p is not None]
    pad = (max(points) - min(points)) * 0.5 or abs(max(points)) * 0.1 or 1.0
    lo, hi = min(points) - pad, max(points) + pad
    if quality["metric"] in UNIT_INTERVAL_METRICS:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    width = 320.0
    x = _scale(lo, hi, width)
    # Left to right along the axis: the worse threshold first.
    ordered = [("minimum", minimum), ("target", target)]
    if not maximize:
        ordered.reverse()
    (_, left), (_, right) = ordered
    colours = ("#f3b3b3", "#ffd98a", "#a9dcb6") if maximize else ("#a9dcb6", "#ffd98a", "#f3b3b3")
    bands = [(lo, left), (left, right), (right, hi)]
    parts = [
        f'<rect x="{x(a):.1f}" y="22" width="{max(x(b) - x(a), 0):.1f}" height="20" '
        f'fill="{colour}"/>'
        for (a, b), colour in zip(bands, colours, strict=True)
    ]
    # The left threshold's label hangs to the left of its line, the right one's to the right.
    for (label, mark), anchor, dx in zip(ordered, ("end", "start"), (3, -3), strict=True):
        parts.append(
            f'<line x1="{x(mark):.1f}" y1="16" x2="{x(mark):.1f}" y2="48" stroke="#1d2330" '
            f'stroke-dasharray="3 2"/><text x="{x(mark) + dx:.1f}" y="62" '
            f'text-anchor="{anchor}">{label} {fmt(mark)}</text>'
        )
    if interval is not None:
        low, high = interval
        parts.append(
            f'<line x1="{x(low):.1f}" y1="32" x2="{x(high):.1f}" y2="32" stroke="#1d2330" '
            f'stroke-width="3"><title>confidence interval at evaluation: {fmt(low)} to '
            f"{fmt(high)}</title></line>"
        )
    if evaluated is not None:
        parts.append(
            f'<circle cx="{x(evaluated):.1f}" cy="32" r="5" fill="#fff" stroke="#1d2330" '
            f'stroke-width="2"><title>at evaluation: {fmt(evaluated)}</title></circle>'
        )
    if value is not None:
        parts.append(
            f'<circle cx="{x(value):.1f}" cy="32" r="5" fill="#1d2330">'
            f"<title>now: {fmt(value)}</title></circle>"
            f'<text x="{x(value):.1f}" y="11" text-anchor="middle">now {fmt(value)}</text>'
        )
    return (
        f'<svg class="chart" viewBox="-40 0 {width + 80:.0f} 70" role="img" '
        f'aria-label="{escape(quality["metric"])} against its thresholds">{"".join(parts)}</svg>'
    )


def drift_bars(features: dict[str, dict[str, Any]], threshold: float) -> str:
    """One bar per feature's PSI, with the drift threshold as a dashed line."""
    label_width, bar_width, row = 170.0, 360.0, 26
    top = max([threshold * 1.5, *(item["psi"] for item in features.values())])
    x = _scale(0.0, top, bar_width)
    parts = []
    for i, (name, item) in enumerate(features.items()):
        y = i * row + 6
        colour = "#d9534f" if item["drifted"] else "#5cb85c"
        parts.append(
            f'<text x="{label_width - 8:.0f}" y="{y + 14}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_width:.0f}" y="{y}" width="{x(item["psi"]):.1f}" height="18" '
            f'fill="{colour}"><title>PSI {fmt(item["psi"])}</title></rect>'
            f'<text x="{label_width + x(item["psi"]) + 6:.1f}" y="{y + 14}">'
            f"{fmt(item['psi'])}</text>"
        )
    height = len(features) * row + 26
    limit = label_width + x(threshold)
    parts.append(
        f'<line x1="{limit:.1f}" y1="0" x2="{limit:.1f}" y2="{height - 18}" stroke="#1d2330" '
        f'stroke-dasharray="4 3"/><text x="{limit:.1f}" y="{height - 4}" text-anchor="middle">'
        f"threshold {fmt(threshold)}</text>"
    )
    return (
        f'<svg class="chart wide-chart" viewBox="0 0 {label_width + bar_width + 60:.0f} {height}" '
        f'role="img" aria-label="drift per feature">{"".join(parts)}</svg>'
    )


def _decided_on(gate: dict[str, Any], direction: str) -> str:
    """``"lower bound 0.91"``: what the gate held against the minimum, named for the metric's
    direction (the pessimistic end of the interval is the upper bound for an error)."""
    if gate.get("decide_on") != "lower_bound":
        return f"point estimate {fmt(gate.get('value'))}"
    bound = "lower bound" if direction == "maximize" else "upper bound"
    return f"{bound} {fmt(gate.get('compared_value'))}"


def _interval_rows(gate: dict[str, Any], direction: str) -> str:
    """Table rows on the gate's confidence interval; none for a gate file without one."""
    interval = gate.get("interval")
    if not isinstance(interval, dict):
        return ""
    confidence = _number_or_none(interval.get("confidence"))
    share = f"{confidence:.0%}" if confidence is not None else "?"
    return (
        f'<tr><th>{share} confidence interval</th><td class="num">{fmt(interval.get("low"))}'
        f"–{fmt(interval.get('high'))}</td></tr>"
        f'<tr><th>Bootstrap resamples used</th><td class="num">'
        f"{escape(str(interval.get('resamples', 'n/a')))}</td></tr>"
        f'<tr><th>Decided on</th><td class="num">{_decided_on(gate, direction)}</td></tr>'
    )


def _gate_section(gate: dict[str, Any] | None, direction: str = "maximize") -> str:
    if gate is None:
        body = "<p>No gate decision yet: run <code>dvc repro evaluate</code>.</p>"
    else:
        tone = "good" if gate.get("decision") == "go" else "bad"
        reasons = "".join(f"<li>{escape(str(r))}</li>" for r in gate.get("reasons") or [])
        body = (
            f'<p><span class="badge {tone}">{escape(str(gate.get("decision")))}</span></p>'
            f"<table><tr><th>{escape(str(gate.get('metric', 'metric')))} at evaluation</th>"
            f'<td class="num">{fmt(gate.get("value"))}</td></tr>'
            f"{_interval_rows(gate, direction)}"
            f'<tr><th>Baseline</th><td class="num">{fmt(gate.get("baseline"))}</td></tr></table>'
            f"<ul>{reasons}</ul>"
        )
    return f"<section><h2>Evaluation gate</h2>{body}</section>"


def window_label(entry: dict[str, Any]) -> str:
    """A window by the end of its time span, to the minute: ``2026-12-01 13:05``."""
    return escape(str(entry.get("until", "?"))[:16].replace("T", " "))


def _value(entry: dict[str, Any]) -> float | None:
    return _number_or_none(entry.get("quality", {}).get("value"))


def trend_chart(history: Sequence[dict[str, Any]], thresholds: dict[str, Any]) -> str:
    """The success metric per window as a line, with the target and minimum as dashed lines.

    Unmeasured windows (no labels) leave a gap rather than a fake point.
    """
    width, height, left, top = 460.0, 180.0, 50.0, 10.0
    values = [_value(entry) for entry in history]
    points = [v for v in values if v is not None] + [thresholds["target"], thresholds["minimum"]]
    pad = (max(points) - min(points)) * 0.2 or abs(max(points)) * 0.1 or 1.0
    lo, hi = min(points) - pad, max(points) + pad
    if thresholds["metric"] in UNIT_INTERVAL_METRICS:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    y = _scale(lo, hi, height)
    step = width / max(len(history) - 1, 1)

    def ypos(value: float) -> float:
        return top + height - y(value)

    def xpos(index: int) -> float:
        return left + (index * step if len(history) > 1 else width / 2)

    parts = []
    for label, mark, colour in (
        ("target", thresholds["target"], "#1e6b34"),
        ("minimum", thresholds["minimum"], "#a12020"),
    ):
        parts.append(
            f'<line class="{label}" x1="{left:.0f}" y1="{ypos(mark):.1f}" '
            f'x2="{left + width:.0f}" y2="{ypos(mark):.1f}" stroke="{colour}" '
            f'stroke-dasharray="5 3"/><text x="{left - 4:.0f}" y="{ypos(mark) + 4:.1f}" '
            f'text-anchor="end">{label} {fmt(mark)}</text>'
        )
    segment: list[str] = []
    for index, value in enumerate([*values, None]):
        if value is not None:
            segment.append(f"{xpos(index):.1f},{ypos(value):.1f}")
            continue
        if len(segment) > 1:
            parts.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="#1d2330" '
                'stroke-width="2"/>'
            )
        segment = []
    for index, (entry, value) in enumerate(zip(history, values, strict=True)):
        if value is not None:
            parts.append(
                f'<circle class="window" cx="{xpos(index):.1f}" cy="{ypos(value):.1f}" r="4" '
                f'fill="#1d2330"><title>{window_label(entry)}: {fmt(value)}</title></circle>'
            )
        parts.append(
            f'<text x="{xpos(index):.1f}" y="{top + height + 16:.0f}" '
            f'text-anchor="middle">{index + 1}</text>'
        )
    return (
        f'<svg class="chart wide-chart trend" viewBox="-50 0 {left + width + 70:.0f} '
        f'{top + height + 24:.0f}" role="img" aria-label="{escape(thresholds["metric"])} per '
        f'window against target and minimum">{"".join(parts)}</svg>'
    )


def traffic_chart(history: Sequence[dict[str, Any]]) -> str:
    """Predictions served per window, stacked by arm."""
    width, height, left = 460.0, 140.0, 10.0
    totals = [sum(arm["served"] for arm in e.get("arms", {}).values()) for e in history]
    y = _scale(0.0, float(max([*totals, 1])), height)
    slot = width / max(len(history), 1)
    parts = []
    for index, entry in enumerate(history):
        base = height
        for arm, counts in arms_in_order(entry.get("arms", {})):
            if not counts["served"]:
                continue
            bar = y(counts["served"])
            base -= bar
            parts.append(
                f'<rect class="arm-{escape(arm)}" x="{left + index * slot + slot * 0.15:.1f}" '
                f'y="{base:.1f}" width="{slot * 0.7:.1f}" height="{bar:.1f}" '
                f'fill="{ARM_COLOURS.get(arm, "#888")}"><title>{window_label(entry)}: '
                f"{escape(arm)} {counts['served']}</title></rect>"
            )
        parts.append(
            f'<text x="{left + (index + 0.5) * slot:.1f}" y="{height + 16:.0f}" '
            f'text-anchor="middle">{index + 1}</text>'
        )
    return (
        f'<svg class="chart wide-chart" viewBox="0 0 {left + width + 10:.0f} {height + 24:.0f}" '
        f'role="img" aria-label="predictions served per window and arm">{"".join(parts)}</svg>'
    )


def arms_in_order(arms: dict[str, Any]) -> list[tuple[str, Any]]:
    """Champion first, then challenger, then any other arm by name: the same page for the
    same history, however its JSON keys are ordered."""
    rank = {arm: i for i, arm in enumerate(ARM_COLOURS)}
    return sorted(arms.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def _drift_cell(item: dict[str, Any] | None) -> str:
    if item is None:
        return "<td class='num'>–</td>"
    tone = "bad" if item.get("drifted") else "good"
    title = f"PSI {fmt(item.get('psi'))}, p-value {fmt(item.get('pvalue'))}"
    return f"<td class='num {tone}' title='{title}'>{fmt(item.get('psi'))}</td>"


def drift_table(history: Sequence[dict[str, Any]]) -> str:
    """A heat table: one row per feature, one column per window, each cell its PSI."""
    features: list[str] = []
    for entry in history:
        for name in entry.get("drift", {}).get("features", {}):
            if name not in features:
                features.append(name)
    head = "".join(
        f"<th class='num' title='{window_label(e)}'>{i}</th>" for i, e in _numbered(history)
    )
    rows = "".join(
        f"<tr><th>{escape(name)}</th>"
        + "".join(
            _drift_cell(e.get("drift", {}).get("features", {}).get(name))
            for _, e in _numbered(history)
        )
        + "</tr>"
        for name in features
    )
    share = "".join(
        f"<td class='num'>{fmt(100 * e.get('drift', {}).get('drifted_share', 0.0))}%</td>"
        for _, e in _numbered(history)
    )
    return (
        f"<table class='heat'><tr><th>Feature \\ window</th>{head}</tr>{rows}"
        f"<tr><th>Drifted share</th>{share}</tr></table>"
    )


def _numbered(history: Sequence[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """The shown windows with their numbers on the charts (1 is the oldest in the history)."""
    first = max(len(history) - MAX_WINDOWS, 0)
    return [(first + i + 1, entry) for i, entry in enumerate(history[first:])]


def _trend_section(history: Sequence[dict[str, Any]], thresholds: dict[str, Any]) -> str:
    latest = history[-1]["quality"]
    text, tone = ALERT_TEXT.get(latest.get("alert"), (str(latest.get("alert")), "warn"))
    better = "Higher" if thresholds["direction"] == "maximize" else "Lower"
    rows = "".join(
        f"<tr><td class='num'>{i}</td><td>{escape(str(e.get('since') or 'start'))}</td>"
        f"<td>{escape(str(e['until']))}</td><td class='num'>{fmt(e.get('rows'))}</td>"
        f"<td class='num'>{fmt(e.get('labelled_rows'))}</td>"
        f"<td class='num'>{fmt(e.get('violations'))}</td>"
        f"<td class='num'>{fmt(_value(e))}</td>"
        f"<td>{escape(ALERT_TEXT.get(e['quality'].get('alert'), ('?', ''))[0])}</td></tr>"
        for i, e in _numbered(history)
    )
    note = latest.get("note")
    return f"""
<section class="wide">
  <h2>Success criterion over time: {escape(thresholds["metric"])}</h2>
  <div class="big">{fmt(latest.get("value"))}</div>
  <p><span class="badge {tone}">{escape(text)}</span> on the latest window
  {f"({escape(note)})" if note else ""}</p>
  {trend_chart(history[-MAX_WINDOWS:], thresholds)}
  <p>{better} is better. Target {fmt(thresholds["target"])}, minimum acceptable
  {fmt(thresholds["minimum"])}, from
  <code>phases/01-business-understanding/success-criteria.yaml</code>; measured on the
  predictions that received a label.</p>
  <table class="windows">
    <tr><th class="num">Window</th><th>Since</th><th>Until</th><th class="num">Predictions</th>
        <th class="num">Labelled</th><th class="num">Schema violations</th>
        <th class="num">Value</th><th>Alert</th></tr>
    {rows}
  </table>
</section>"""


def _latest_section(history: Sequence[dict[str, Any]], gate: dict[str, Any] | None) -> str:
    quality = {**history[-1]["quality"]}
    evaluated = gate.get("value") if gate else None
    return f"""
<section>
  <h2>Latest window against the evaluation</h2>
  {metric_gauge(quality, evaluated, _interval_ends(gate))}
  <table>
    <tr><th>At evaluation</th><td class="num">{fmt(evaluated)}</td></tr>
    <tr><th>On the latest window</th><td class="num">{fmt(quality.get("value"))}</td></tr>
    <tr><th>Labelled rows</th><td class="num">{fmt(quality.get("labelled_rows"))}</td></tr>
  </table>
</section>"""


def _drift_section(history: Sequence[dict[str, Any]]) -> str:
    drift = history[-1]["drift"]
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class='num'>{fmt(item['psi'])}</td>"
        f"<td>{escape(TEST_NAMES.get(item['test'], item['test']))}</td>"
        f"<td class='num'>{fmt(item['pvalue'])}</td>"
        f"<td><span class='badge {'bad' if item['drifted'] else 'good'}'>"
        f"{'drifted' if item['drifted'] else 'stable'}</span></td></tr>"
        for name, item in drift["features"].items()
    )
    return f"""
<section class="wide">
  <h2>Data drift over time ({drift["drifted_features"]} of {len(drift["features"])} features
  drifted in the latest window)</h2>
  <p>A feature drifts when its population stability index (PSI) against the training data
  exceeds {fmt(drift["threshold"])} and its test says the move is more than chance
  (p-value below {fmt(drift["significance"])}). Each cell is a window's PSI; red: drifted.</p>
  {drift_table(history)}
  <h2>Latest window</h2>
  {drift_bars(drift["features"], drift["threshold"])}
  <table>
    <tr><th>Feature</th><th class="num">PSI</th><th>Test</th><th class="num">p-value</th>
        <th>Status</th></tr>
    {rows}
  </table>
</section>"""


def _arms_table(arms: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(arm)}</td><td class='num'>{fmt(item.get('served'))}</td>"
        f"<td class='num'>{fmt(item.get('rewards'))}</td>"
        f"<td class='num'>{fmt(item.get('mean_reward'))}</td>"
        f"<td>{escape(', '.join(item.get('model_versions') or [])) or '–'}</td></tr>"
        for arm, item in arms_in_order(arms)
    )
    return (
        "<table><tr><th>Arm</th><th class='num'>Served</th><th class='num'>Rewards</th>"
        f"<th class='num'>Mean reward</th><th>Model versions</th></tr>{rows}</table>"
    )


def _traffic_section(history: Sequence[dict[str, Any]]) -> str:
    legend = " ".join(
        f"<span class='badge' style='background:{colour};color:#fff'>{arm}</span>"
        for arm, colour in ARM_COLOURS.items()
    )
    return f"""
<section>
  <h2>Traffic per arm</h2>
  <p>{legend}</p>
  {traffic_chart(history[-MAX_WINDOWS:])}
  <p>Predictions served per window (shadow answers are not traffic).</p>
</section>"""


def _router_section(history: Sequence[dict[str, Any]]) -> str:
    latest = history[-1]
    router = latest.get("router")
    live = ""
    if router and router.get("arms"):
        live = (
            f"<h2>Router state ({escape(str(router.get('strategy') or '?'))}), since it "
            f"started</h2>{_arms_table(router['arms'])}"
        )
    return f"""
<section>
  <h2>Champion against challenger, latest window</h2>
  {_arms_table(latest.get("arms", {}))}
  {live}
  <p>Rewards come with the feedback; <code>make promote</code> reads this comparison.</p>
</section>"""


def _retrain_section(retrain: dict[str, Any]) -> str:
    if retrain.get("retrain"):
        reasons = "".join(f"<li>{escape(reason)}</li>" for reason in retrain["reasons"])
        body = f'<p><span class="badge bad">retrain</span></p><ul>{reasons}</ul>'
    else:
        body = '<p><span class="badge good">no retraining needed</span></p>'
    rule = retrain.get("rule") or {}
    policy = (
        f"<p>Retraining starts when the latest window with at least "
        f"{fmt(rule.get('min_labelled_rows'))} labelled rows falls short of the minimum "
        f"acceptable value ({fmt(rule.get('minimum'))}), or when more than "
        f"{fmt(100 * (rule.get('max_drifted_share') or 0))}% of the features drift in each "
        f"of the last {fmt(rule.get('sustained_windows'))} windows. The decision is in "
        "<code>reports/monitoring/retrain.json</code>.</p>"
    )
    return f"<section><h2>Retraining</h2>{body}{policy}</section>"


def _no_traffic_section() -> str:
    return """
<section class="wide">
  <h2>No traffic yet</h2>
  <p>The monitoring history is empty: no prediction has been logged. Run
  <code>make serve</code>, then <code>make simulate</code> (or send real requests), then
  <code>make monitor</code>.</p>
</section>"""


def render_dashboard(
    history: Sequence[dict[str, Any]],
    retrain: dict[str, Any],
    gate: dict[str, Any] | None,
    thresholds: dict[str, Any],
    title: str = "Model monitoring",
) -> str:
    """The dashboard page for a monitoring history (oldest entry first).

    ``thresholds``: the success criteria (metric, direction, target, minimum).
    """
    if history:
        latest = history[-1]["quality"]
        state = "retraining needed" if retrain.get("retrain") else "model healthy"
        status = (
            f"{state}; {thresholds['metric']} {fmt(latest.get('value'))} on the latest of "
            f"{len(history)} window(s) (target {fmt(thresholds['target'])}, minimum "
            f"{fmt(thresholds['minimum'])})"
        )
        body = (
            _trend_section(history, thresholds)
            + _latest_section(history, gate)
            + _retrain_section(retrain)
            + _gate_section(gate, thresholds["direction"])
            + _traffic_section(history)
            + _router_section(history)
            + _drift_section(history)
        )
    else:
        status = "no traffic yet"
        body = _no_traffic_section() + _gate_section(gate, thresholds["direction"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}: monitoring</title>
<style>{STYLE}</style>
</head>
<body>
<header>
  <h1>{escape(title)}: monitoring</h1>
  <p>{escape(status)}</p>
</header>
<main>
{body}
</main>
<footer>Written by the DVC <code>monitor</code> stage (<code>make monitor</code>) from
reports/monitoring/history.jsonl, reports/monitoring/retrain.json and
reports/evaluation/gate.json.</footer>
</body>
</html>
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Show where the monitoring dashboard is.")
    parser.add_argument("--open", action="store_true", help="open it in the default browser")
    args = parser.parse_args(argv)
    path = project_root() / DASHBOARD_FILE
    if not path.is_file():
        print(f"error: {path} not found; run `dvc repro monitor` first", file=sys.stderr)
        return 1
    print(path)
    if args.open:
        webbrowser.open(path.as_uri())
    return 0


if __name__ == "__main__":
    sys.exit(main())
