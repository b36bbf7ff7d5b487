"""Small SVG charts of a RunReport, drawn here from the summary's numbers.

Quality against speed and against cost (a scatter with each model's Wilson interval, its
name next to its point and the Pareto frontier dashed), and pass rate per tag (bars, one
per model). No chart library: each chart is a few kilobytes of inline SVG that the web UI
and the offline report show alike, with no script and no network.

Each function returns None when the run has nothing to plot (no prices, no timings, no
tags), so a page says so instead of drawing an empty axis. Names and tags are text nodes,
escaped; nothing a model or a suite wrote becomes markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from openpick.evals.summary import EntrySummary, RunReport

W, H = 560, 340                       # the viewBox; the SVG scales to its box's width
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 14, 46
FONT = 12                             # px in viewBox units
CHAR_W = 0.6 * FONT                   # a generous average glyph width: labels fit or move
LABEL_MAX = 30                        # longer names are shortened (the full name is the title)
FRONTIER = "#d62728"
POINT = "#1f77b4"
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#d62728"]


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _short(label: str, n: int = LABEL_MAX) -> str:
    return label if len(label) <= n else label[:n - 1] + "…"


def text_width(text: str, size: float = FONT) -> float:
    return len(text) * size * 0.6


def _f(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


# --- axes ----------------------------------------------------------------------------


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart)."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, t = [], first
    while t < hi + step * 0.999:
        ticks.append(round(t, 12))
        t += step
    return ticks


def _tick_text(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:g}"
    return f"{v:.2g}"


@dataclass
class _Axis:
    lo: float
    hi: float
    log: bool
    px0: float
    px1: float

    def __call__(self, v: float) -> float:
        if self.log:
            a, b, v = math.log10(self.lo), math.log10(self.hi), math.log10(max(v, self.lo))
        else:
            a, b = self.lo, self.hi
        return self.px0 + (v - a) / (b - a) * (self.px1 - self.px0)

    def ticks(self) -> list[float]:
        if not self.log:
            return [t for t in nice_ticks(self.lo, self.hi) if self.lo - 1e-12 <= t <= self.hi + 1e-12]
        out = []
        for k in range(math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi)) + 1):
            out += [m * 10 ** k for m in (1, 2, 5) if self.lo <= m * 10 ** k <= self.hi]
        return out


def _x_axis(xs: list[float], log: bool) -> _Axis:
    px0, px1 = LEFT, W - RIGHT
    if log:
        lo, hi = min(xs), max(xs)
        return _Axis(10 ** math.floor(math.log10(lo)), 10 ** math.ceil(math.log10(hi)), True, px0, px1)
    hi = max(xs)
    lo = min(0.0, min(xs))
    if hi <= lo:
        hi = lo + 1.0
    ticks = nice_ticks(lo, hi * 1.05)
    return _Axis(ticks[0], ticks[-1], False, px0, px1)


# --- labels that fit -------------------------------------------------------------------


def place_labels(points: list[tuple[float, float, str]], *, left: float = 2,
                 right: float = W - 2, top: float = FONT, bottom: float = H - BOTTOM
                 ) -> list[tuple[float, float, str, str]]:
    """(x, y, text) of points → (x, y, anchor, text) of their labels, inside [left, right].

    A label goes right of its point, or left when it would run past the right edge; text
    too long for either side is shortened. Labels that would overlap move down (or up) a
    line. The result never leaves the chart: no name is clipped at an edge."""
    placed: list[tuple[float, float, float, float]] = []  # boxes: x0, x1, y0, y1
    out = []
    for x, y, text in points:
        text = _short(text)
        w = text_width(text)
        if x + 8 + w <= right:
            x0, anchor, tx = x + 8, "start", x + 8
        elif x - 8 - w >= left:
            x0, anchor, tx = x - 8 - w, "end", x - 8
        else:  # neither side has room: the wider side, text shortened to fit it
            room = max(right - x - 8, x - 8 - left)
            text = _short(text, max(4, int(room / CHAR_W)))
            w = text_width(text)
            if right - x >= x - left:
                x0, anchor, tx = x + 8, "start", x + 8
            else:
                x0, anchor, tx = x - 8 - w, "end", x - 8
        ty = y + FONT * 0.35
        for step in (0, 1, -1, 2, -2, 3, -3):
            cand = min(max(y + step * (FONT + 2) + FONT * 0.35, top), bottom)
            box = (x0, x0 + w, cand - FONT, cand + 2)
            if not any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3]
                       for b in placed):
                ty = cand
                break
        placed.append((x0, x0 + w, ty - FONT, ty + 2))
        out.append((tx, ty, anchor, text))
    return out


# --- charts ----------------------------------------------------------------------------


def _figure(chart_id: str, title: str, body: str, height: float, desc: str) -> Markup:
    return Markup(
        f'<figure class="chart" id="{_e(chart_id)}"><figcaption>{_e(title)}</figcaption>'
        f'<svg viewBox="0 0 {W} {_f(height)}" role="img" aria-label="{_e(desc)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="{FONT}" '
        f'font-family="system-ui, -apple-system, Segoe UI, sans-serif">{body}</svg></figure>')


def _scatter(chart_id: str, entries: list[EntrySummary], xs: list[float], front: list[str], *,
             title: str, x_title: str, x_text, log_x: bool) -> Markup:
    ax = _x_axis(xs, log_x)
    ay = _Axis(0.0, 100.0, False, H - BOTTOM, TOP)
    parts = ['<g class="grid">']
    for t in ax.ticks():
        px = ax(t)
        parts.append(f'<line x1="{_f(px)}" y1="{TOP}" x2="{_f(px)}" y2="{H - BOTTOM}"/>'
                     f'<text class="tick" x="{_f(px)}" y="{H - BOTTOM + 15}" text-anchor="middle">'
                     f'{_e(_tick_text(t))}</text>')
    for t in range(0, 101, 25):
        py = ay(t)
        parts.append(f'<line x1="{LEFT}" y1="{_f(py)}" x2="{W - RIGHT}" y2="{_f(py)}"/>'
                     f'<text class="tick" x="{LEFT - 6}" y="{_f(py + 4)}" text-anchor="end">{t}</text>')
    parts.append("</g>")
    parts.append(f'<text class="axis" x="{(LEFT + W - RIGHT) / 2}" y="{H - 8}" text-anchor="middle">'
                 f'{_e(x_title)}</text>'
                 f'<text class="axis" transform="translate(13 {(TOP + H - BOTTOM) / 2}) rotate(-90)" '
                 f'text-anchor="middle">pass rate (%), Wilson 95% interval</text>')
    on = [(ax(x), ay(e.pass_rate * 100)) for x, e in zip(xs, entries) if e.label in front]
    if len(on) > 1:
        pts = " ".join(f"{_f(x)},{_f(y)}" for x, y in sorted(on))
        parts.append(f'<polyline class="frontier" points="{pts}" fill="none" stroke="{FRONTIER}" '
                     'stroke-dasharray="5 4"/>')
    labels = []
    for x, e in zip(xs, entries):
        px, py = ax(x), ay(e.pass_rate * 100)
        lo, hi = ay(e.pass_low * 100), ay(e.pass_high * 100)
        star = e.label in front
        tip = (f"{e.label}: pass rate {e.pass_rate * 100:.0f}% [{e.pass_low * 100:.0f}–"
               f"{e.pass_high * 100:.0f}%] on {e.n_cases} cases; {x_text(x)}")
        mark = (f'<path d="{_star(px, py, 8)}" fill="{FRONTIER}"/>' if star
                else f'<circle cx="{_f(px)}" cy="{_f(py)}" r="5" fill="{POINT}"/>')
        parts.append(f'<g class="point"><title>{_e(tip)}</title>'
                     f'<line class="err" x1="{_f(px)}" y1="{_f(lo)}" x2="{_f(px)}" y2="{_f(hi)}"/>'
                     f'{mark}</g>')
        labels.append((px, py, e.label))
    for tx, ty, anchor, text in place_labels(labels):
        parts.append(f'<text class="label" x="{_f(tx)}" y="{_f(ty)}" text-anchor="{anchor}">{_e(text)}</text>')
    desc = "; ".join(f"{e.label}: {e.pass_rate * 100:.0f}% at {x_text(x)}" for x, e in zip(xs, entries))
    return _figure(chart_id, title, "".join(parts), H, f"{title}. {desc}")


def _star(x: float, y: float, r: float) -> str:
    pts = []
    for i in range(10):
        a = -math.pi / 2 + i * math.pi / 5
        rr = r if i % 2 == 0 else r * 0.45
        pts.append(f"{_f(x + rr * math.cos(a))},{_f(y + rr * math.sin(a))}")
    return "M" + " L".join(pts) + " Z"


def _money(x: float) -> str:
    from openpick.evals.display import money

    return money(x)


def quality_vs_cost(report: RunReport) -> Markup | None:
    entries = [e for e in report.entries if e.cost_per_1k_cases_usd is not None]
    if not entries:
        return None
    xs = [e.cost_per_1k_cases_usd for e in entries]
    positive = [x for x in xs if x > 0]
    log_x = bool(positive) and len(positive) == len(xs) and max(xs) / min(xs) > 20
    return _scatter("chart-cost", entries, xs, report.pareto_cost, log_x=log_x,
                    title="Quality vs cost (upper left is better; ★ = Pareto frontier)",
                    x_title="USD per 1,000 cases" + (" (log scale)" if log_x else ""),
                    x_text=lambda x: f"{_money(x)} per 1,000 cases")


def quality_vs_speed(report: RunReport) -> Markup | None:
    entries = [e for e in report.entries if e.output_tok_s is not None]
    if not entries:
        return None
    return _scatter("chart-speed", entries, [e.output_tok_s for e in entries], report.pareto_speed,
                    log_x=False, title="Quality vs speed (upper right is better; ★ = Pareto frontier)",
                    x_title="output tokens per second (median)",
                    x_text=lambda x: f"{x:.1f} tokens/s")


def tag_bars(report: RunReport) -> Markup | None:
    """Pass rate per tag: a group of bars per tag, one bar per model, with the count."""
    if not report.tags:
        return None
    entries = report.entries
    colour = {e.label: PALETTE[i % len(PALETTE)] for i, e in enumerate(entries)}
    parts: list[str] = []
    # legend: swatches and names, wrapped to the width
    x, y = 4.0, FONT + 2
    for e in entries:
        name = _short(e.label)
        w = 16 + text_width(name) + 14
        if x + w > W and x > 4:
            x, y = 4.0, y + FONT + 6
        parts.append(f'<rect x="{_f(x)}" y="{_f(y - FONT + 2)}" width="11" height="11" fill="{colour[e.label]}"/>'
                     f'<text class="label" x="{_f(x + 15)}" y="{_f(y)}">{_e(name)}</text>')
        x += w
    top = y + 12
    tag_w = min(max(text_width(_short(t, 22)) for t in report.tags) + 10, 170)
    value_w = text_width("100% (n=000)") + 6
    x0, x1 = tag_w, W - value_w
    bar_h, gap, group_gap = 13, 2, 12
    group_h = len(entries) * (bar_h + gap) - gap
    height = top + len(report.tags) * (group_h + group_gap) + 18
    scale = _Axis(0.0, 100.0, False, x0, x1)
    grid = ['<g class="grid">']
    for t in (0, 25, 50, 75, 100):
        px = scale(t)
        grid.append(f'<line x1="{_f(px)}" y1="{_f(top - 4)}" x2="{_f(px)}" y2="{_f(height - 16)}"/>'
                    f'<text class="tick" x="{_f(px)}" y="{_f(height - 4)}" text-anchor="middle">{t}%</text>')
    grid.append("</g>")
    parts[0:0] = grid
    gy = top
    for tag in report.tags:
        parts.append(f'<text class="label" x="{_f(tag_w - 8)}" y="{_f(gy + group_h / 2 + 4)}" '
                     f'text-anchor="end">{_e(_short(tag, 22))}<title>{_e(tag)}</title></text>')
        for i, e in enumerate(entries):
            by = gy + i * (bar_h + gap)
            t = next((s for s in e.tags if s.tag == tag), None)
            if t is None:
                parts.append(f'<text class="tick" x="{_f(x0 + 4)}" y="{_f(by + bar_h - 3)}">no cases</text>')
                continue
            pct = t.pass_rate * 100
            bw = max(scale(pct) - x0, 1.0 if pct == 0 else 0.0)
            tip = f"{tag} · {e.label}: {pct:.0f}% of {t.n} case{'s' if t.n != 1 else ''}"
            parts.append(f'<g class="bar"><title>{_e(tip)}</title>'
                         f'<rect x="{_f(x0)}" y="{_f(by)}" width="{_f(bw)}" height="{bar_h}" '
                         f'fill="{colour[e.label]}"/>'
                         f'<text class="value" x="{_f(x0 + bw + 4)}" y="{_f(by + bar_h - 2)}">'
                         f'{pct:.0f}% (n={t.n})</text></g>')
        gy += group_h + group_gap
    desc = "; ".join(f"{tag}: " + ", ".join(
        f"{e.label} {s.pass_rate * 100:.0f}%" for e in entries for s in e.tags if s.tag == tag)
        for tag in report.tags)
    return _figure("chart-tags", "Pass rate by tag", "".join(parts), height, f"Pass rate by tag. {desc}")


def all_charts(report: RunReport) -> tuple[list[Markup], list[str]]:
    """The charts a run has, and a sentence for each it has not (shown instead of a blank)."""
    charts, missing = [], []
    for make, why in ((quality_vs_cost, "No cost to plot: no model has a price per token or a "
                       "machine price per hour."),
                      (quality_vs_speed, "No speed to plot: no result has timings."),
                      (tag_bars, "No chart by tag: the suite's cases have no tags.")):
        chart = make(report)
        if chart is None:
            missing.append(why)
        else:
            charts.append(chart)
    return charts, missing
