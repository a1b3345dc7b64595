"""Small history charts: busy % and memory per node, and one subject (a CPU or a process).

Charts are the most expensive thing on screen: a plotext build costs
milliseconds where the rest of a tick costs microseconds, and numaview's whole
budget is about 1 % of one core at 1 Hz. So the panel redraws only when the data
changed and at most every ``redraw_every_s`` (forced on resize and when the
subject changes), series are downsampled to a bounded number of points
(numaview.render.history), the build happens in ``render()`` so that several
requests within one screen refresh cost one build, and the cost is counted
(``builds``, ``build_s``). benchmarks/bench_charts.py measures it.

Colours come from app.tcss through component classes (``chartpanel--series-N``
for node N's line, ``--subject``, ``--subject-cpus``, ``--marker``); without a
rule the xterm palette numbers of ``Palette`` are used. plotext 6's C core
aborts the process on NaN input, so only finite numbers ever reach it: gaps
are drawn by splitting a line into separate signals. Every chart reuses plotext's
one global figure (cleared first): Textual renders on one thread. plotext is
imported on the first build, so a dashboard without charts never loads it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.color import Color as RichColor
from rich.style import Style
from rich.text import Text
from textual import events
from textual.widget import Widget

from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.render import history
from numaview.tui.widgets.chartmodel import (
    DROP_MEMORY,
    DROP_SUBJECT,
    N_LOAD,
    Chart,
    Color,
    Line,
    Palette,
    load_charts,
)

MIN_W, MIN_H = 20, 5  # below this the panel shows nothing
CHART_MIN_W, CHART_MIN_H = 24, 6  # one chart smaller than this says nothing
N_SERIES = 8
# A redraw of three charts costs ~25 ms of plotext (benchmarks/bench_charts.py): every
# 10 s that is 0.25 % of a core, and the right edge of a 300 s chart lags at most
# 1/30 of its width. Markers, a new subject and a resize redraw at once.
REDRAW_EVERY_S = 10.0
Subject = tuple[str, int]  # ("cpu", cpu id) or ("pid", pid)


# -- series → charts (pure Python, no plotext) ---------------------------------------


def _known(*cols: Sequence[float | None]) -> list[float]:
    return [v for c in cols for v in c if v is not None]


def _nice_top(v: float, step: float) -> float:
    return max(step, math.ceil(v / step) * step)


def compute_charts(
    frames: Sequence[Frame],
    topology: Topology,
    subject: Subject | None,
    window_s: float,
    palette: Palette | None = None,
) -> list[Chart]:
    """Busy %, the load test's throughput and latency when frames carry workload samples,
    memory used, and the subject's chart when there is one."""
    tail = history.frames_in_window(frames, window_s)
    palette = palette or Palette()
    pal = palette.series
    busy_xs, busy = history.node_busy_series(tail, window_s)
    mem_xs, mem = history.node_mem_used_series(tail, window_s)
    totals = [n.mem_total_bytes for n in tail[-1].nodes if n.mem_total_bytes] if tail else []
    totals = totals or [n.mem_total_bytes for n in topology.nodes if n.mem_total_bytes]
    top = max(totals) / history.GIB if totals else max(_known(*mem.values()), default=1.0)

    def per_node(xs: list[float], cols: dict[int, list[float | None]]) -> tuple[Line, ...]:
        return tuple(
            Line(f"node {n}", xs, ys, pal[i % len(pal)]) for i, (n, ys) in enumerate(cols.items())
        )

    charts = [
        Chart("busy % per node", per_node(busy_xs, busy), (0.0, 100.0)),
        *load_charts(tail, window_s, palette),
        Chart(
            "memory used per node, GiB",
            per_node(mem_xs, mem),
            (0.0, max(top, 1.0)),
            drop=DROP_MEMORY,
        ),
    ]
    if subject is not None and subject[0] == "cpu":
        cpu_id = subject[1]
        cpu = topology.cpu(cpu_id)
        node = None if cpu is None else cpu.node
        xs, cols = history.cpu_busy_series(tail, [cpu_id], window_s)
        lines = [Line(f"CPU {cpu_id}", xs, cols[cpu_id], palette.subject)]
        if node is not None and node in busy:
            lines.append(Line(f"node {node} avg", busy_xs, busy[node], palette.subject_cpus))
        where = "" if node is None else f" vs node {node}"
        charts.append(
            Chart(f"CPU {cpu_id} busy %{where}", tuple(lines), (0.0, 100.0), drop=DROP_SUBJECT)
        )
    elif subject is not None:
        pid = subject[1]
        name = history.process_name(tail, pid)
        xs, pct = history.process_cpu_series(tail, pid, window_s)
        bxs, busy_cpus = history.process_cpus_busy_series(tail, pid, window_s)
        top = _nice_top(max(_known(pct), default=100.0), 100.0)
        who = f"pid {pid}" if name is None else f"{name} (pid {pid})"
        lines = [
            Line(f"pid {pid} CPU %", xs, pct, palette.subject),
            Line("its CPUs busy %", bxs, busy_cpus, palette.subject_cpus, right=True),
        ]
        title = f"{who}: CPU % ◂ · busy % of its CPUs ▸"
        charts.append(Chart(title, tuple(lines), (0.0, top), (0.0, 100.0), drop=DROP_SUBJECT))
    return charts


# -- charts → text (plotext) ------------------------------------------------------------


def _y_ticks(lo: float, hi: float, rows: int, pad: int = 0) -> tuple[list[float], list[str]]:
    vals = [lo, (lo + hi) / 2, hi] if rows >= 4 else [lo, hi]
    labels = [f"{v:.0f}" if v == int(v) or abs(v) >= 10 else f"{v:.1f}" for v in vals]
    return vals, [s.rjust(pad) for s in labels]


def draw_chart(
    chart: Chart,
    width: int,
    height: int,
    window_s: float,
    markers: Sequence[tuple[float, str]] = (),
    marker_color: Color = 8,
    label_markers: bool = True,
    tick_w: int = 0,
) -> list[str]:
    """One chart as ``height`` ANSI lines of ``width`` cells (markers: (x, label));
    ``tick_w``: the left axis's labels padded to this width, so charts above one
    another put their time axes in the same columns."""
    # Imported here, not at the top: plotext costs ~15 MB and 60 ms to import, and
    # the charts show only on a wide, tall terminal (or after c).
    import plotext as plt

    fig = plt.figure
    fig.clear()
    plt.terminal.limit(False, False)  # the size asked for, not the real terminal's
    fig.plot_size(width, height)
    fig.theme("simple")  # no colours of its own: the widget's background shows through
    fig.legend(False)  # the panel draws one legend for all charts
    fig.title(chart.title[: max(0, width - 2)])
    lo, hi = chart.ylim
    hi = hi if hi > lo else lo + 1
    mk_pixel = plt.pixel(foreground=marker_color)
    for x, label in markers:
        fig.draw(
            fig.segment((x, x), (lo, hi), marker=plt.marker("│", pixel=mk_pixel)).density("full")
        )
        if label_markers and label:
            align = "left" if x < -window_s / 2 else "right"
            text = plt.colorize(label[:16].replace("\n", " "), pixel=mk_pixel)
            fig.draw(fig.text(x, hi, text, alignment=align))
    for line in reversed(chart.lines):  # the first line (the legend's first) ends on top
        mk = plt.marker("braille", pixel=plt.pixel(foreground=line.color))
        side = "right" if line.right else "left"
        for sx, sy in history.segments(line.xs, line.ys):
            fig.draw(fig.signal(sx, sy, marker=mk, yside=side).lines(True).density("full"))
    used_w = 2  # the frame
    for side, lim in (("left", (lo, hi)), ("right", chart.ylim_right)):
        if lim is not None:
            ticks, labels = _y_ticks(*lim, rows=height - 4, pad=tick_w if side == "left" else 0)
            fig.ruler("y", side).lim(*lim).ticks(ticks, labels=labels)
            used_w += max(len(s) for s in labels)
    positions, labels = history.time_ticks(window_s, width - used_w)
    fig.ruler("x").lim(-window_s, 0).ticks(positions, labels=labels)
    return str(fig.build().string()).rstrip("\n").split("\n")


def plan_layout(width: int, height: int, n: int) -> list[list[tuple[int, int]]] | None:
    """Rows of (width, height) cells: stacked, side by side, or (for 3) two over one wide.

    The pick maximises the worst cell's min(width / 4, height): a cell is twice
    as tall as wide and time runs along x, so a chart reads best wide.
    """

    def split(total: int, k: int) -> list[int]:
        return [total // k + (1 if i < total % k else 0) for i in range(k)]

    cands = [
        [[(width, h)] for h in split(height, n)],
        [[(w, height) for w in split(width, n)]],
    ]
    if n >= 3:  # two a row, an odd last one wide
        rows = split(height, (n + 1) // 2)
        pairs = [[(w, h) for w in split(width, 2)] for h in rows[: n // 2]]
        cands.append(pairs + ([[(width, rows[-1])]] if n % 2 else []))
    fits = [c for c in cands if all(w >= CHART_MIN_W and h >= CHART_MIN_H for r in c for w, h in r)]
    if not fits:
        return None
    return max(fits, key=lambda c: min(min(w / 4, h) for r in c for w, h in r))


def _rich_color(c: Color) -> RichColor:
    return RichColor.from_ansi(c) if isinstance(c, int) else RichColor.from_rgb(*c)


def legend(charts: Sequence[Chart], width: int, max_lines: int = 2) -> list[Text]:
    """Every series named once (nodes are shared by the node charts), wrapped to fit."""
    items: list[tuple[str, Color]] = []
    for ch in charts:
        for ln in ch.lines:
            if (ln.label, ln.color) not in items:
                items.append((ln.label, ln.color))
    lines = [Text(no_wrap=True, overflow="crop", end="")]
    for label, color in items:
        item_w = len(label) + 2
        if lines[-1].cell_len and lines[-1].cell_len + 2 + item_w > width:
            if len(lines) == max_lines:
                break
            lines.append(Text(no_wrap=True, overflow="crop", end=""))
        if lines[-1].cell_len:
            lines[-1].append("  ")
        lines[-1].append("■ ", Style(color=_rich_color(color)))
        lines[-1].append(label)
    for t in lines:
        t.truncate(width)
    return lines


def build_panel_text(
    charts: Sequence[Chart],
    width: int,
    height: int,
    window_s: float,
    markers: Sequence[tuple[float, str]] = (),
    marker_color: Color = 8,
) -> Text:
    """Legend line and the charts that fit, laid out; a short note when none fits."""
    if width < MIN_W or height < MIN_H:
        return Text("")
    shown = list(charts)
    keys = legend(shown, width)
    plan = plan_layout(width, height - len(keys), len(shown))
    while plan is None and len(shown) > 1:
        # memory first, then the subject (the user asked for it), latency, throughput
        shown.remove(min((c for c in shown if c.drop), key=lambda c: c.drop, default=shown[-1]))
        keys = legend(shown, width)
        plan = plan_layout(width, height - len(keys), len(shown))
    if plan is None:
        return Text("charts: too small", no_wrap=True, overflow="crop")
    tick_w = 0
    if any(c.load for c in shown):
        tick_w = max(len(s) for c in shown for s in _y_ticks(*c.ylim, rows=4)[1])
    lines: list[str] = []
    it = iter(shown)
    for row in plan:
        # marker labels on the top row only: the lines on every chart say enough
        parts = [
            draw_chart(next(it), w, h, window_s, markers, marker_color, not lines, tick_w)
            for w, h in row
        ]
        lines.extend("".join(p[i] for p in parts) for i in range(row[0][1]))
    text = Text("\n", no_wrap=True, overflow="crop", end="").join(keys)
    text.append("\n")
    text.append_text(Text.from_ansi("\n".join(lines), no_wrap=True, overflow="crop", end=""))
    return text


# -- the widget -------------------------------------------------------------------------


class ChartPanel(Widget, can_focus=False):
    """History charts of the ring's last ``window_s``. Feed it with ``show(frames)``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"chartpanel--series-{i}" for i in range(N_SERIES)),
        "chartpanel--subject",
        "chartpanel--subject-cpus",
        "chartpanel--marker",
        *(f"chartpanel--load-{i}" for i in range(N_LOAD)),
    }

    def __init__(
        self,
        topology: Topology,
        *,
        window_s: float = 300.0,
        redraw_every_s: float = REDRAW_EVERY_S,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.topology = topology
        self.window_s = window_s
        self.redraw_every_s = redraw_every_s
        self.events: list[tuple[float, str]] = []  # (sampler mono, label)
        self.subject: Subject | None = None
        self.clock: Callable[[], float] = time.monotonic  # throttle clock; tests replace it
        self.builds = 0  # how many times the charts were built
        self.build_s = 0.0  # total time spent building them
        self.last_build_s = 0.0
        self._frames: Sequence[Frame] = ()
        self._drawn_key: tuple[int, float] | None = None  # newest frame of the last build
        self._built_at = -math.inf
        self._dirty = True
        self._text: Text = Text("collecting…")
        self._palette: Palette | None = None

    # -- data in -------------------------------------------------------------------

    def show(self, frames: Sequence[Frame]) -> None:
        """Take the ring's window; redraw only if it changed and the last build is old enough."""
        self._frames = frames
        key = (frames[-1].seq, frames[-1].mono) if frames else None
        if key == self._drawn_key:
            return
        ready = len(frames) >= 2
        shown_chart = self._drawn_key is not None
        if ready != shown_chart or self.clock() - self._built_at >= self.redraw_every_s:
            self._request()

    def force_redraw(self) -> None:
        self._request()

    def set_subject_cpu(self, cpu: int | None) -> None:
        self._set_subject(None if cpu is None else ("cpu", cpu))

    def set_subject_process(self, pid: int | None, now: bool = True) -> None:
        """``now``: redraw at once (the user chose it); else with the next due redraw."""
        self._set_subject(None if pid is None else ("pid", pid), now)

    def _set_subject(self, subject: Subject | None, now: bool = True) -> None:
        # The app re-selects on every cursor move: only a change costs a build.
        if subject != self.subject:
            self.subject = subject
            if now:
                self._request()

    def add_marker(self, mono: float, label: str) -> None:
        """A vertical line at ``mono`` (the sampler's clock), e.g. when a re-pin was applied."""
        self.events.append((mono, label))
        self._request()

    def _request(self) -> None:
        self._dirty = True
        self.refresh()

    # -- drawing ---------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._request()

    def notify_style_update(self) -> None:
        self._palette = None
        self._dirty = True
        super().notify_style_update()

    def palette(self) -> Palette:
        """The colours app.tcss sets for the component classes, else the defaults."""
        if self._palette is None:
            d = Palette()

            def color(cls: str, fallback: Color) -> Color:
                c = self.get_component_rich_style(f"chartpanel--{cls}", partial=True).color
                return fallback if c is None else c.get_truecolor()  # an (r, g, b) tuple

            series = tuple(color(f"series-{i}", d.series[i]) for i in range(N_SERIES))
            subject, cpus = color("subject", d.subject), color("subject-cpus", d.subject_cpus)
            load = tuple(color(f"load-{i}", d.load[i]) for i in range(N_LOAD))
            self._palette = Palette(series, subject, cpus, color("marker", d.marker), load)
        return self._palette

    def render(self) -> Text:
        if self._dirty:
            self._dirty = False
            self._rebuild()
        return self._text

    def _rebuild(self) -> None:
        frames = self._frames
        if len(frames) < 2:
            self._drawn_key = None
            self._text = Text("collecting…")
            return
        started = time.perf_counter()
        newest = frames[-1]
        pal = self.palette()
        charts = compute_charts(frames, self.topology, self.subject, self.window_s, pal)
        markers = [
            (m - newest.mono, label)
            for m, label in self.events
            if -self.window_s < m - newest.mono <= 0
        ]
        width, height = self.size.width, self.size.height
        self._text = build_panel_text(charts, width, height, self.window_s, markers, pal.marker)
        self._drawn_key = (newest.seq, newest.mono)
        self._built_at = self.clock()
        self.last_build_s = time.perf_counter() - started
        self.build_s += self.last_build_s
        self.builds += 1
