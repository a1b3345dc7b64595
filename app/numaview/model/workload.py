"""The load test's figures as data: what a workload source measured, and before/after a pin.

A workload source is a server's Prometheus endpoint (vLLM, SGLang, TGI,
llama.cpp, Triton, or any endpoint with a named counter and histogram) or a
load generator's output that is followed live (k6 NDJSON, locust CSV).

- ``Reading``: one raw read of a source, cumulative values exactly as the
  source reported them (they go back to 0 when the server restarts).
- ``WorkloadSample``: what the sampling side keeps of a source at one moment:
  reset-corrected running totals (``counters``, ``hists``), the current
  ``gauges``, and the ``figures`` derived over the window ending then (with the
  window before it in ``previous``, to colour a rise or a fall). Every frame
  carries its sources' latest samples, so recording and replay get them too.
- ``Comparison``: each figure over a window before a pin against a window
  after it (after a settle time), and whether the change is beyond the noise.

Units are normalised: latencies in seconds, rates per second.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

# Counter names (running totals; reset-corrected in a WorkloadSample).
COUNTERS = (
    "out_tokens",  # generated tokens
    "prompt_tokens",  # prompt (prefill) tokens
    "requests",  # finished requests
    "failures",  # failed requests (load generators)
    # latency as a (sum, count) pair when there is no histogram (Triton, TGI sums)
    "ttft_sum_s",
    "ttft_count",
    "itl_sum_s",
    "itl_count",
    "e2e_sum_s",
    "e2e_count",
)
LATENCIES = ("ttft", "itl", "e2e")  # histogram names (and prefixes of their figures)
GAUGES = ("waiting", "running")  # plus direct percentiles from summaries / locust:
# "<latency>_p50_s", "<latency>_p99_s" (a summary's quantiles, locust's current window)


@dataclass(frozen=True, slots=True)
class FigureSpec:
    name: str
    label: str  # what the strip and tables call it
    unit: str  # "tok/s", "req/s", "s", "" (a count)
    higher_is_better: bool


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("out_tok_s", "out", "tok/s", True),
    FigureSpec("prompt_tok_s", "prompt", "tok/s", True),
    FigureSpec("req_s", "req", "req/s", True),
    FigureSpec("fail_s", "fail", "req/s", False),
    FigureSpec("ttft_p50_s", "TTFT p50", "s", False),
    FigureSpec("ttft_p99_s", "TTFT p99", "s", False),
    FigureSpec("ttft_mean_s", "TTFT mean", "s", False),
    FigureSpec("itl_p50_s", "ITL p50", "s", False),
    FigureSpec("itl_p99_s", "ITL p99", "s", False),
    FigureSpec("itl_mean_s", "ITL mean", "s", False),
    FigureSpec("e2e_p50_s", "E2E p50", "s", False),
    FigureSpec("e2e_p99_s", "E2E p99", "s", False),
    FigureSpec("e2e_mean_s", "E2E mean", "s", False),
    FigureSpec("waiting", "queue", "", False),
    FigureSpec("running", "running", "", True),
)
FIGURE_BY_NAME = {f.name: f for f in FIGURES}


@dataclass(frozen=True, slots=True)
class Histogram:
    """Cumulative buckets (Prometheus ``le`` semantics): counts[i] = observations ≤ bounds[i].

    ``bounds`` ascend; the last is +inf when the source has a ``+Inf`` bucket.
    ``total`` is the ``_count`` (may exceed the last finite bucket), ``sum`` in
    seconds.
    """

    bounds: tuple[float, ...]
    counts: tuple[float, ...]
    total: float | None = None
    sum: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bounds": [b if math.isfinite(b) else "+Inf" for b in self.bounds],
            "counts": list(self.counts),
            "total": self.total,
            "sum": self.sum,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Histogram:
        return cls(
            tuple(math.inf if b == "+Inf" else float(b) for b in d["bounds"]),
            tuple(float(c) for c in d["counts"]),
            None if d.get("total") is None else float(d["total"]),
            None if d.get("sum") is None else float(d["sum"]),
        )


@dataclass(frozen=True, slots=True)
class Reading:
    """One raw read of a source: cumulative values as reported (they reset on restart).

    ``created``: a series' ``_created`` timestamp by counter/histogram name
    (OpenMetrics); a changed one means the series restarted even when its
    value did not go down.
    """

    server: str  # vllm, sglang, tgi, llamacpp, triton, custom, k6, locust, demo
    counters: Mapping[str, float] = field(default_factory=dict)
    hists: Mapping[str, Histogram] = field(default_factory=dict)
    gauges: Mapping[str, float] = field(default_factory=dict)
    created: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkloadSample:
    source: str  # the URL or file as the user gave it
    server: str  # what it was recognised as (see Reading.server); "" before the first read
    mono: float | None  # when it was read (the sampler's monotonic clock); None: never
    pid: int | None = None  # the server's process (listening on the URL's port), when found
    counters: Mapping[str, float] = field(default_factory=dict)  # reset-corrected totals
    hists: Mapping[str, Histogram] = field(default_factory=dict)  # reset-corrected
    gauges: Mapping[str, float] = field(default_factory=dict)
    figures: Mapping[str, float | None] = field(default_factory=dict)  # over the window
    previous: Mapping[str, float | None] = field(default_factory=dict)  # the window before
    window_s: float | None = None  # what ``figures`` cover
    stale: bool = False  # the newest read is older than the source's timeout allows
    error: str | None = None  # why the last read failed (one line), None: it worked

    @property
    def label(self) -> str:
        return self.server or self.source

    @property
    def serves(self) -> str:
        """How findings and the process table name the server: ``vllm :8001``."""
        try:
            port = urlsplit(self.source).port
        except ValueError:
            port = None
        name = self.server or "server"
        return f"{name} :{port}" if port is not None else name

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["counters"] = dict(self.counters)
        d["hists"] = {k: h.to_dict() for k, h in self.hists.items()}
        d["gauges"] = dict(self.gauges)
        d["figures"] = dict(self.figures)
        d["previous"] = dict(self.previous)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> WorkloadSample:
        names = {f.name for f in fields(cls)}
        v = {k: x for k, x in d.items() if k in names}
        v["hists"] = {k: Histogram.from_dict(h) for k, h in (d.get("hists") or {}).items()}
        for k in ("counters", "gauges", "figures", "previous"):
            v[k] = dict(d.get(k) or {})
        return cls(**v)


def served_by_pid(samples: tuple[WorkloadSample, ...]) -> dict[int, str]:
    """pid -> what it serves, for the sources whose server process was found."""
    return {s.pid: s.serves for s in samples if s.pid is not None}


@dataclass(frozen=True, slots=True)
class FigureChange:
    figure: str  # a FIGURES name
    before: float | None
    after: float | None
    change_pct: float | None  # (after - before) / before × 100
    beyond_noise: bool | None  # None: too few samples to say
    better: bool | None  # by the figure's direction; None when unchanged or unknown


@dataclass(frozen=True, slots=True)
class Comparison:
    """A source's figures before a pin against after it (see workload/compare.py)."""

    source: str
    server: str
    pin_text: str  # the pin's one-line summary
    pin_mono: float
    before: tuple[float, float]  # the windows (monotonic clock)
    after: tuple[float, float]
    changes: tuple[FigureChange, ...]
    samples_before: int
    samples_after: int
    event_id: int | None = None  # the pin's event in the Monitor (or recording)

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["before"], d["after"] = list(self.before), list(self.after)
        d["changes"] = [{f.name: getattr(c, f.name) for f in fields(c)} for c in self.changes]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Comparison:
        v = dict(d)
        v["before"], v["after"] = tuple(d["before"]), tuple(d["after"])
        v["changes"] = tuple(FigureChange(**c) for c in d["changes"])
        return cls(**v)


@dataclass(frozen=True, slots=True)
class Measuring:
    """A comparison still waiting for its after-window (shown as a countdown)."""

    pin_text: str
    pin_mono: float
    ready_mono: float  # when the after-window closes
