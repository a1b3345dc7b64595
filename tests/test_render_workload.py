"""The load test's figures as text: units, the load strip, the before/after table, the series."""

from __future__ import annotations

import pytest

from numaview.model.frame import CPU_METRICS, CpuTable, Frame, SystemSample
from numaview.model.workload import Comparison, FigureChange, WorkloadSample
from numaview.render import history
from numaview.render.units import count, duration, throughput
from numaview.render.workload import (
    comparison_rows,
    comparison_text,
    distinct_labels,
    figure_value,
    fit_parts,
    strip_parts,
    strip_text,
    trend,
)
from numaview.tui.widgets.chartmodel import Palette, load_charts, nice_ceiling

URL = "http://127.0.0.1:8000/metrics"


def vllm(**kw: object) -> WorkloadSample:
    base: dict[str, object] = {
        "source": URL,
        "server": "vllm",
        "mono": 100.0,
        "pid": 4121,
        "figures": {
            "out_tok_s": 1234.0,
            "req_s": 8.2,
            "ttft_p99_s": 0.48,
            "itl_p99_s": 0.035,
            "e2e_p99_s": 2.5,
            "waiting": 3.0,
        },
        "previous": {
            "out_tok_s": 1000.0,
            "req_s": 8.0,
            "ttft_p99_s": 0.60,
            "itl_p99_s": 0.030,
            "waiting": 3.0,
        },
    }
    base.update(kw)
    return WorkloadSample(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.48, "480 ms"),
        (0.035, "35 ms"),
        (1.2, "1.2 s"),
        (0.00085, "850 µs"),
        (0.0035, "3.5 ms"),
        (0.9996, "1.0 s"),
        (42.0, "42 s"),
        (0.0, "0 ms"),
        (None, "–"),
        (float("nan"), "–"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("v", "text"),
    [
        (8.2, "8.2"),
        (45.34, "45.3"),
        (123.4, "123"),
        (1234.0, "1,234"),
        (12345.0, "12,345"),
        (123_456.0, "123k"),
        (1_234_567.0, "1.2M"),
        (None, "–"),
    ],
)
def test_throughput(v: float | None, text: str) -> None:
    assert throughput(v) == text
    if v is not None:
        assert throughput(v, "tok/s") == f"{text} tok/s"


def test_count_and_figure_value_by_unit() -> None:
    assert (count(3.0), count(2.5), count(None)) == ("3", "2.5", "–")
    assert figure_value("out_tok_s", 1234.0) == "1,234 tok/s"
    assert figure_value("req_s", 8.2) == "8.2 req/s"
    assert figure_value("ttft_p99_s", 0.48) == "480 ms"
    assert figure_value("waiting", 3.0) == "3"
    assert figure_value("itl_p99_s", None) == "–"


def test_strip_text_is_the_documented_line_and_skips_e2e_when_ttft_is_there() -> None:
    text = strip_text(vllm())
    assert text == (
        "vllm · pid 4121 · 1,234 tok/s · 8.2 req/s · TTFT p99 480 ms · ITL p99 35 ms · queue 3"
    )


def test_strip_tags_follow_direction_and_the_five_percent_rule() -> None:
    tags = dict(strip_parts(vllm()))
    assert tags["vllm"] == "plain" and tags["pid 4121"] == "plain"
    assert tags["1,234 tok/s"] == "up-good"  # +23 %, higher is better
    assert tags["8.2 req/s"] == "same"  # +2.5 %
    assert tags["TTFT p99 480 ms"] == "down-good"  # -20 %, lower is better
    assert tags["ITL p99 35 ms"] == "up-bad"  # +17 %, lower is better
    assert tags["queue 3"] == "same"
    assert trend("out_tok_s", 800.0, 1000.0) == "down-bad"
    assert trend("out_tok_s", 5.0, None) == "plain"
    assert trend("waiting", 2.0, 0.0) == "up-bad" and trend("waiting", 0.0, 0.0) == "same"


def test_strip_without_pid_server_ttft_shows_source_and_e2e() -> None:
    s = WorkloadSample(
        source="k6.ndjson",
        server="",
        mono=5.0,
        figures={"req_s": 40.0, "e2e_p99_s": 0.9, "ttft_p99_s": None},
    )
    assert strip_text(s) == "k6.ndjson · 40.0 req/s · E2E p99 900 ms"
    assert all(tag == "plain" for _, tag in strip_parts(s))  # no window before


def test_stale_and_error() -> None:
    s = vllm(stale=True, error="connection refused\nmore")
    parts = strip_parts(s, now=112.4)
    assert parts[-2] == ("stale 12s", "stale")
    assert parts[-1] == ("connection refused", "error")
    assert {tag for _, tag in parts[2:-2]} == {"stale"}  # old figures: no trend colours
    assert strip_parts(vllm(stale=True))[-1] == ("stale", "stale")
    fresh = vllm(error="timeout")
    assert strip_parts(fresh)[-1] == ("timeout", "error") and "stale" not in strip_text(fresh)
    never = WorkloadSample(URL, "", None)
    assert strip_text(never) == f"{URL} · waiting for the first read"


def test_fit_parts_drops_pid_first_then_figures_from_the_end_keeps_stale() -> None:
    parts = strip_parts(vllm(stale=True), now=110.0)
    full = " · ".join(t for t, _ in parts)
    kept = fit_parts(parts, 60)
    text = " · ".join(t for t, _ in kept)
    assert len(full) > 60 >= len(text)
    assert text.startswith("vllm · 1,234 tok/s") and text.endswith("stale 10s")
    assert "pid" not in text and "queue" not in text
    assert fit_parts(parts, 5)[0] == ("vllm", "plain")  # the name always stays


def comparison() -> Comparison:
    return Comparison(
        source=URL,
        server="vllm",
        pin_text="pinned llama-server (4121) to node 0",
        pin_mono=100.0,
        before=(70.0, 100.0),
        after=(105.0, 135.0),
        changes=(
            FigureChange("out_tok_s", 1000.0, 1123.0, 12.3, True, True),
            FigureChange("ttft_p99_s", 0.5, 0.52, 4.0, False, None),
            FigureChange("itl_p99_s", 0.030, 0.040, 33.3, True, False),
            FigureChange("waiting", None, None, None, None, None),
        ),
        samples_before=30,
        samples_after=29,
    )


def test_comparison_rows() -> None:
    assert comparison_rows(comparison()) == [
        ("out", "1,000 tok/s", "1,123 tok/s", "+12.3 %", "better"),
        ("TTFT p99", "500 ms", "520 ms", "+4.0 %", "noise"),
        ("ITL p99", "30 ms", "40 ms", "+33.3 %", "worse"),
        ("queue", "–", "–", "–", "–"),
    ]


def test_comparison_text_is_a_table_with_the_windows() -> None:
    lines = comparison_text(comparison()).split("\n")
    assert lines[0] == "vllm: pinned llama-server (4121) to node 0"
    assert lines[1] == "before 30 s (30 samples) · after 30 s (29 samples), from 5 s after the pin"
    assert lines[2].split() == ["FIGURE", "BEFORE", "AFTER", "CHANGE", "VERDICT"]
    assert lines[3].split() == ["out", "1,000", "tok/s", "1,123", "tok/s", "+12.3", "%", "better"]
    # columns line up: every change ends in the same column
    ends = {ln.index("%") for ln in lines[3:6]}
    assert len(ends) == 1
    empty = Comparison(URL, "", "pin", 1.0, (0.0, 1.0), (2.0, 3.0), (), 0, 0)
    assert comparison_text(empty).endswith("no figures to compare")


def test_labels_that_repeat_get_their_place() -> None:
    labels = {
        "http://10.0.0.5:8001/metrics": "vllm",
        "http://10.0.0.5:8002/metrics": "vllm",
        "http://gpu-box/metrics": "tgi",
        "/tmp/run/k6.ndjson": "k6",
        "/tmp/other/k6.ndjson": "k6",
        "locust.csv": "locust.csv",
    }
    assert distinct_labels(labels) == {
        "http://10.0.0.5:8001/metrics": "vllm :8001",
        "http://10.0.0.5:8002/metrics": "vllm :8002",
        "http://gpu-box/metrics": "tgi",
        "/tmp/run/k6.ndjson": "k6 k6.ndjson",
        "/tmp/other/k6.ndjson": "k6 k6.ndjson",
        "locust.csv": "locust.csv",
    }
    assert strip_parts(vllm(), label="vllm :8001")[0] == ("vllm :8001", "plain")


# -- series and charts --------------------------------------------------------------


def frame(mono: float, *workload: WorkloadSample) -> Frame:
    table = CpuTable.build([0], [True], {m: [10.0] for m in CPU_METRICS})
    return Frame(
        time=mono, mono=mono, interval_s=1.0, cpus=table, nodes=(), system=SystemSample(),
        processes=(), seq=int(mono), workload=workload,
    )  # fmt: skip


def sample(source: str, mono: float, **figures: float | None) -> WorkloadSample:
    return WorkloadSample(source, source.split(":")[0], mono, figures=figures)


def test_workload_series_prefers_tokens_falls_back_to_requests_and_keeps_gaps() -> None:
    frames = [
        frame(0.0, sample("vllm:1", 0.0, out_tok_s=100.0, req_s=1.0)),
        frame(1.0, sample("vllm:1", 1.0, out_tok_s=120.0), sample("k6:2", 1.0, req_s=5.0)),
        frame(2.0, sample("k6:2", 2.0, req_s=6.0)),
    ]
    xs, cols, used = history.workload_series(frames, history.THROUGHPUT_FIGURES, 300.0)
    assert xs == [-2.0, -1.0, 0.0]
    assert used == {"vllm:1": "out_tok_s", "k6:2": "req_s"}
    assert cols == {"vllm:1": [100.0, 120.0, None], "k6:2": [None, 5.0, 6.0]}
    assert history.workload_sources(frames) == {"vllm:1": "vllm", "k6:2": "k6"}
    _, cols, used = history.workload_series(frames, history.LATENCY_FIGURES, 300.0)
    assert cols == {} and used == {}


def test_load_charts_only_with_workload_and_latency_in_ms() -> None:
    assert load_charts([frame(0.0), frame(1.0)], 300.0, Palette()) == []
    frames = [
        frame(float(i), sample("vllm:1", float(i), out_tok_s=900.0 + i, ttft_p99_s=0.4))
        for i in range(5)
    ]
    frames += [frame(5.0, sample("vllm:1", 5.0, out_tok_s=1300.0, ttft_p99_s=0.45))]
    charts = load_charts(frames, 300.0, Palette())
    assert [c.title for c in charts] == ["output tokens/s", "TTFT p99 latency, ms"]
    assert charts[0].ylim == (0.0, 1500.0) and charts[1].ylim == (0.0, 500.0)
    assert charts[1].lines[0].ys[-1] == pytest.approx(450.0)
    assert nice_ceiling(0.0) == 1.0 and nice_ceiling(2.1) == 3.0 and nice_ceiling(100.0) == 100.0


def test_strip_shows_a_latency_mean_where_the_source_has_no_percentiles() -> None:
    llama = WorkloadSample(
        "http://127.0.0.1:8080/metrics",
        "llamacpp",
        10.0,
        pid=4121,
        figures={"out_tok_s": 164.0, "itl_mean_s": 0.0286, "waiting": 1.0},
    )
    assert strip_text(llama) == "llamacpp · pid 4121 · 164 tok/s · ITL mean 29 ms · queue 1"
