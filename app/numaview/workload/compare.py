"""Each figure before a pin against after it, and whether the change is beyond the noise.

The windows: before = the samples in [pin − before_s, pin]; after = those in
[pin + settle_s, pin + settle_s + after_s] (the settle time lets caches,
queues and the load generator catch up with the new placement). A window's
figure is exact over the window: its first sample to its last (rates are
Δtotal / Δt, percentiles from the histogram's bucket deltas); the queue
gauges (waiting, running), and percentiles a source reports itself (a
summary's quantiles, locust's), are the mean of the window's samples.

Beyond the noise: each window also gives one figure per interval between
consecutive samples. With n_b and n_a such intervals (at least 3 in each) of
means m_b, m_a and sample variances s_b², s_a², the change is beyond the
noise when Welch's t = |m_a − m_b| / sqrt(s_b²/n_b + s_a²/n_a) is at least 3.
When both windows are perfectly steady (s_b = s_a = 0) any difference of the
means is beyond the noise. With fewer than 3 intervals on a side it cannot
be said (None).

``better`` follows the figure's direction (more throughput, less latency);
None when the figure did not change or one side is unknown.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence

from numaview.model.workload import (
    FIGURE_BY_NAME,
    FIGURES,
    LATENCIES,
    Comparison,
    FigureChange,
    WorkloadSample,
)
from numaview.workload.figures import figures_between

T_BEYOND = 3.0  # Welch's t at or above which a change is beyond the noise
MIN_INTERVALS = 3  # per window, to judge the noise at all
GAUGE_FIGURES = ("waiting", "running")


def _distinct(samples: Sequence[WorkloadSample]) -> list[WorkloadSample]:
    """The samples of new reads: a failed or stale one repeats the last good mono."""
    out: list[WorkloadSample] = []
    for s in samples:
        if s.mono is None:
            continue
        if out and out[-1].mono is not None and s.mono <= out[-1].mono:
            continue
        out.append(s)
    return out


def _gauge_mean(window: Sequence[WorkloadSample], name: str) -> float | None:
    vals = [s.gauges[name] for s in window if name in s.gauges and math.isfinite(s.gauges[name])]
    return statistics.fmean(vals) if vals else None


def _window_figures(window: Sequence[WorkloadSample]) -> dict[str, float | None]:
    """The window's figures: exact from its ends; gauges and direct percentiles averaged."""
    figs = figures_between(window[0], window[-1])
    for g in GAUGE_FIGURES:
        figs[g] = _gauge_mean(window, g)
    for lat in LATENCIES:
        if lat in window[-1].hists:
            continue  # percentiles from the bucket deltas
        for p in ("p50", "p99"):
            mean = _gauge_mean(window, f"{lat}_{p}_s")
            if mean is not None:
                figs[f"{lat}_{p}_s"] = mean
    return figs


def _intervals(window: Sequence[WorkloadSample]) -> list[dict[str, float | None]]:
    return [figures_between(a, b) for a, b in itertools.pairwise(window)]


def welch_beyond(before: Sequence[float], after: Sequence[float]) -> bool | None:
    """Whether the means differ beyond the noise (module docstring); None: too few values."""
    if len(before) < MIN_INTERVALS or len(after) < MIN_INTERVALS:
        return None
    mb, ma = statistics.fmean(before), statistics.fmean(after)
    se2 = statistics.variance(before) / len(before) + statistics.variance(after) / len(after)
    if se2 <= 0:
        return ma != mb
    return abs(ma - mb) / math.sqrt(se2) >= T_BEYOND


def _change(
    name: str,
    before: float | None,
    after: float | None,
    ib: Sequence[dict[str, float | None]],
    ia: Sequence[dict[str, float | None]],
) -> FigureChange:
    pct = None
    if before is not None and after is not None and before != 0:
        pct = (after - before) / abs(before) * 100.0
        pct = pct if math.isfinite(pct) else None
    beyond = None
    if before is not None and after is not None:
        vb = [v for f in ib if (v := f.get(name)) is not None]
        va = [v for f in ia if (v := f.get(name)) is not None]
        beyond = welch_beyond(vb, va)
    better = None
    spec = FIGURE_BY_NAME.get(name)
    if spec is not None and before is not None and after is not None and after != before:
        better = (after > before) == spec.higher_is_better
    return FigureChange(name, before, after, pct, beyond, better)


def compare(
    samples: Sequence[WorkloadSample],
    pin_mono: float,
    pin_text: str,
    before_s: float = 30.0,
    settle_s: float = 5.0,
    after_s: float = 30.0,
    event_id: int | None = None,
) -> Comparison | None:
    """One source's figures before the pin against after it; None with < 2 samples a side.

    ``samples`` are that source's, in time order; failed and stale ones that
    repeat an earlier read are skipped.
    """
    seq = _distinct(samples)
    b_lo, b_hi = pin_mono - before_s, pin_mono
    a_lo, a_hi = pin_mono + settle_s, pin_mono + settle_s + after_s
    wb = [s for s in seq if s.mono is not None and b_lo <= s.mono <= b_hi]
    wa = [s for s in seq if s.mono is not None and a_lo <= s.mono <= a_hi]
    if len(wb) < 2 or len(wa) < 2:
        return None
    fb, fa = _window_figures(wb), _window_figures(wa)
    ib, ia = _intervals(wb), _intervals(wa)
    changes = tuple(
        _change(f.name, fb.get(f.name), fa.get(f.name), ib, ia)
        for f in FIGURES
        if fb.get(f.name) is not None or fa.get(f.name) is not None
    )
    server = next((s.server for s in reversed(seq) if s.server), "")
    return Comparison(
        source=seq[-1].source,
        server=server,
        pin_text=pin_text,
        pin_mono=pin_mono,
        before=(b_lo, b_hi),
        after=(a_lo, a_hi),
        changes=changes,
        samples_before=len(wb),
        samples_after=len(wa),
        event_id=event_id,
    )
