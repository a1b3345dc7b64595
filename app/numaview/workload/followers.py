"""A load generator's output file, followed live like ``tail -F``, as ``Reading``s.

When the server under load has no metrics endpoint (or the user trusts the
client's view of latency more), the load generator itself is the source:
k6 with ``--out json=FILE`` appends one JSON object a line for every
sample, locust with ``--csv PREFIX`` appends one row a second per request
name to ``PREFIX_stats_history.csv``. Both files only grow while a test
runs, so each ``read()`` picks up where the last one stopped:

- the byte offset of the last complete line is kept; a line still being
  written (no newline yet) is left for the next call;
- at most ``READ_CAP`` bytes are taken per call, so a large backlog (numaview
  started late in a long run) is caught up over several ticks instead of
  stalling one; the totals are then exact but arrive late;
- a file that shrank or was replaced (another inode: the next run) starts
  over from byte 0 with a new ``created``: the totals are a fresh series, and
  the accumulator must treat the drop as a reset, not as negative traffic.
  Like ``tail -F``, a truncation that regrows past the old offset between two
  reads cannot be told from growth.

The values are cumulative since following started (the file's beginning),
as a Prometheus counter's would be, so the accumulator treats every source
alike.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import time
from bisect import bisect_left
from itertools import accumulate
from typing import Any

from numaview.model.workload import Histogram, Reading

READ_CAP = 16 << 20  # bytes per read(): ~50k k6 points, a few ticks' worth of a busy run


class FollowError(FileNotFoundError):
    """The followed file cannot be read (missing, unreadable, a directory); one line.

    A FileNotFoundError so callers that treat "not there yet" specially (the
    load test has not started writing) can catch it as such.
    """


def _log_bounds(lo: float = 1e-4, hi: float = 120.0, factor: float = 1.25) -> tuple[float, ...]:
    """Bucket bounds in seconds, ``lo`` × factor^i up to the first ≥ ``hi``, then +Inf.

    k6 gives every request's latency, not buckets, so numaview chooses them:
    a constant ratio keeps a quantile's error under ±12 % from a 0.1 ms cache
    hit to a two-minute generation. Rounded to 4 digits so the bounds read
    cleanly in a recording.
    """
    out: list[float] = []
    i = 0
    while not out or out[-1] < hi:
        out.append(float(f"{lo * factor**i:.4g}"))
        i += 1
    return (*out, math.inf)


BOUNDS_S = _log_bounds()


def _new_created(previous: float | None = None) -> float:
    """A series start stamp (wall clock), strictly after ``previous`` so a reset always shows."""
    now = time.time()
    return now if previous is None or now > previous else previous + 1e-6


class _Tail:
    """The complete lines appended to one file since the last call."""

    def __init__(self, path: str, cap: int = READ_CAP) -> None:
        self.path = path
        self.cap = cap
        self.offset = 0  # just after the last complete line taken
        self.dropped = 0  # lines longer than ``cap``: skipped whole
        self._ident: tuple[int, int] | None = None  # (st_dev, st_ino) of the file read
        self._in_long_line = False  # the offset is inside a dropped over-long line

    def read(self) -> tuple[list[bytes], bool]:
        """(new complete lines, whether the file started over since the last call)."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if self._ident is not None:
                # Whatever appears next is another file, even if it reuses the inode.
                self._ident = (-1, -1)
            raise FollowError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        try:
            st = os.fstat(fd)
            ident = (st.st_dev, st.st_ino)
            restarted = False
            if ident != self._ident or st.st_size < self.offset:
                restarted = self._ident is not None  # the first open is no restart
                self._ident, self.offset, self._in_long_line = ident, 0, False
            data = self._take(fd)
        except OSError as exc:
            raise FollowError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        finally:
            os.close(fd)
        end = data.rfind(b"\n")
        if end < 0:
            if len(data) >= self.cap:  # one line over the cap: never wait for it whole
                if not self._in_long_line:
                    self.dropped += 1
                self._in_long_line = True
                self.offset += len(data)
            return [], restarted
        self.offset += end + 1
        lines = data[:end].split(b"\n")
        if self._in_long_line:  # the first "line" is the dropped line's tail
            lines = lines[1:]
            self._in_long_line = False
        return lines, restarted

    def _take(self, fd: int) -> bytes:
        chunks: list[bytes] = []
        got = 0
        while got < self.cap:
            b = os.pread(fd, min(self.cap - got, 1 << 20), self.offset + got)
            if not b:
                break
            chunks.append(b)
            got += len(b)
        return b"".join(chunks)


class _Buckets:
    """Raw observations folded into ``BOUNDS_S`` buckets, with their sum and count."""

    def __init__(self) -> None:
        self.per_bucket = [0] * len(BOUNDS_S)
        self.total = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        self.per_bucket[bisect_left(BOUNDS_S, seconds)] += 1  # le: a value on a bound is in it
        self.total += 1
        self.sum += seconds

    def histogram(self) -> Histogram:
        counts = tuple(float(c) for c in accumulate(self.per_bucket))
        return Histogram(BOUNDS_S, counts, float(self.total), self.sum)


# k6's names for what numaview shows; the quoted forms pick candidate lines cheaply.
K6_REQS, K6_FAILED = "http_reqs", "http_req_failed"
K6_DURATION, K6_WAITING = "http_req_duration", "http_req_waiting"
_K6_PICK = re.compile(
    "|".join(f'"{n}"' for n in (K6_REQS, K6_FAILED, K6_DURATION, K6_WAITING)).encode()
)
_JSON = json.JSONDecoder()  # decode() on str: json.loads would sniff each line's encoding


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    f = float(v)
    return f if math.isfinite(f) else None


class _Follower:
    """What both followers share: the tail of one file, and the lines they could not use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._tail = _Tail(path)
        self._bad = 0
        self._created: float | None = None
        self._start_series()

    @property
    def skipped(self) -> int:
        """Malformed lines skipped so far (and over-long ones), over every series."""
        return self._bad + self._tail.dropped

    def _start_series(self) -> None:
        raise NotImplementedError


class K6Follower(_Follower):
    """k6's ``--out json=FILE`` NDJSON, as requests, failures and two latency histograms.

    - ``requests``: the sum of ``http_reqs`` points (each is 1: one request);
    - ``failures``: ``http_req_failed`` points of value 1 (k6's rate metric:
      0 for a request that met ``expected_response``, 1 for one that did not);
    - ``hists["e2e"]``: ``http_req_duration`` (ms in the file, seconds here):
      sending, waiting and receiving, the whole request as the client saw it;
    - ``hists["ttft"]``: ``http_req_waiting``, the time to the first response
      byte; for a streaming LLM endpoint the first byte is the first token.

    Only lines naming one of those four metrics are decoded (k6 writes a
    dozen metrics per request; the rest are not worth decoding). A
    line that is not a JSON object, or one of ours that does not decode to a
    Point with a numeric value, is skipped and counted in ``skipped``.
    """

    server = "k6"

    def _start_series(self) -> None:
        self.requests = 0.0
        self.failures = 0.0
        self.e2e = _Buckets()
        self.ttft = _Buckets()
        self._created = _new_created(self._created)

    def read(self) -> Reading:
        """Take the lines appended since the last call; FollowError if the file cannot be read."""
        lines, restarted = self._tail.read()
        if restarted:
            self._start_series()
        for line in lines:
            self._line(line)
        c = self._created
        assert c is not None
        return Reading(
            server=self.server,
            counters={"requests": self.requests, "failures": self.failures},
            hists={"e2e": self.e2e.histogram(), "ttft": self.ttft.histogram()},
            created={"requests": c, "failures": c, "e2e": c, "ttft": c},
        )

    def _line(self, raw: bytes) -> None:
        line = raw.strip()
        if not line:
            return
        if not (line.startswith(b"{") and line.endswith(b"}")):
            self._bad += 1
            return
        if _K6_PICK.search(line) is None:
            return  # another metric's line: not decoded (see the class docstring)
        try:
            obj = _JSON.decode(line.decode())
        except ValueError:  # JSONDecodeError and bad UTF-8 both
            self._bad += 1
            return
        if not isinstance(obj, dict):
            self._bad += 1
            return
        if obj.get("type") != "Point":
            return  # a "Metric" declaration: names the metric, carries no sample
        data = obj.get("data")
        value = _number(data.get("value")) if isinstance(data, dict) else None
        metric = obj.get("metric")
        if value is None or not isinstance(metric, str):
            self._bad += 1
            return
        if metric == K6_REQS:
            self.requests += value
        elif metric == K6_FAILED:
            if value >= 1:
                self.failures += 1
        elif metric == K6_DURATION:
            self.e2e.observe(max(value, 0.0) / 1000.0)
        elif metric == K6_WAITING:
            self.ttft.observe(max(value, 0.0) / 1000.0)


# locust's column names, lower-cased, newest first; older releases named some
# differently, so columns are found by name (never by position).
_LOCUST_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "requests": ("total request count", "# requests", "request count"),
    "failures": ("total failure count", "# failures", "failure count"),
    "average_ms": ("total average response time", "average response time"),
    "p50_ms": ("50%",),
    "p99_ms": ("99%",),
}


def _cell(row: list[str], at: int | None) -> float | None:
    """A numeric cell in milliseconds or a count; "N/A", empty or absent → None."""
    if at is None or at >= len(row):
        return None
    try:
        f = float(row[at])
    except ValueError:
        return None
    return f if math.isfinite(f) else None


class LocustFollower(_Follower):
    """locust's ``PREFIX_stats_history.csv``, its ``Aggregated`` rows, as totals and percentiles.

    locust rewrites nothing: once a second it appends a row per request name
    and one named ``Aggregated`` for all of them, each carrying running
    totals. The newest ``Aggregated`` row is the reading:

    - ``requests``, ``failures``: Total Request Count, Total Failure Count;
    - ``e2e_sum_s``, ``e2e_count``: the average response time × the count,
      the (sum, count) pair a mean over any window is derived from;
    - gauges ``e2e_p50_s``, ``e2e_p99_s``: the ``50%`` and ``99%`` columns,
      which locust computes over its last few seconds (not the whole run);
      "N/A" (no request in that window) leaves them out.

    The user count is not reported as ``running``: users are locust's
    concurrency, not requests in flight at the server. Rows that do not fit
    the header are skipped and counted in ``skipped``.
    """

    server = "locust"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        super().__init__(f"{prefix}_stats_history.csv")

    def _start_series(self) -> None:
        self._header: list[str] | None = None
        self._at: dict[str, int | None] = {}
        self.counters: dict[str, float] = {}
        self.gauges: dict[str, float] = {}
        self._created = _new_created(self._created)

    def read(self) -> Reading:
        """Take the rows appended since the last call; FollowError if the file cannot be read."""
        lines, restarted = self._tail.read()
        if restarted:
            self._start_series()
        newest: list[str] | None = None
        for raw in lines:
            if not raw.strip():
                continue
            # One reader per line: an unbalanced quote must not swallow the rows after it.
            text = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            row = next(csv.reader([text]), [])
            if row and row[0].strip().lower() == "timestamp":
                self._use_header(row)
            elif self._header is None or len(row) != len(self._header):
                self._bad += 1  # before any header, or cut / run together
            elif self._is_aggregated(row):
                if _cell(row, self._at["requests"]) is None:
                    self._bad += 1
                else:
                    newest = row
        if newest is not None:
            self._take(newest)
        c = self._created
        assert c is not None
        return Reading(
            server=self.server,
            counters=dict(self.counters),
            gauges=dict(self.gauges),
            created=dict.fromkeys(("requests", "failures", "e2e_sum_s", "e2e_count"), c),
        )

    def _use_header(self, row: list[str]) -> None:
        names = [h.strip().lower() for h in row]
        self._header = names
        self._at = {
            key: next((names.index(a) for a in aliases if a in names), None)
            for key, aliases in _LOCUST_COLUMNS.items()
        }

    def _is_aggregated(self, row: list[str]) -> bool:
        at = self._at.get("name")
        return at is not None and row[at].strip() == "Aggregated"

    def _take(self, row: list[str]) -> None:
        at = self._at
        requests = _cell(row, at["requests"])
        assert requests is not None
        counters = {"requests": requests}
        failures = _cell(row, at["failures"])
        if failures is not None:
            counters["failures"] = failures
        average = _cell(row, at["average_ms"])
        if average is not None:
            counters["e2e_sum_s"] = average / 1000.0 * requests
            counters["e2e_count"] = requests
        self.counters = counters
        gauges: dict[str, float] = {}
        for key, gauge in (("p50_ms", "e2e_p50_s"), ("p99_ms", "e2e_p99_s")):
            ms = _cell(row, at[key])
            if ms is not None:
                gauges[gauge] = ms / 1000.0
        self.gauges = gauges
