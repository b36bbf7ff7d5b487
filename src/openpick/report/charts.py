"""Plotly figures of a RunReport: quality against cost and speed, and a per-tag heatmap.

Each function returns None when the run has nothing to plot (no prices, no timings, no
tags), so a report says so instead of drawing an empty axis.
"""

from __future__ import annotations

from html import escape

import plotly.graph_objects as go

from openpick.evals.summary import EntrySummary, RunReport

TEMPLATE = "plotly_white"
FRONTIER = "#d62728"
POINT = "#1f77b4"


def _plain(text: str) -> str:
    """Plotly renders a subset of HTML in labels; show names and tags as typed."""
    return escape(text, quote=False)


def _scatter(entries: list[EntrySummary], xs: list[float], front: list[str], *,
             title: str, x_title: str, hover_x: str, log_x: bool) -> go.Figure:
    on = [e.label in front for e in entries]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=xs, y=[e.pass_rate * 100 for e in entries], mode="markers+text",
        text=[_plain(e.label) for e in entries], textposition="top center", name="models",
        marker={"size": [14 if o else 10 for o in on], "color": [FRONTIER if o else POINT for o in on],
                "symbol": ["star" if o else "circle" for o in on]},
        error_y={"type": "data", "symmetric": False,
                 "array": [(e.pass_high - e.pass_rate) * 100 for e in entries],
                 "arrayminus": [(e.pass_rate - e.pass_low) * 100 for e in entries],
                 "thickness": 1, "color": "#999"},
        customdata=[[e.pass_low * 100, e.pass_high * 100, e.n_cases] for e in entries],
        hovertemplate=("%{text}<br>pass rate %{y:.0f}% [%{customdata[0]:.0f}–%{customdata[1]:.0f}]"
                       f" on %{{customdata[2]}} cases<br>{hover_x}<extra></extra>")))
    pts = sorted((x, e.pass_rate * 100) for x, e, o in zip(xs, entries, on) if o)
    if len(pts) > 1:
        fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines",
                                 line={"color": FRONTIER, "dash": "dash"}, name="Pareto frontier",
                                 hoverinfo="skip"))
    fig.update_layout(template=TEMPLATE, title=title, height=440, showlegend=False,
                      margin={"l": 60, "r": 20, "t": 60, "b": 50},
                      yaxis={"title": "pass rate (%), Wilson 95% interval", "range": [-5, 110]},
                      xaxis={"title": x_title, "type": "log" if log_x else "linear"})
    return fig


def quality_vs_cost(report: RunReport) -> go.Figure | None:
    entries = [e for e in report.entries if e.cost_per_1k_cases_usd is not None]
    if not entries:
        return None
    xs = [e.cost_per_1k_cases_usd for e in entries]
    positive = [x for x in xs if x > 0]
    log_x = bool(positive) and len(positive) == len(xs) and max(xs) / min(xs) > 20
    return _scatter(entries, xs, report.pareto_cost, log_x=log_x,
                    title="Quality vs cost (upper left is better; ★ = Pareto frontier)",
                    x_title="USD per 1,000 cases", hover_x="$%{x:.4g} per 1,000 cases")


def quality_vs_speed(report: RunReport) -> go.Figure | None:
    entries = [e for e in report.entries if e.output_tok_s is not None]
    if not entries:
        return None
    return _scatter(entries, [e.output_tok_s for e in entries], report.pareto_speed, log_x=False,
                    title="Quality vs speed (upper right is better; ★ = Pareto frontier)",
                    x_title="output tokens per second (median)", hover_x="%{x:.1f} tokens/s")


def tag_heatmap(report: RunReport) -> go.Figure | None:
    if not report.tags:
        return None
    labels = [_plain(e.label) for e in report.entries]
    z, text = [], []
    for tag in report.tags:
        row, trow = [], []
        for e in report.entries:
            t = next((t for t in e.tags if t.tag == tag), None)
            row.append(None if t is None else t.pass_rate * 100)
            trow.append("" if t is None else f"{t.pass_rate * 100:.0f}% (n={t.n})")
        z.append(row)
        text.append(trow)
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=[_plain(t) for t in report.tags], text=text, texttemplate="%{text}", zmin=0, zmax=100,
        colorscale="RdYlGn", colorbar={"title": "pass %"},
        hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>"))
    fig.update_layout(template=TEMPLATE, title="Pass rate by tag",
                      height=max(260, 60 + 36 * len(report.tags)),
                      margin={"l": 120, "r": 20, "t": 60, "b": 80}, yaxis={"autorange": "reversed"})
    return fig


def to_div(fig: go.Figure) -> str:
    """The figure as an HTML fragment that expects plotly.js already on the page."""
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})
