"""Time series cut out of the frame ring, for the charts.

The ring holds up to an hour of frames while a chart is a few dozen columns
wide, so every series is reduced to at most ``max_points`` points by
averaging time buckets: the cost of drawing stays bounded whatever the ring
holds. Buckets are fixed in absolute time (the sampler's monotonic clock),
not anchored to the newest frame, so a point already drawn keeps its value
from one redraw to the next instead of jittering as the window slides.

x is seconds relative to the newest frame (-299 … 0). Missing data stays None
(a gap in the line), never 0: a CPU that went offline did not go idle.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from numaview.model.frame import Frame, ProcessSample
from numaview.model.workload import WorkloadSample

GIB = 1024**3
DEFAULT_WINDOW_S = 300.0
DEFAULT_MAX_POINTS = 120

K = TypeVar("K", bound=Hashable)
Xs = list[float]
Column = list[float | None]


def frames_in_window(frames: Sequence[Frame], window_s: float) -> list[Frame]:
    """The frames newer than ``newest.mono - window_s``, oldest first.

    Walks back from the newest frame so that a 3600-frame ring costs only the
    window's length, not the ring's. Frames are assumed ordered by ``mono``.
    """
    if window_s <= 0:
        raise ValueError(f"window_s must be positive, not {window_s!r}")
    if not frames:
        return []
    cutoff = frames[-1].mono - window_s
    i = len(frames)
    while i > 0 and frames[i - 1].mono > cutoff:
        i -= 1
    return list(frames[i:])


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def downsample(
    monos: Sequence[float],
    columns: dict[K, Column],
    window_s: float,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[Xs, dict[K, Column]]:
    """Average into buckets of ``window_s / (max_points - 1)`` seconds of absolute time.

    A window of length W meets at most W / width + 1 = max_points such
    buckets, hence the bound. A bucket's value is the mean of its known
    samples; a bucket with none stays None. x is the bucket's mean time,
    relative to the newest sample. Empty buckets (no frame at all, e.g. the
    sampler was paused) produce no point.
    """
    if max_points < 1:
        raise ValueError(f"max_points must be at least 1, not {max_points!r}")
    if not monos:
        return [], {k: [] for k in columns}
    newest = monos[-1]
    if len(monos) <= max_points:
        return [m - newest for m in monos], {k: list(c) for k, c in columns.items()}
    width = window_s / (max_points - 1) if max_points > 1 else math.inf
    # consecutive runs of equal bucket index: frames are in time order
    runs: list[tuple[int, int]] = []
    start = 0
    last = None if width == math.inf else math.floor(monos[0] / width)
    for i in range(1, len(monos)):
        b = None if width == math.inf else math.floor(monos[i] / width)
        if b != last:
            runs.append((start, i))
            start, last = i, b
    runs.append((start, len(monos)))
    xs = [sum(monos[a:b]) / (b - a) - newest for a, b in runs]
    out = {k: [_mean(c[a:b]) for a, b in runs] for k, c in columns.items()}
    return xs, out


def _series(
    frames: Sequence[Frame],
    keys: Sequence[K],
    value: Callable[[Frame, K], float | None],
    window_s: float,
    max_points: int,
) -> tuple[Xs, dict[K, Column]]:
    tail = frames_in_window(frames, window_s)
    cols = {k: [_finite(value(f, k)) for f in tail] for k in keys}
    return downsample([f.mono for f in tail], cols, window_s, max_points)


def _node_ids(frames: Sequence[Frame]) -> list[int]:
    return sorted({n.id for f in frames for n in f.nodes})


def node_busy_series(
    frames: Sequence[Frame],
    window_s: float = DEFAULT_WINDOW_S,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[Xs, dict[int, Column]]:
    """Busy % per node, every node seen in the window (a node missing from a frame: None)."""
    tail = frames_in_window(frames, window_s)

    def busy(f: Frame, nid: int) -> float | None:
        n = f.node(nid)
        return None if n is None else n.busy_pct

    return _series(tail, _node_ids(tail), busy, window_s, max_points)


def node_mem_used_series(
    frames: Sequence[Frame],
    window_s: float = DEFAULT_WINDOW_S,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[Xs, dict[int, Column]]:
    """Memory in use per node in GiB: total - free (page cache counts as used, as the kernel says)."""
    tail = frames_in_window(frames, window_s)

    def used(f: Frame, nid: int) -> float | None:
        n = f.node(nid)
        if n is None or n.mem_total_bytes is None or n.mem_free_bytes is None:
            return None
        return (n.mem_total_bytes - n.mem_free_bytes) / GIB

    return _series(tail, _node_ids(tail), used, window_s, max_points)


def cpu_busy_series(
    frames: Sequence[Frame],
    cpu_ids: Sequence[int],
    window_s: float = DEFAULT_WINDOW_S,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[Xs, dict[int, Column]]:
    """Busy % of each given CPU (offline or unknown: None)."""
    return _series(frames, list(cpu_ids), lambda f, c: f.cpus.value(c), window_s, max_points)


def _process_rows(tail: Sequence[Frame], pid: int) -> list[ProcessSample | None]:
    """The pid's row in each frame, only for the process the newest sighting names.

    A pid can be reused: rows with another start time belong to another
    process and count as missing rather than being joined into one line.
    """
    rows = [f.process(pid) for f in tail]
    newest = next((p for p in reversed(rows) if p is not None), None)
    if newest is None:
        return rows
    return [p if p is not None and p.start_time == newest.start_time else None for p in rows]


def process_cpu_series(
    frames: Sequence[Frame],
    pid: int,
    window_s: float = DEFAULT_WINDOW_S,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[Xs, Column]:
    """The process's CPU % (100 = one CPU); None where it was not in the frame."""
    tail = frames_in_window(frames, window_s)
    rows = _process_rows(tail, pid)
    col = [None if p is None else _finite(p.cpu_pct) for p in rows]
    xs, cols = downsample([f.mono for f in tail], {0: col}, window_s, max_points)
    return xs, cols[0]


def process_cpus_busy_series(
    frames: Sequence[Frame],
    pid: int,
    window_s: float = DEFAULT_WINDOW_S,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[Xs, Column]:
    """Mean busy % of the CPUs the process's threads last ran on, frame by frame.

    Each frame's own ``last_cpus`` are used, so after a re-pin the line shows
    the new CPUs' load, not the old ones'. High values mean its threads share
    their CPUs with other work (or with each other).
    """
    tail = frames_in_window(frames, window_s)
    rows = _process_rows(tail, pid)
    col: Column = []
    # CpuTable.value() searches the id tuple: 16 threads × 300 frames made that the
    # charts' main cost, so map ids to positions once per distinct id tuple.
    positions: dict[tuple[int, ...], dict[int, int]] = {}
    for f, p in zip(tail, rows, strict=True):
        if p is None:
            col.append(None)
            continue
        pos = positions.get(f.cpus.ids)
        if pos is None:
            pos = positions[f.cpus.ids] = {c: i for i, c in enumerate(f.cpus.ids)}
        busy = f.cpus.columns["busy_pct"]
        col.append(_mean(_finite(busy[pos[c]]) if c in pos else None for c in p.last_cpus))
    xs, cols = downsample([f.mono for f in tail], {0: col}, window_s, max_points)
    return xs, cols[0]


def process_name(frames: Sequence[Frame], pid: int) -> str | None:
    """The name in the newest frame that has the pid (None: not seen)."""
    for f in reversed(frames):
        p = f.process(pid)
        if p is not None:
            return p.name
    return None


# -- the load test's figures (frame.workload) ------------------------------------------

THROUGHPUT_FIGURES = ("out_tok_s", "req_s")  # tokens a second, else requests
LATENCY_FIGURES = ("ttft_p99_s", "e2e_p99_s")  # time to first token, else end to end


def workload_sources(frames: Sequence[Frame]) -> dict[str, str]:
    """Every workload source in the frames (its URL or file), first seen first, and its label."""
    out: dict[str, str] = {}
    for f in frames:
        for w in f.workload:
            out[w.source] = w.label  # first seen keeps its place, the label is the newest
    return out


def workload_series(
    frames: Sequence[Frame],
    prefer: Sequence[str],
    window_s: float = DEFAULT_WINDOW_S,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[Xs, dict[str, Column], dict[str, str]]:
    """Per source, the first figure of ``prefer`` it reported in the window, frame by frame.

    Returns (xs, source -> column, source -> the figure used); a source with none
    of the figures (in a sample that is not stale) is left out, a frame without
    the source (or a stale sample) is a gap. On the frames' own clock, so the x axis is the CPU charts'.
    """
    tail = frames_in_window(frames, window_s)
    by_frame = [{w.source: w for w in f.workload} for f in tail]
    used: dict[str, str] = {}
    for source in workload_sources(tail):
        for name in prefer:
            if any(
                (w := m.get(source)) is not None
                and not w.stale
                and _finite(w.figures.get(name)) is not None
                for m in by_frame
            ):
                used[source] = name
                break

    def value(m: dict[str, WorkloadSample], source: str) -> float | None:
        w = m.get(source)
        return None if w is None or w.stale else _finite(w.figures.get(used[source]))

    cols = {s: [value(m, s) for m in by_frame] for s in used}
    xs, out = downsample([f.mono for f in tail], cols, window_s, max_points)
    return xs, out, used


TICK_STEPS_S = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


def segments(
    xs: Sequence[float], ys: Sequence[float | None]
) -> list[tuple[list[float], list[float]]]:
    """Runs of known points; a None or a time gap over 3× the usual spacing breaks the line."""
    steps = sorted(b - a for a, b in itertools.pairwise(xs))
    max_gap = 3 * steps[len(steps) // 2] if steps else math.inf
    out: list[tuple[list[float], list[float]]] = []
    run_x: list[float] = []
    run_y: list[float] = []
    prev: float | None = None
    for x, y in zip(xs, ys, strict=False):
        if y is None or not math.isfinite(y) or (prev is not None and x - prev > max_gap):
            if run_x:
                out.append((run_x, run_y))
            run_x, run_y = [], []
        if y is not None and math.isfinite(y):
            run_x.append(x)
            run_y.append(y)
        prev = x
    if run_x:
        out.append((run_x, run_y))
    return out


def time_ticks(window_s: float, canvas_w: int) -> tuple[list[float], list[str]]:
    """Ticks on the time axis (x seconds before now, ≤ 0) at round steps, at least 8 columns apart."""
    fit = max(2, canvas_w // 8)
    steps = [s for s in TICK_STEPS_S if s >= window_s / 6] or [TICK_STEPS_S[-1]]
    step = next((s for s in steps if window_s / s + 1 <= fit), steps[-1])
    positions = [-k * step for k in range(int(window_s // step) + 1)]
    labels = []
    for p in positions:
        s = -p
        if s == 0:
            labels.append("now")
        elif s % 3600 == 0:
            labels.append(f"-{s // 3600}h")
        elif s % 60 == 0:
            labels.append(f"-{s // 60}m")
        else:
            labels.append(f"-{s}s")
    return [float(p) for p in reversed(positions)], list(reversed(labels))
