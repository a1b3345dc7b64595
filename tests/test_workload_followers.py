"""workload/followers.py: k6 NDJSON and locust CSV followed as they grow.

The files are written here the way the tools write them (k6: one JSON object
a line, a Metric declaration before a metric's first Point; locust: a header,
then a row per request name and an ``Aggregated`` row every second), in
pieces, so the offset, partial-line and restart rules are exercised as a
live run would.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from bisect import bisect_left
from pathlib import Path

import pytest

from numaview.model.workload import Histogram
from numaview.workload import followers
from numaview.workload.followers import (
    BOUNDS_S,
    READ_CAP,
    FollowError,
    K6Follower,
    LocustFollower,
)

# -- k6 ------------------------------------------------------------------------


def metric(name: str, kind: str, contains: str = "default") -> str:
    data: dict[str, object] = {
        "name": name,
        "type": kind,
        "contains": contains,
        "thresholds": [],
        "submetrics": None,
    }
    return json.dumps({"type": "Metric", "data": data, "metric": name}, separators=(",", ":"))


def point(name: str, value: float, status: str = "200", sec: int = 0) -> str:
    data = {
        "time": f"2026-12-02T10:00:{sec % 60:02d}.123456+00:00",
        "value": value,
        "tags": {"method": "POST", "name": "http://127.0.0.1:8000/v1/completions",
                 "status": status, "scenario": "default", "expected_response": "true"},
    }  # fmt: skip
    return json.dumps({"type": "Point", "data": data, "metric": name}, separators=(",", ":"))


def request(duration_ms: float, waiting_ms: float, failed: bool = False) -> list[str]:
    """The lines k6 writes for one HTTP request (and one iteration), in its order."""
    return [
        point("http_reqs", 1),
        point("http_req_duration", duration_ms),
        point("http_req_blocked", 0.01),
        point("http_req_connecting", 0.0),
        point("http_req_sending", 0.02),
        point("http_req_waiting", waiting_ms),
        point("http_req_receiving", duration_ms - waiting_ms),
        point("http_req_failed", 1 if failed else 0, status="500" if failed else "200"),
        point("data_received", 1234),
        point("iteration_duration", duration_ms + 1),
        point("iterations", 1),
    ]


DECLARATIONS = [
    metric("http_reqs", "counter"),
    metric("http_req_duration", "trend", "time"),
    metric("http_req_waiting", "trend", "time"),
    metric("http_req_failed", "rate"),
    metric("vus", "gauge"),
]


def append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def lines(items: list[str]) -> str:
    return "".join(line + "\n" for line in items)


def le(h: Histogram, seconds: float) -> float:
    """Observations ≤ the smallest bound ≥ ``seconds`` (what a quantile reads)."""
    return h.counts[bisect_left(h.bounds, seconds)]


def test_bounds_are_log_spaced_from_a_tenth_ms_to_two_minutes() -> None:
    assert BOUNDS_S[0] == pytest.approx(1e-4)
    assert BOUNDS_S[-1] == math.inf
    finite = BOUNDS_S[:-1]
    assert finite[-1] >= 120.0 > finite[-2]
    ratios = [b / a for a, b in itertools.pairwise(finite)]
    assert all(1.24 < r < 1.26 for r in ratios)


def test_k6_counts_requests_failures_and_latencies(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    body = DECLARATIONS + request(12.0, 10.0) + request(12.0, 9.0) + request(480.0, 300.0, True)
    body += [point("vus", 10), *request(12.5, 11.0)]
    path.write_text(lines(body))
    r = K6Follower(str(path)).read()
    assert r.server == "k6"
    assert r.counters == {"requests": 4.0, "failures": 1.0}
    e2e, ttft = r.hists["e2e"], r.hists["ttft"]
    assert e2e.bounds == BOUNDS_S
    assert e2e.total == 4 and e2e.counts[-1] == 4
    assert e2e.sum == pytest.approx((12 + 12 + 480 + 12.5) / 1000)
    assert le(e2e, 0.0125) == 3  # the three fast ones share the bucket holding 12.5 ms
    assert le(e2e, 0.0095) == 0  # ...and none is below it
    assert le(e2e, 0.48) == 4
    assert e2e.counts[bisect_left(BOUNDS_S, 0.48) - 1] == 3  # 480 ms is above the bound below
    assert list(e2e.counts) == sorted(e2e.counts)  # cumulative
    assert ttft.total == 4
    assert ttft.sum == pytest.approx((10 + 9 + 300 + 11) / 1000)
    assert le(ttft, 0.011) == 3 and le(ttft, 0.3) == 4
    assert set(r.created) == {"requests", "failures", "e2e", "ttft"}


def test_k6_reads_only_what_was_appended_and_waits_for_a_half_line(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(lines(DECLARATIONS))
    f = K6Follower(str(path))
    r0 = f.read()
    assert r0.counters["requests"] == 0 and r0.hists["e2e"].total == 0
    second = request(20.0, 15.0)
    append(path, lines(request(10.0, 5.0)) + second[0][:17])  # the 2nd http_reqs half written
    r1 = f.read()
    assert r1.counters["requests"] == 1
    assert f._tail.offset == path.stat().st_size - 17  # the half line is re-read next time
    append(path, second[0][17:] + "\n" + lines(second[1:]))
    r2 = f.read()
    assert r2.counters["requests"] == 2
    assert r2.hists["e2e"].sum == pytest.approx(0.030)
    assert f.skipped == 0
    r3 = f.read()  # nothing new: the same cumulative values, the same series
    assert r3.counters == r2.counters and r3.hists == r2.hists
    assert r3.created == r0.created


def test_k6_truncated_file_starts_a_new_series(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(lines(DECLARATIONS + request(10, 5) * 3))
    f = K6Follower(str(path))
    before = f.read()
    assert before.counters["requests"] == 3
    path.write_text(lines(request(40, 20)))  # same inode, shorter: the next k6 run
    after = f.read()
    assert after.counters["requests"] == 1
    assert after.hists["e2e"].sum == pytest.approx(0.040)
    assert all(after.created[k] > before.created[k] for k in before.created)


def test_k6_replaced_file_starts_a_new_series_even_when_longer(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(lines(request(10, 5)))
    f = K6Follower(str(path))
    before = f.read()
    new = tmp_path / "k6.json.new"
    new.write_text(lines(DECLARATIONS + request(30, 5) * 2))  # longer than the old file
    os.replace(new, path)
    after = f.read()
    assert after.counters["requests"] == 2  # not 1 + the tail past the old offset
    assert after.hists["e2e"].sum == pytest.approx(0.060)
    assert after.created["requests"] > before.created["requests"]


def test_k6_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    good = request(10, 5)
    bad = [
        "not json at all",
        point("http_reqs", 1)[:40] + point("http_reqs", 1)[80:],  # a piece lost: no JSON
        '{"type":"Point","metric":"http_reqs","data":{"value":"1"}}',  # a string value
        '{"type":"Point","metric":"http_req_duration"}',  # no data
        '{"type":"Point","metric":"http_reqs","data":{"value":true}}',  # a bool is no number
        '{"type":"Point","metric":"http_req_waiting","data":{"value":NaN}}',
    ]
    path.write_text(lines(DECLARATIONS + good[:3] + bad + good[3:]) + "\n\n")
    f = K6Follower(str(path))
    r = f.read()
    assert f.skipped == len(bad)
    assert r.counters["requests"] == 1
    assert r.hists["e2e"].total == 1 and r.hists["ttft"].total == 1


def test_k6_reads_at_most_the_cap_and_continues_next_time(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    one = lines(request(12.0, 8.0))
    n = READ_CAP // len(one) + 2000  # past the cap by ~8 MB
    with open(path, "w") as out:
        out.write(lines(DECLARATIONS))
        out.write(one * n)
    assert path.stat().st_size > READ_CAP
    f = K6Follower(str(path))
    first = f.read()
    assert 0 < f._tail.offset <= READ_CAP
    assert 0 < first.counters["requests"] < n
    second = f.read()
    assert f._tail.offset == path.stat().st_size
    assert second.counters["requests"] == n
    assert second.hists["e2e"].total == n and second.hists["ttft"].total == n
    assert second.created == first.created  # a catch-up, not a new series
    assert f.skipped == 0  # the cut inside a line was left for the second read


def test_a_line_longer_than_the_cap_is_dropped_not_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    path.write_text(lines(request(10, 5)) + "{" + "x" * 5000 + "}\n" + lines(request(20, 5)))
    f = K6Follower(str(path))
    f._tail.cap = 1000
    for _ in range(20):
        r = f.read()
    assert f._tail.offset == path.stat().st_size
    assert r.counters["requests"] == 2
    assert f.skipped == 1


def test_missing_file_raises_follow_error_until_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "later.json"
    f = K6Follower(str(path))
    with pytest.raises(FollowError) as info:
        f.read()
    assert isinstance(info.value, FileNotFoundError)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    path.write_text(lines(request(10, 5)))
    first = f.read()
    assert first.counters["requests"] == 1
    path.unlink()
    with pytest.raises(FollowError):
        f.read()
    path.write_text(lines(request(10, 5) * 2))
    again = f.read()
    assert again.counters["requests"] == 2
    assert again.created["requests"] > first.created["requests"]


def test_a_directory_is_a_follow_error(tmp_path: Path) -> None:
    with pytest.raises(FollowError, match="cannot read"):
        K6Follower(str(tmp_path)).read()
    with pytest.raises(FollowError):
        LocustFollower(str(tmp_path / "none")).read()


# -- locust --------------------------------------------------------------------

HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,"
    "99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Average Response Time,Total Min Response Time,Total Max Response Time,"
    "Total Average Content Size"
)


def history_row(
    ts: int,
    name: str,
    count: int,
    fails: int,
    avg_ms: float,
    p50: str = "120",
    p99: str = "900",
    users: int = 8,
) -> str:
    kind = "" if name == "Aggregated" else "POST"
    pcts = [p50, "150", "170", "180", "300", "500", "700", p99, "950", "960", "980"]
    cells = [str(ts), str(users), kind, name, "4.5", "0.2", *pcts, str(count), str(fails),
             "120", f"{avg_ms:.6f}", "80", "980", "2048"]  # fmt: skip
    return ",".join(cells)


def test_locust_uses_the_newest_aggregated_row(tmp_path: Path) -> None:
    prefix = tmp_path / "run"
    Path(f"{prefix}_stats_history.csv").write_text(
        lines(
            [
                HEADER,
                history_row(1000, "/v1/completions", 10, 1, 100.0),
                history_row(1000, "Aggregated", 10, 1, 100.0),
                history_row(1001, "/v1/completions", 25, 2, 200.0),
                history_row(1001, "Aggregated", 30, 3, 150.0, p50="140", p99="1200"),
            ]
        )
    )
    f = LocustFollower(str(prefix))
    r = f.read()
    assert r.server == "locust"
    assert r.counters["requests"] == 30 and r.counters["failures"] == 3
    assert r.counters["e2e_sum_s"] == pytest.approx(0.150 * 30)
    assert r.counters["e2e_count"] == 30
    assert r.gauges == {"e2e_p50_s": pytest.approx(0.140), "e2e_p99_s": pytest.approx(1.2)}
    assert "running" not in r.gauges
    assert f.skipped == 0


def test_locust_na_percentiles_are_absent(tmp_path: Path) -> None:
    prefix = tmp_path / "run"
    csv_path = Path(f"{prefix}_stats_history.csv")
    csv_path.write_text(lines([HEADER, history_row(1000, "Aggregated", 5, 0, 50.0)]))
    f = LocustFollower(str(prefix))
    assert f.read().gauges["e2e_p50_s"] == pytest.approx(0.120)
    append(csv_path, lines([history_row(1001, "Aggregated", 5, 0, 50.0, p50="N/A", p99="")]))
    r = f.read()
    assert r.gauges == {}  # locust's recent window was empty: no stale percentile kept
    assert r.counters["requests"] == 5


def test_locust_maps_columns_by_name_not_position(tmp_path: Path) -> None:
    prefix = tmp_path / "old"
    # An older layout: other names for the totals, percentiles after them, an extra column.
    header = (
        "Timestamp,User count,Type,Name,# requests,# failures,Requests/s,Requests Failed/s,"
        "Median response time,Average response time,Extra,50%,99%"
    )
    row = "1000,4,,Aggregated,40,4,2.0,0.1,90,250.5,x,95,700"
    Path(f"{prefix}_stats_history.csv").write_text(lines([header, row]))
    r = LocustFollower(str(prefix)).read()
    assert r.counters["requests"] == 40 and r.counters["failures"] == 4
    assert r.counters["e2e_sum_s"] == pytest.approx(0.2505 * 40)
    assert r.gauges["e2e_p50_s"] == pytest.approx(0.095)
    assert r.gauges["e2e_p99_s"] == pytest.approx(0.700)


def test_locust_appends_in_pieces_and_keeps_totals_between_rows(tmp_path: Path) -> None:
    prefix = tmp_path / "run"
    csv_path = Path(f"{prefix}_stats_history.csv")
    csv_path.write_text(HEADER[:30])  # the header itself half written
    f = LocustFollower(str(prefix))
    assert f.read().counters == {}
    agg = history_row(1001, "Aggregated", 12, 0, 80.0)
    append(csv_path, HEADER[30:] + "\n" + lines([history_row(1001, "/a", 12, 0, 80.0)]))
    assert f.read().counters == {}  # no Aggregated row yet
    append(csv_path, agg[:40])
    assert f.read().counters == {}  # the Aggregated row is not complete
    append(csv_path, agg[40:] + "\r\n")  # CRLF, as csv.writer writes it
    r = f.read()
    assert r.counters["requests"] == 12 and r.counters["e2e_sum_s"] == pytest.approx(0.96)
    append(csv_path, lines([history_row(1002, "/a", 20, 0, 80.0)]))
    assert f.read().counters == r.counters  # only a per-name row: the last totals stand
    assert f.skipped == 0


def test_locust_restarted_file_starts_a_new_series(tmp_path: Path) -> None:
    prefix = tmp_path / "run"
    csv_path = Path(f"{prefix}_stats_history.csv")
    csv_path.write_text(lines([HEADER, history_row(1000, "Aggregated", 500, 5, 100.0)]))
    f = LocustFollower(str(prefix))
    before = f.read()
    new = tmp_path / "next.csv"
    header = "Timestamp,Name,Total Request Count,Total Failure Count,Total Average Response Time"
    new.write_text(lines([header, "1,Aggregated,7,0,10"]))  # another layout, shorter file
    os.replace(new, csv_path)
    after = f.read()
    assert after.counters["requests"] == 7  # the new header's columns, from byte 0
    assert after.counters["e2e_sum_s"] == pytest.approx(0.070)
    assert after.gauges == {}
    assert after.created["requests"] > before.created["requests"]
    csv_path.write_text("")  # truncated in place: back to nothing
    empty = f.read()
    assert empty.counters == {}
    assert empty.created["requests"] > after.created["requests"]


def test_locust_malformed_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    prefix = tmp_path / "run"
    Path(f"{prefix}_stats_history.csv").write_text(
        lines(
            [
                "1000,8,,Aggregated,1",  # before any header
                HEADER,
                history_row(1000, "Aggregated", 10, 0, 50.0),
                "1001,8,,Aggregated,4.5,0.2",  # cut short
                history_row(1001, "Aggregated", 10, 0, 50.0) + ",surplus",
                history_row(1001, "Aggregated", 10, 0, 50.0).replace(",10,0,", ",ten,0,"),
                history_row(1002, '"POST /a,b"', 99, 0, 50.0),  # a quoted comma is fine
                '1003,8,POST,"unterminated',
            ]
        )
    )
    f = LocustFollower(str(prefix))
    r = f.read()
    assert f.skipped == 5
    assert r.counters["requests"] == 10


def test_locust_missing_file_raises_follow_error(tmp_path: Path) -> None:
    f = LocustFollower(str(tmp_path / "nothing"))
    with pytest.raises(FollowError, match=r"nothing_stats_history\.csv"):
        f.read()
    assert f.path.endswith("nothing_stats_history.csv")


def test_created_stamps_always_move_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "numaview.workload.followers.time.time", lambda: 5.0
    )  # a coarse or stepped clock
    first = followers._new_created()
    assert followers._new_created(first) > first


def test_a_value_on_a_bound_is_counted_in_that_bound() -> None:
    b = followers._Buckets()
    on, above = BOUNDS_S[20], BOUNDS_S[20] * 1.01
    b.observe(on)
    b.observe(above)
    h = b.histogram()
    assert h.counts[20] == 1  # Prometheus ``le``: ≤ the bound
    assert h.counts[21] == 2 and h.counts[19] == 0
    assert h.total == 2 and h.sum == pytest.approx(on + above)
