"""Only the metrics a profile reads are parsed: the same Reading, for a fraction of the work."""

from __future__ import annotations

import pytest

from numaview.workload.expo import keep_lines, parse
from numaview.workload.profiles import CustomMetrics, recognise, wanted_prefixes
from tests.test_workload_expo import OPENMETRICS, TGI, TRITON, UNKNOWN, VLLM

NOISE = "".join(
    f"# HELP python_gc_objects_collected_total Objects collected\n"
    f"# TYPE python_gc_objects_collected_total counter\n"
    f'python_gc_objects_collected_total{{generation="{g}"}} {g * 100}.0\n'
    f'http_requests_total{{handler="/v1/completions",code="200",n="{g}"}} 42.0\n'
    for g in range(300)
)


@pytest.mark.parametrize("page", [VLLM, TGI, TRITON])
def test_the_filtered_page_gives_the_same_reading(page: str) -> None:
    full = NOISE + page
    kept = keep_lines(full, wanted_prefixes())
    assert "python_gc" not in kept and "http_requests_total" not in kept
    assert len(kept) < len(full) / 5
    assert recognise(parse(kept)) == recognise(parse(full))


def test_openmetrics_keeps_its_eof_and_custom_names_are_kept() -> None:
    custom = CustomMetrics(throughput="myapp_requests_total", latency="myapp_latency_seconds")
    kept = keep_lines(NOISE + UNKNOWN, wanted_prefixes(custom))
    assert recognise(parse(kept), custom) == recognise(parse(NOISE + UNKNOWN), custom)
    om = keep_lines(OPENMETRICS, wanted_prefixes())
    assert om.rstrip().endswith("# EOF")


def test_nothing_wanted_gives_empty_so_the_whole_page_is_judged() -> None:
    assert keep_lines(NOISE, wanted_prefixes()) == ""
    assert keep_lines("<html>oops</html>\n", wanted_prefixes()) == ""
