"""Server-rendered SVG charts for the dashboard (pure: strings in, an SVG string out).

A line chart over time with axes, "nice" ticks, a legend, optional horizontal reference lines (a
data cap) and dashed series (a forecast); a state band (one row per link, coloured by state over
time). Every piece of text is escaped: link names and titles come from the sites, which are
untrusted input.
"""
import html
import math
import time

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f")
STATE_COLOURS = {"up": "#2ca02c", "standby": "#9ecae1", "degraded": "#ff7f0e", "captive": "#9467bd",
                 "down": "#d62728", "unknown": "#bbbbbb"}
MARKERS_MAX = 40   # draw a dot per point up to this many points (a lone sample is still visible)
_TIME_STEPS = (60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400,
               14 * 86400, 30 * 86400)


def esc(text):
    return html.escape(str(text), quote=True)


def nice_ticks(lo, hi, count=5):
    """Round tick values from at or below lo to at or above hi: steps of 1, 2 or 5 times a power of ten."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def time_ticks(lo, hi, count=6):
    """Tick times (epoch s) on round UTC minutes/hours/days across [lo, hi]."""
    span = max(hi - lo, 1)
    step = next((s for s in _TIME_STEPS if span / s <= count), _TIME_STEPS[-1])
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi:
        out.append(t)
        t += step
    return out


def time_label(ts, span):
    fmt = "%H:%M" if span <= 2 * 86400 else "%d %b"
    return time.strftime(fmt, time.gmtime(ts))


def fmt_num(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return "%.3g" % v
    return ("%.3f" % v).rstrip("0").rstrip(".")


class Frame:
    """Plot-area geometry: maps data (x, y) to SVG pixels."""

    def __init__(self, width, height, x_range, y_range, left=58, right=14, top=30, bottom=34):
        self.width, self.height = width, height
        self.left, self.right, self.top, self.bottom = left, right, top, bottom
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        if self.y1 <= self.y0:
            self.y1 = self.y0 + 1

    def px(self, x):
        return self.left + (x - self.x0) / (self.x1 - self.x0) * (self.width - self.left - self.right)

    def py(self, y):
        return self.height - self.bottom - (y - self.y0) / (self.y1 - self.y0) * (self.height - self.top - self.bottom)


def _open(width, height, title, css_class):
    return ['<svg xmlns="http://www.w3.org/2000/svg" class="%s" viewBox="0 0 %d %d" width="%d" height="%d" '
            'role="img" aria-label="%s">' % (esc(css_class), width, height, width, height, esc(title)),
            '<title>%s</title>' % esc(title),
            '<text class="title" x="8" y="18" font-size="13" font-weight="bold">%s</text>' % esc(title)]


def _x_axis(out, fr, x_ticks, span):
    base = fr.height - fr.bottom
    out.append('<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>'
               % (fr.left, base, fr.width - fr.right, base))
    for t in x_ticks:
        x = fr.px(t)
        out.append('<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e3e3"/>'
                   % (x, fr.top, x, base))
        out.append('<text class="xtick" x="%.1f" y="%.1f" font-size="11" text-anchor="middle">%s</text>'
                   % (x, base + 14, esc(time_label(t, span))))
    out.append('<text class="xlabel" x="%.1f" y="%.1f" font-size="10" text-anchor="end" fill="#666">UTC</text>'
               % (fr.width - fr.right, base + 28))


def _legend(out, fr, names_colours):
    x = fr.width - fr.right
    for name, colour, dashed in reversed(names_colours):
        label = esc(name)
        w = 18 + 7 * len(str(name))
        x -= w
        out.append('<line x1="%.1f" y1="14" x2="%.1f" y2="14" stroke="%s" stroke-width="2"%s/>'
                   % (x, x + 12, colour, ' stroke-dasharray="4 3"' if dashed else ""))
        out.append('<text class="legend" x="%.1f" y="18" font-size="11">%s</text>' % (x + 15, label))


def line_chart(series, title, unit="", width=600, height=210, x_range=None, y_range=None, hlines=(), vlines=(),
               zero_based=False):
    """series: [{"name", "points": [(ts, value or None)], "dashed": bool}]; None breaks the line.
    hlines: [(value, label)] reference lines (e.g. the data cap); vlines: [(ts, label)] (e.g. the
    forecast run-out). Returns an SVG string."""
    pts = [(x, y) for s in series for x, y in s["points"] if y is not None]
    ys = [y for _, y in pts] + [v for v, _ in hlines]
    out = _open(width, height, title + (" (%s)" % unit if unit else ""), "chart line-chart")
    if not pts:
        out.append('<text class="nodata" x="%d" y="%d" font-size="12" text-anchor="middle" fill="#888">'
                   'no data yet</text></svg>' % (width // 2, height // 2))
        return "\n".join(out)
    xs = [x for x, _ in pts]
    x0, x1 = x_range or (min(xs), max(xs))
    if x1 <= x0:
        x0, x1 = x0 - 60, x1 + 60
    lo, hi = y_range or (min(ys), max(ys))
    if zero_based:
        lo = min(lo, 0)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    y_ticks = nice_ticks(lo, hi)
    fr = Frame(width, height, (x0, x1), (y_ticks[0], y_ticks[-1]))
    for v in y_ticks:
        y = fr.py(v)
        out.append('<line class="grid" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e3e3e3"/>'
                   % (fr.left, y, width - fr.right, y))
        out.append('<text class="ytick" x="%.1f" y="%.1f" font-size="11" text-anchor="end">%s</text>'
                   % (fr.left - 5, y + 4, esc(fmt_num(v))))
    out.append('<line class="axis" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444"/>'
               % (fr.left, fr.top, fr.left, height - fr.bottom))
    _x_axis(out, fr, time_ticks(x0, x1), x1 - x0)
    for v, label in hlines:
        y = fr.py(v)
        out.append('<line class="hline" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000" '
                   'stroke-dasharray="2 2"/>' % (fr.left, y, width - fr.right, y))
        out.append('<text class="hlabel" x="%.1f" y="%.1f" font-size="11" text-anchor="end">%s</text>'
                   % (width - fr.right - 4, y + 13, esc(label)))
    for t, label in vlines:
        x = fr.px(t)
        out.append('<line class="vline" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d62728" '
                   'stroke-dasharray="2 2"/>' % (x, fr.top, x, height - fr.bottom))
        out.append('<text class="vlabel" x="%.1f" y="%.1f" font-size="11" text-anchor="end" fill="#d62728">%s</text>'
                   % (x - 4, height - fr.bottom - 6, esc(label)))
    legend = []
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        legend.append((s["name"], colour, s.get("dashed")))
        d, n = [], 0
        pen_up = True
        for x, y in s["points"]:
            if y is None:
                pen_up = True
                continue
            d.append("%s%.1f %.1f" % ("M" if pen_up else "L", fr.px(x), fr.py(y)))
            pen_up = False
            n += 1
        if not n:
            continue
        out.append('<path class="series" data-series="%s" data-points="%d" d="%s" fill="none" stroke="%s" '
                   'stroke-width="1.8"%s/>' % (esc(s["name"]), n, " ".join(d), colour,
                                              ' stroke-dasharray="6 4"' if s.get("dashed") else ""))
        if n <= MARKERS_MAX:
            for x, y in s["points"]:
                if y is not None:
                    out.append('<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s"/>' % (fr.px(x), fr.py(y), colour))
    _legend(out, fr, legend)
    out.append("</svg>")
    return "\n".join(out)


def state_band(rows, title, x_range, width=600, row_h=18):
    """rows: [(label, [(t_start, t_end, state)])] -> one coloured band per row (link states over time)."""
    height = 30 + row_h * max(len(rows), 1) + 34
    out = _open(width, height, title, "chart state-band")
    x0, x1 = x_range
    if x1 <= x0:
        x0, x1 = x0 - 60, x1 + 60
    fr = Frame(width, height, (x0, x1), (0, 1), left=74)
    seen = []
    for i, (label, segs) in enumerate(rows):
        y = fr.top + i * row_h
        out.append('<text class="ylabel" x="%.1f" y="%.1f" font-size="11" text-anchor="end">%s</text>'
                   % (fr.left - 5, y + row_h - 6, esc(label)))
        for t0, t1, state in segs:
            colour = STATE_COLOURS.get(state, STATE_COLOURS["unknown"])
            if state not in seen:
                seen.append(state)
            xa, xb = fr.px(max(t0, x0)), fr.px(min(t1, x1))
            out.append('<rect class="state" data-state="%s" x="%.1f" y="%.1f" width="%.1f" height="%d" fill="%s">'
                       '<title>%s %s</title></rect>' % (esc(state), xa, y + 2, max(xb - xa, 1.0), row_h - 4, colour,
                                                        esc(label), esc(state)))
    _x_axis(out, fr, time_ticks(x0, x1), x1 - x0)
    _legend(out, fr, [(s, STATE_COLOURS.get(s, STATE_COLOURS["unknown"]), False) for s in seen])
    out.append("</svg>")
    return "\n".join(out)
