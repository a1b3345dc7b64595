"""The load test's figures over a window, from two reset-corrected samples.

Everything is a difference between the window's two ends, so a figure is
exactly what happened in (a.mono, b.mono]: rates are Δcounter / Δt, latency
percentiles come from the histogram's bucket deltas (the way Prometheus'
``histogram_quantile(rate(...))`` does), means from Δsum / Δcount. Where a
source has no histogram, a ``<lat>_sum_s``/``<lat>_count`` counter pair gives
the mean and the newest sample's ``<lat>_p50_s``/``<lat>_p99_s`` gauges (a
summary's or a load generator's own percentiles) give the percentiles.

A figure that cannot be known is None, never NaN or inf (the recording's JSON
refuses those): no data, a zero-length window, no requests in the window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from numaview.model.workload import FIGURES, LATENCIES, Histogram, WorkloadSample

RATES = (
    ("out_tok_s", "out_tokens"),
    ("prompt_tok_s", "prompt_tokens"),
    ("req_s", "requests"),
    ("fail_s", "failures"),
)


def empty_figures() -> dict[str, float | None]:
    """Every figure, unknown: what a sample without enough history carries."""
    return {f.name: None for f in FIGURES}


def _ok(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def histogram_quantile(q: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    """The q-quantile of cumulative buckets, interpolated as Prometheus does.

    Linear within the bucket the rank falls in; the lowest bucket starts at 0
    when its bound is above 0 (and is its bound otherwise); a rank in the
    ``+Inf`` bucket gives the largest finite bound, since nothing is known
    above it. Without a ``+Inf`` bucket the last finite bucket is taken as the
    top: every observation is assumed to be at or below it (a ``_count``
    above the last bucket is not used), so a high quantile may read low.
    None: no observations, no finite bound, or q outside [0, 1].
    """
    if not 0.0 <= q <= 1.0 or len(bounds) != len(counts) or not bounds:
        return None
    pairs = sorted(zip(bounds, counts, strict=True))
    ups = [b for b, _ in pairs]
    cum: list[float] = []
    for _, c in pairs:  # buckets must not fall (deltas of corrected totals might, by rounding)
        cum.append(max(c, cum[-1]) if cum else max(c, 0.0))
    finite = [b for b in ups if math.isfinite(b)]
    if not finite:
        return None
    observations = cum[-1]
    if observations <= 0:
        return None
    rank = q * observations
    i = next(k for k, c in enumerate(cum) if c >= rank)
    if math.isinf(ups[i]):
        return finite[-1]
    if i == 0 and ups[0] <= 0:
        return ups[0]
    start = 0.0 if i == 0 else ups[i - 1]
    below = 0.0 if i == 0 else cum[i - 1]
    inside = cum[i] - below
    if inside <= 0:
        return start
    return _ok(start + (ups[i] - start) * (rank - below) / inside)


def _delta(a: float | None, b: float | None) -> float | None:
    """b − a, None when either is missing or the total fell (it never should, corrected)."""
    if a is None or b is None or b < a:
        return None
    return b - a


def _hist_delta(a: Histogram | None, b: Histogram | None) -> Histogram | None:
    """The observations between two corrected histograms; None when their bounds differ."""
    if a is None or b is None or a.bounds != b.bounds:
        return None
    counts = tuple(cb - ca for ca, cb in zip(a.counts, b.counts, strict=True))
    total = None if a.total is None or b.total is None else b.total - a.total
    hsum = None if a.sum is None or b.sum is None else b.sum - a.sum
    return Histogram(b.bounds, counts, total, hsum)


def _latency(lat: str, a: WorkloadSample, b: WorkloadSample) -> dict[str, float | None]:
    """p50, p99 and mean of one latency over the window (see the module docstring)."""
    p50: float | None = None
    p99: float | None = None
    mean: float | None = None
    h = _hist_delta(a.hists.get(lat), b.hists.get(lat))
    if h is not None:
        p50 = histogram_quantile(0.5, h.bounds, h.counts)
        p99 = histogram_quantile(0.99, h.bounds, h.counts)
    ha, hb = a.hists.get(lat), b.hists.get(lat)
    if ha is not None and hb is not None:  # the mean needs no common bounds
        dsum, dn = _delta(ha.sum, hb.sum), _delta(ha.total, hb.total)
        if dsum is not None and dn:
            mean = dsum / dn
    if mean is None:
        dsum = _delta(a.counters.get(f"{lat}_sum_s"), b.counters.get(f"{lat}_sum_s"))
        dn = _delta(a.counters.get(f"{lat}_count"), b.counters.get(f"{lat}_count"))
        if dsum is not None and dn:
            mean = dsum / dn
    if p50 is None:
        p50 = b.gauges.get(f"{lat}_p50_s")
    if p99 is None:
        p99 = b.gauges.get(f"{lat}_p99_s")
    return {f"{lat}_p50_s": _ok(p50), f"{lat}_p99_s": _ok(p99), f"{lat}_mean_s": _ok(mean)}


def figures_between(a: WorkloadSample, b: WorkloadSample) -> dict[str, float | None]:
    """Every FIGURES name over (a.mono, b.mono]; the queue gauges are b's own."""
    out = empty_figures()
    out["waiting"] = _ok(b.gauges.get("waiting"))
    out["running"] = _ok(b.gauges.get("running"))
    if a.mono is None or b.mono is None or b.mono <= a.mono:
        return out
    dt = b.mono - a.mono
    for fig, counter in RATES:
        d = _delta(a.counters.get(counter), b.counters.get(counter))
        out[fig] = None if d is None else _ok(d / dt)
    for lat in LATENCIES:
        out.update(_latency(lat, a, b))
    return out
