"""histogram_quantile, figures over a window, and the reset-correcting Accumulator."""

from __future__ import annotations

import json
import math

import pytest

from numaview.model.workload import FIGURES, Histogram, Reading, WorkloadSample
from numaview.workload.accum import Accumulator
from numaview.workload.expo import parse
from numaview.workload.figures import figures_between, histogram_quantile
from numaview.workload.profiles import recognise

INF = math.inf

# -- histogram_quantile ------------------------------------------------------------------


def test_quantile_interpolates_within_the_bucket() -> None:
    bounds, counts = (0.1, 0.5, 1.0, INF), (10, 30, 40, 40)
    assert histogram_quantile(0.5, bounds, counts) == pytest.approx(0.3)  # 0.1 + 0.4 × 10/20
    # rank 36 of 40: 0.5 + 0.5 × (36 − 30) / 10
    assert histogram_quantile(0.9, bounds, counts) == pytest.approx(0.8)


def test_quantile_lowest_bucket_from_zero() -> None:
    # rank 5 of 40 in the first bucket: 0 + 0.1 × 5/10
    assert histogram_quantile(0.125, (0.1, 0.5, INF), (10, 30, 40)) == pytest.approx(0.05)


def test_quantile_in_the_inf_bucket_is_the_largest_finite_bound() -> None:
    assert histogram_quantile(0.99, (0.1, 0.5, 1.0, INF), (10, 30, 40, 50)) == 1.0


def test_quantile_no_observations_is_none() -> None:
    assert histogram_quantile(0.5, (0.1, 1.0, INF), (0, 0, 0)) is None
    assert histogram_quantile(0.5, (), ()) is None
    assert histogram_quantile(0.5, (INF,), (5,)) is None  # no finite bound to say
    assert histogram_quantile(1.5, (1.0, INF), (1, 1)) is None


def test_quantile_without_inf_bucket_takes_the_last_bucket_as_top() -> None:
    # 30 observations; rank 27 in (0.5, 2]: 0.5 + 1.5 × (27 − 10)/20
    assert histogram_quantile(0.9, (0.5, 2.0), (10, 30)) == pytest.approx(1.775)


# -- figures_between ---------------------------------------------------------------------


def _sample(mono: float | None, **kw: object) -> WorkloadSample:
    return WorkloadSample("http://x/metrics", "vllm", mono, **kw)  # type: ignore[arg-type]


def test_figures_between_known_deltas() -> None:
    bounds = (0.1, 0.5, 1.0, INF)
    a = _sample(
        100.0,
        counters={"out_tokens": 1000, "prompt_tokens": 500, "requests": 10, "failures": 1},
        hists={"e2e": Histogram(bounds, (5, 10, 10, 10), 10, 2.0)},
    )
    b = _sample(
        110.0,
        counters={"out_tokens": 3000, "prompt_tokens": 1500, "requests": 50, "failures": 1},
        hists={"e2e": Histogram(bounds, (15, 40, 50, 50), 50, 14.0)},
        gauges={"waiting": 3, "running": 7},
    )
    f = figures_between(a, b)
    assert set(f) == {s.name for s in FIGURES}
    assert f["out_tok_s"] == pytest.approx(200)
    assert f["prompt_tok_s"] == pytest.approx(100)
    assert f["req_s"] == pytest.approx(4)
    assert f["fail_s"] == 0
    # deltas (10, 30, 40, 40): the hand-computed 0.3 for p50, the top finite for p99
    assert f["e2e_p50_s"] == pytest.approx(0.3)
    assert f["e2e_p99_s"] == pytest.approx(0.5 + 0.5 * (39.6 - 30) / 10)
    assert f["e2e_mean_s"] == pytest.approx(12.0 / 40)
    assert f["waiting"] == 3 and f["running"] == 7
    assert f["ttft_p50_s"] is None and f["itl_mean_s"] is None


def test_figures_between_pairs_and_direct_percentiles() -> None:
    a = _sample(0.0, counters={"itl_sum_s": 10.0, "itl_count": 500})
    b = _sample(
        5.0,
        counters={"itl_sum_s": 12.0, "itl_count": 600},
        gauges={"e2e_p50_s": 0.8, "e2e_p99_s": 2.5},
    )
    f = figures_between(a, b)
    assert f["itl_mean_s"] == pytest.approx(0.02)
    assert f["e2e_p50_s"] == 0.8 and f["e2e_p99_s"] == 2.5
    assert f["out_tok_s"] is None


def test_figures_between_none_cases() -> None:
    h = Histogram((1.0, INF), (3, 3), 3, 1.0)
    a = _sample(10.0, counters={"requests": 5}, hists={"e2e": h})
    same = figures_between(a, a)  # zero-length window
    assert all(v is None for v in same.values())
    b = _sample(20.0, counters={"requests": 5}, hists={"e2e": h})
    f = figures_between(a, b)
    assert f["req_s"] == 0
    assert f["e2e_p50_s"] is None and f["e2e_mean_s"] is None  # no requests in the window
    c = _sample(20.0, hists={"e2e": Histogram((2.0, INF), (4, 4), 4, 2.0)})
    g = figures_between(a, c)
    assert g["e2e_p50_s"] is None  # bounds differ
    assert g["e2e_mean_s"] == pytest.approx(1.0)  # the mean does not need the bounds
    assert figures_between(_sample(None), b)["req_s"] is None


# -- the Accumulator ---------------------------------------------------------------------


def _reading(server: str = "vllm", **kw: object) -> Reading:
    return Reading(server, **kw)  # type: ignore[arg-type]


def test_counter_reset_keeps_totals_rising() -> None:
    acc = Accumulator("src", window_s=1.0)
    totals, rates = [], []
    for mono, raw in [(0, 100), (1, 150), (2, 20), (3, 70)]:  # restart between 1 and 2
        s = acc.add(_reading(counters={"requests": raw}), float(mono))
        totals.append(s.counters["requests"])
        rates.append(s.figures["req_s"])
    assert totals == [100, 150, 170, 220]
    assert rates == [None, 50, 20, 50]  # after the reset: the 20 new ones, not −130


def test_created_change_without_going_down_is_a_reset() -> None:
    acc = Accumulator("src", window_s=1.0)
    acc.add(_reading(counters={"requests": 100}, created={"requests": 1000.0}), 0.0)
    s = acc.add(_reading(counters={"requests": 130}, created={"requests": 2000.0}), 1.0)
    assert s.counters["requests"] == 230  # the whole 130 is new since the restart
    assert s.figures["req_s"] == 130
    s = acc.add(_reading(counters={"requests": 140}, created={"requests": 2000.0}), 2.0)
    assert s.counters["requests"] == 240


def test_histogram_reset_per_bucket() -> None:
    acc = Accumulator("src", window_s=1.0)
    b = (0.1, 1.0, INF)
    acc.add(_reading(hists={"e2e": Histogram(b, (10, 20, 20), 20, 5.0)}), 0.0)
    s = acc.add(_reading(hists={"e2e": Histogram(b, (1, 4, 4), 4, 1.0)}), 1.0)
    assert s.hists["e2e"] == Histogram(b, (11, 24, 24), 24, 6.0)
    assert s.figures["e2e_mean_s"] == pytest.approx(0.25)
    s = acc.add(_reading(hists={"e2e": Histogram((0.5, INF), (2, 6), 6, 2.0)}), 2.0)
    # new bounds: a restart; its 6 observations come on top of the 24 before
    assert s.hists["e2e"].total == 30 and s.hists["e2e"].bounds == (0.5, INF)
    assert s.hists["e2e"].counts == (2.0, 6.0)  # the buckets start again
    assert s.figures["e2e_p50_s"] is None  # the bounds changed within the window
    assert s.figures["e2e_mean_s"] == pytest.approx(2.0 / 6)


def test_counter_missing_then_back_is_a_reset() -> None:
    acc = Accumulator("src", window_s=1.0)
    acc.add(_reading(counters={"requests": 100, "out_tokens": 10}), 0.0)
    s = acc.add(_reading(counters={"out_tokens": 20}), 1.0)
    assert s.counters["requests"] == 100 and s.figures["req_s"] == 0
    s = acc.add(_reading(counters={"requests": 120, "out_tokens": 30}), 2.0)
    assert s.counters["requests"] == 220


def test_windows_previous_and_history() -> None:
    acc = Accumulator("src", window_s=2.0, keep_s=5.0)
    for t in range(10):
        s = acc.add(_reading(counters={"requests": t * t}), float(t))
    assert s.window_s == 2.0
    assert s.figures["req_s"] == pytest.approx((81 - 49) / 2)
    assert s.previous["req_s"] == pytest.approx((49 - 25) / 2)
    first = Accumulator("src", window_s=5.0)
    s = first.add(_reading(counters={"requests": 1}, gauges={"running": 3}), 0.0)
    assert s.window_s is None and s.figures["req_s"] is None and s.figures["running"] == 3
    s = first.add(_reading(counters={"requests": 5}), 2.0)
    assert s.window_s == 2.0 and s.figures["req_s"] == 2.0  # shorter history
    assert all(v is None for v in s.previous.values())


def test_failed_keeps_the_last_good_sample() -> None:
    acc = Accumulator("http://h/metrics")
    first = acc.failed("cannot connect: refused", 0.0)
    assert first.server == "" and first.mono is None and first.error == "cannot connect: refused"
    assert acc.latest is None
    good = acc.add(_reading(counters={"requests": 4}), 1.0)
    bad = acc.failed("HTTP 503 Service Unavailable", 2.0)
    assert bad.mono == good.mono == 1.0 and bad.counters == good.counters
    assert bad.error == "HTTP 503 Service Unavailable" and acc.latest == good


def test_samples_from_real_expositions_are_json_clean() -> None:
    text = """\
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{le="1.0"} 1
vllm:e2e_request_latency_seconds_bucket{le="+Inf"} 1
vllm:e2e_request_latency_seconds_sum 0.5
vllm:e2e_request_latency_seconds_count 1
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running NaN
"""
    acc = Accumulator("src", window_s=1.0)
    acc.add(recognise(parse(text)), 0.0)
    s = acc.add(recognise(parse(text)), 1.0)
    json.dumps(s.to_dict(), allow_nan=False)  # raises on NaN or inf
    assert WorkloadSample.from_dict(s.to_dict()).hists == s.hists
