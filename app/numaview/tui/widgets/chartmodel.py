"""What a chart is before plotext draws it, and the load test's two charts.

``Chart``/``Line``/``Palette`` are plain data (charts.py turns them into text).
The load charts come from the frames' workload samples (render/history.py):
throughput (output tokens a second, or requests a second for a source that
counts no tokens) and p99 latency (time to first token, or end to end), one
line per source, on the same time axis as the CPU charts, so a pin's marker
lines up with the load's change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from numaview.model.frame import Frame
from numaview.render import history
from numaview.render.workload import distinct_labels

Color = int | tuple[int, int, int]  # xterm-256 number or RGB, as plotext takes them
N_LOAD = 4  # colours for workload sources (chartpanel--load-N)

# Chart.drop: which goes first when the panel is too small (lowest first; 0 never).
DROP_MEMORY, DROP_SUBJECT, DROP_LATENCY, DROP_THROUGHPUT = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class Palette:
    series: tuple[Color, ...] = (12, 10, 9, 14, 3, 6, 2, 4)
    subject: Color = 13
    subject_cpus: Color = 11
    marker: Color = 8
    load: tuple[Color, ...] = (214, 51, 177, 118)


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    xs: list[float]
    ys: list[float | None]
    color: Color
    right: bool = False  # on the right-hand y axis


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    lines: tuple[Line, ...]
    ylim: tuple[float, float]
    ylim_right: tuple[float, float] | None = None
    drop: int = 0  # see DROP_*: 0 is kept to the last
    load: bool = False  # a workload chart (the panel aligns the y axes when there is one)


def nice_ceiling(v: float) -> float:
    """The axis top for a largest value ``v``: 1, 1.5, 2, 3, 5 or 7.5 times a power of 10."""
    if not math.isfinite(v) or v <= 0:
        return 1.0
    magnitude = float(10 ** math.floor(math.log10(v)))
    for k in (1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0):
        if v <= k * magnitude * (1 + 1e-9):
            return k * magnitude
    return 10 * magnitude


def _top(cols: Sequence[Sequence[float | None]]) -> float:
    return max((v for c in cols for v in c if v is not None), default=0.0)


def _lines(
    xs: list[float],
    cols: dict[str, list[float | None]],
    names: dict[str, str],
    used: dict[str, str],
    colours: tuple[Color, ...],
    suffix: dict[str, str],
) -> tuple[Line, ...]:
    order = list(names)
    return tuple(
        Line(
            names[s] + suffix.get(used[s], ""),
            xs,
            ys,
            colours[order.index(s) % len(colours)],
        )
        for s, ys in cols.items()
    )


def load_charts(tail: Sequence[Frame], window_s: float, palette: Palette) -> list[Chart]:
    """Throughput and p99 latency of the workload sources; none when no frame has any."""
    if not any(f.workload for f in tail):
        return []
    names = distinct_labels(history.workload_sources(tail))
    charts: list[Chart] = []
    xs, cols, used = history.workload_series(tail, history.THROUGHPUT_FIGURES, window_s)
    if cols:
        kinds = set(used.values())
        mixed = len(kinds) > 1
        title = (
            "throughput, tok/s · req/s"
            if mixed
            else ("output tokens/s" if "out_tok_s" in kinds else "requests/s")
        )
        suffix = {"req_s": " req/s"} if mixed else {}
        lines = _lines(xs, cols, names, used, palette.load, suffix)
        top = nice_ceiling(_top(list(cols.values())))
        charts.append(Chart(title, lines, (0.0, top), drop=DROP_THROUGHPUT, load=True))
    xs, cols, used = history.workload_series(tail, history.LATENCY_FIGURES, window_s)
    if cols:
        kinds = set(used.values())
        in_s = _top(list(cols.values())) >= 2.0
        scale = 1.0 if in_s else 1000.0
        scaled = {s: [None if v is None else v * scale for v in c] for s, c in cols.items()}
        what = "TTFT p99" if kinds == {"ttft_p99_s"} else "E2E p99" if len(kinds) == 1 else "p99"
        mixed = len(kinds) > 1
        title = f"{what} latency, {'s' if in_s else 'ms'}" + (" (TTFT · E2E)" if mixed else "")
        suffix = {"e2e_p99_s": " E2E"} if mixed else {}
        lines = _lines(xs, scaled, names, used, palette.load, suffix)
        top = nice_ceiling(_top(list(scaled.values())))
        charts.append(Chart(title, lines, (0.0, top), drop=DROP_LATENCY, load=True))
    return charts
