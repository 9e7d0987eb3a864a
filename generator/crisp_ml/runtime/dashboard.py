"""The monitoring dashboard (CRISP-ML step 8.2): one self-contained HTML page.

The monitor stage renders it from its own reports; inline CSS and SVG only, no scripts, fonts
or links to fetch, so it opens from disk, from a CI artifact or from an e-mail attachment.
It tracks the phase-1 success criteria: the metric now against target and minimum, the
evaluation gate's decision and confidence interval, per-feature drift and whether the model
must be retrained. The page holds no date or other run-dependent text: the same reports
render the same bytes.

``python -m crisp_ml.runtime.dashboard`` prints where the page is; ``--open`` opens it in a browser.
"""

from __future__ import annotations

import argparse
import math
import sys
import webbrowser
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
    "unmeasured": ("could not be measured on this batch", "warn"),
}

TEST_NAMES = {"ks": "Kolmogorov-Smirnov", "chi2": "chi-square"}

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


def _quality_section(quality: dict[str, Any], gate: dict[str, Any] | None) -> str:
    text, tone = ALERT_TEXT.get(quality["alert"], (quality["alert"], "warn"))
    evaluated = gate.get("value") if gate else None
    interval = _interval_ends(gate)
    better = "higher" if quality["direction"] == "maximize" else "lower"
    return f"""
<section>
  <h2>Success criterion: {escape(quality["metric"])}</h2>
  <div class="big">{fmt(quality.get("value"))}</div>
  <p><span class="badge {tone}">{escape(text)}</span></p>
  {metric_gauge(quality, evaluated, interval)}
  <table>
    <tr><th>Target</th><td class="num">{fmt(quality["target"])}</td></tr>
    <tr><th>Minimum acceptable</th><td class="num">{fmt(quality["minimum"])}</td></tr>
    <tr><th>At evaluation</th><td class="num">{fmt(evaluated)}</td></tr>
    <tr><th>On this batch</th><td class="num">{fmt(quality.get("value"))}</td></tr>
  </table>
  <p>{better.capitalize()} is better. Thresholds come from
  <code>phases/01-business-understanding/success-criteria.yaml</code>.</p>
</section>"""


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


def _retrain_section(
    retrain: dict[str, Any], quality: dict[str, Any], drift: dict[str, Any]
) -> str:
    if retrain["retrain"]:
        reasons = "".join(f"<li>{escape(reason)}</li>" for reason in retrain["reasons"])
        body = f'<p><span class="badge bad">retrain</span></p><ul>{reasons}</ul>'
    else:
        body = '<p><span class="badge good">no retraining needed</span></p>'
    policy = (
        f"<p>Retraining starts when {escape(quality['metric'])} falls short of the minimum "
        f"acceptable value ({fmt(quality['minimum'])}) or more than "
        f"{fmt(drift['max_drifted_share'] * 100)}% of the features drift. "
        "The decision is in <code>reports/monitoring/retrain.json</code>.</p>"
    )
    return f"<section><h2>Retraining</h2>{body}{policy}</section>"


def _drift_section(drift: dict[str, Any], batch: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class='num'>{fmt(item['psi'])}</td>"
        f"<td>{escape(TEST_NAMES.get(item['test'], item['test']))}</td>"
        f"<td class='num'>{fmt(item['statistic'])}</td>"
        f"<td class='num'>{fmt(item['pvalue'])}</td>"
        f"<td><span class='badge {'bad' if item['drifted'] else 'good'}'>"
        f"{'drifted' if item['drifted'] else 'stable'}</span></td></tr>"
        for name, item in drift["features"].items()
    )
    shifted = ", ".join(batch.get("shifted_features") or []) or "none"
    return f"""
<section class="wide">
  <h2>Data drift ({drift["drifted_features"]} of {len(drift["features"])} features drifted)</h2>
  <p>A feature drifts when its population stability index (PSI) against the training data
  exceeds {fmt(drift["threshold"])} and its test says the move is more than chance
  (p-value below {fmt(drift["significance"])}); retraining starts when more than
  {fmt(drift["max_drifted_share"] * 100)}% of the features drift.</p>
  {drift_bars(drift["features"], drift["threshold"])}
  <table>
    <tr><th>Feature</th><th class="num">PSI</th><th>Test</th><th class="num">Statistic</th>
        <th class="num">p-value</th><th>Status</th></tr>
    {rows}
  </table>
  <p>Batch: {fmt(batch.get("rows"))} rows, seed {fmt(batch.get("seed"))}, simulated shift of
  {fmt(batch.get("shift"))} standard deviation(s) on: {escape(shifted)}.</p>
</section>"""


def render_dashboard(
    report: dict[str, Any],
    retrain: dict[str, Any],
    gate: dict[str, Any] | None = None,
    title: str = "Model monitoring",
) -> str:
    """The dashboard page for one monitoring run (``drift.json``, ``retrain.json``, gate)."""
    quality, drift = report["quality"], report["drift"]
    status = "retraining needed" if retrain["retrain"] else "model healthy"
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
  <p>{escape(status)}; {escape(quality["metric"])} {fmt(quality.get("value"))}
  (target {fmt(quality["target"])}, minimum {fmt(quality["minimum"])})</p>
</header>
<main>
{_quality_section(quality, gate)}
{_gate_section(gate, quality["direction"])}
{_retrain_section(retrain, quality, drift)}
{_drift_section(drift, report.get("batch", {}))}
</main>
<footer>Written by the DVC <code>monitor</code> stage from reports/monitoring/drift.json,
reports/monitoring/retrain.json and reports/evaluation/gate.json.</footer>
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
