"""Before/after a pin: exact window figures, and Welch's t against the noise."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace

import pytest

from numaview.model.workload import Comparison, FigureChange, Histogram, WorkloadSample
from numaview.workload.compare import compare, welch_beyond

PIN = 100.0
BOUNDS = (0.1, 0.5, 1.0, math.inf)


def _series(
    rate_before: float,
    rate_after: float,
    noise: float,
    seed: int = 7,
    start: float = 60.0,
    end: float = 140.0,
) -> list[WorkloadSample]:
    """One sample a second; requests arrive at a noisy rate that changes at the pin."""
    rng = random.Random(seed)
    out, total, t = [], 0.0, start
    lat = [0.0, 0.0, 0.0, 0.0]
    while t <= end:
        out.append(
            WorkloadSample(
                "http://h:8000/metrics",
                "vllm",
                t,
                counters={"requests": total},
                hists={"e2e": Histogram(BOUNDS, tuple(lat), lat[-1], lat[-1] * 0.3)},
                gauges={"waiting": 2.0 if t <= PIN else 4.0},
            )
        )
        rate = rate_before if t < PIN else rate_after
        n = max(0.0, rate + rng.gauss(0.0, noise))
        total += n
        lat = [lat[0] + n * 0.5, lat[1] + n, lat[2] + n, lat[3] + n]
        t += 1.0
    return out


def _change(c: Comparison, figure: str) -> FigureChange:
    return next(ch for ch in c.changes if ch.figure == figure)


def test_doubled_throughput_is_beyond_noise_and_better() -> None:
    c = compare(_series(10.0, 20.0, 1.5), PIN, "pin 1234 -> node 1", event_id=3)
    assert c is not None
    assert c.before == (70.0, 100.0) and c.after == (105.0, 135.0)
    assert c.samples_before == 31 and c.samples_after == 31
    req = _change(c, "req_s")
    assert req.before == pytest.approx(10.0, rel=0.15)
    assert req.after == pytest.approx(20.0, rel=0.15)
    assert req.change_pct == pytest.approx(100.0, abs=25.0)
    assert req.beyond_noise is True and req.better is True
    assert c.event_id == 3 and c.server == "vllm" and c.pin_text == "pin 1234 -> node 1"
    # the queue gauge is the window's mean, and a longer queue is worse
    wait = _change(c, "waiting")
    assert (wait.before, wait.after, wait.better) == (2.0, 4.0, False)
    # the comparison goes into the recording as JSON
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert Comparison.from_dict(d) == c


def test_window_figures_are_exact_over_the_window() -> None:
    s = _series(10.0, 20.0, 1.5)
    c = compare(s, PIN, "pin")
    assert c is not None
    first, last = s[10], s[40]  # monos 70 and 100
    exact = (last.counters["requests"] - first.counters["requests"]) / 30.0
    assert _change(c, "req_s").before == pytest.approx(exact)
    # half the requests in the lowest bucket: p50 at its top edge
    assert _change(c, "e2e_p50_s").before == pytest.approx(0.1)


def test_tiny_change_inside_noise_is_not_beyond_noise() -> None:
    c = compare(_series(10.0, 10.1, 3.0, seed=11), PIN, "pin")
    assert c is not None
    req = _change(c, "req_s")
    assert req.before is not None and req.after is not None
    assert abs(req.after - req.before) / req.before < 0.15
    assert req.beyond_noise is False


def test_too_few_samples_is_none() -> None:
    s = _series(10.0, 20.0, 1.0)
    only_before = [x for x in s if x.mono is not None and x.mono <= PIN]
    assert compare(only_before, PIN, "pin") is None
    one_after = [*only_before, next(x for x in s if x.mono == 110.0)]
    assert compare(one_after, PIN, "pin") is None


def test_two_samples_a_side_give_figures_but_no_noise_verdict() -> None:
    s = {x.mono: x for x in _series(10.0, 20.0, 1.0)}
    c = compare([s[90.0], s[100.0], s[110.0], s[120.0]], PIN, "pin")
    assert c is not None
    req = _change(c, "req_s")
    assert req.before is not None and req.after is not None and req.after > req.before
    assert req.beyond_noise is None  # one interval a side


def test_failed_samples_repeating_a_read_are_skipped() -> None:
    s = _series(10.0, 20.0, 1.5)
    noisy = []
    for x in s:
        noisy += [x, replace(x, error="HTTP 503", stale=True)]
    c = compare(noisy, PIN, "pin")
    assert c is not None and c.samples_before == 31 and c.samples_after == 31


def test_figures_without_values_are_left_out_and_zero_before_has_no_pct() -> None:
    s = _series(0.0, 5.0, 0.0)
    c = compare(s, PIN, "pin")
    assert c is not None
    names = {ch.figure for ch in c.changes}
    assert "out_tok_s" not in names and "ttft_p50_s" not in names
    req = _change(c, "req_s")
    assert req.before == 0 and req.after == pytest.approx(5.0)
    assert req.change_pct is None
    assert req.beyond_noise is True  # perfectly steady on both sides, means differ


def test_welch_rule() -> None:
    assert welch_beyond([1, 1], [2, 2, 2]) is None
    assert welch_beyond([1, 1, 1], [1, 1, 1]) is False
    assert welch_beyond([1, 2, 3], [1.5, 2.5, 3.5]) is False
    assert welch_beyond([10, 11, 9, 10], [20, 21, 19, 20]) is True


def test_direct_percentiles_are_the_window_mean() -> None:
    s = [
        WorkloadSample(
            "locust",
            "locust",
            float(t),
            counters={"requests": 10.0 * t},
            gauges={"e2e_p99_s": 0.2 if t % 2 else 0.4} if t <= PIN else {"e2e_p99_s": 0.1},
        )
        for t in range(90, 121)
    ]
    c = compare(s, PIN, "pin", before_s=9.0, settle_s=5.0, after_s=10.0)
    assert c is not None
    p99 = _change(c, "e2e_p99_s")
    assert p99.before == pytest.approx((0.2 * 5 + 0.4 * 5) / 10)  # monos 91..100
    assert p99.after == pytest.approx(0.1)
    assert p99.better is True and p99.beyond_noise is True
