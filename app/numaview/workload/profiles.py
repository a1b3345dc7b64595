"""Which server an endpoint is, from its metric names, and its figures as a ``Reading``.

A server is recognised by its metric prefix (``vllm:``, ``sglang:``,
``llamacpp:``, ``tgi_``, ``nv_inference_``) and one of its known metrics being
mentioned (a labelled metric may show only its HELP/TYPE lines until the first
request; that is still the server, with nothing to read yet). Every metric is
summed over its label sets (one per model, engine, version; see expo.py).
Units are normalised here: seconds, and counts that become per-second rates.

Decisions worth knowing:

- SGLang's ``sglang:generation_tokens_total`` moves only when a request
  finishes, so ``sglang:realtime_tokens_total`` is preferred when it is there:
  its ``mode="decode"`` series are ``out_tokens`` and its ``mode="prefill_*"``
  series (``prefill_compute`` and ``prefill_cache``) are ``prompt_tokens``, so
  that, like ``sglang:prompt_tokens_total``, prompt tokens include cache hits.
  A series with a non-empty ``priority`` label is dropped where an aggregate
  (``priority=""``) series exists, so no request counts twice.
- TGI's ``tgi_request_queue_duration`` is time in the queue, not time to first
  token: TGI has no TTFT here.
- llama.cpp's ``*_seconds`` averaging gauges reset on every scrape and are
  ignored; its cumulative ``tokens_predicted_seconds_total`` over
  ``tokens_predicted_total`` is the mean inter-token latency. It has no
  request counter, so no req/s.
- Triton's ``nv_inference_request_duration_us`` is a cumulative µs counter:
  with ``nv_inference_request_success`` as its count it gives the mean E2E.
- Custom names (``CustomMetrics``) are read on top of a recognised server
  (overriding what they name) or alone (server ``"custom"``). A custom latency
  that is a plain duration counter needs a request count: ``<name>_count``
  when there is one, else the custom throughput counter when it counts
  requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from numaview.model.workload import Histogram, Reading
from numaview.workload.expo import Exposition, ExpositionError, Keep

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

NOT_KNOWN = (
    "no known server metrics (vLLM, SGLang, TGI, llama.cpp, Triton); "
    "name a throughput counter and a latency histogram"
)
_UNIT_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_QUANTILES = {"0.5": "p50", "0.99": "p99"}


@dataclass(frozen=True)
class CustomMetrics:
    """Metric names the user gives for an endpoint no profile knows (or to add to one).

    ``throughput`` is a counter: finished requests (``counters["requests"]``),
    or generated tokens with ``throughput_unit="tokens"``. ``latency`` is a
    histogram, a summary, a ``_sum``/``_count`` pair or a cumulative duration
    counter, always read as the E2E latency, in ``latency_unit``.
    """

    throughput: str | None = None
    latency: str | None = None
    latency_unit: Literal["s", "ms", "us"] = "s"
    throughput_unit: Literal["requests", "tokens"] = "requests"


@dataclass
class _Builder:
    """A Reading being filled from one exposition; ``found``: a known metric was mentioned."""

    ex: Exposition
    counters: dict[str, float] = field(default_factory=dict)
    hists: dict[str, Histogram] = field(default_factory=dict)
    gauges: dict[str, float] = field(default_factory=dict)
    created: dict[str, float] = field(default_factory=dict)
    found: bool = False

    def _mentioned(self, name: str) -> bool:
        seen = self.ex.has(name)
        self.found = self.found or seen
        return seen

    def counter(self, key: str, name: str, scale: float = 1.0, keep: Keep | None = None) -> bool:
        """counters[key] = the counter ``name`` × scale, with its ``_created``."""
        if not self._mentioned(name):
            return False
        v = self.ex.counter(name, keep)
        if v is None:
            return False
        self.counters[key] = v * scale
        c = self.ex.created(name, keep)
        if c is not None:
            self.created[key] = c
        return True

    def summed(self, key: str, name: str) -> bool:
        """counters[key] = a histogram's or summary's ``_sum`` (TGI's token counts)."""
        if not self._mentioned(name):
            return False
        v = self.ex.total(name + "_sum")
        if v is None:
            return False
        self.counters[key] = v
        c = self.ex.created(name)
        if c is not None:
            self.created[key] = c
        return True

    def gauge(self, key: str, name: str) -> bool:
        if not self._mentioned(name):
            return False
        v = self.ex.total(name)
        if v is None:
            return False
        self.gauges[key] = v
        return True

    def latency(self, lat: str, name: str, scale: float = 1.0) -> bool:
        """A latency metric in whatever shape it has, as the model wants it.

        A histogram -> hists[lat]; a summary's quantiles -> gauges
        ``<lat>_p50_s``/``<lat>_p99_s``; a ``_sum``/``_count`` pair (a summary's,
        or a histogram whose buckets could not be used) -> counters
        ``<lat>_sum_s``/``<lat>_count``.
        """
        if not self._mentioned(name):
            return False
        created = self.ex.created(name)
        h = self.ex.histogram(name, scale)
        if h is not None:
            self.hists[lat] = h
            if created is not None:
                self.created[lat] = created
            return True
        got = False
        for q, v in self.ex.quantiles(name, scale).items():
            if q in _QUANTILES:
                self.gauges[f"{lat}_{_QUANTILES[q]}_s"] = v
                got = True
        total, count = self.ex.total(name + "_sum"), self.ex.total(name + "_count")
        if total is not None and count is not None:
            self.counters[f"{lat}_sum_s"] = total * scale
            self.counters[f"{lat}_count"] = count
            if created is not None:
                self.created[f"{lat}_sum_s"] = self.created[f"{lat}_count"] = created
            got = True
        return got

    def first_latency(self, lat: str, names: Iterable[str], scale: float = 1.0) -> None:
        """The first of ``names`` that is there (a metric renamed across versions)."""
        for n in names:
            if self.latency(lat, n, scale):
                return

    def reading(self, server: str) -> Reading:
        return Reading(server, self.counters, self.hists, self.gauges, self.created)


def _mode(prefix: str) -> Keep:
    return lambda lb: lb.get("mode", "").startswith(prefix)


def _vllm(b: _Builder) -> None:
    b.counter("out_tokens", "vllm:generation_tokens_total")
    b.counter("prompt_tokens", "vllm:prompt_tokens_total")
    b.counter("requests", "vllm:request_success_total")
    b.latency("ttft", "vllm:time_to_first_token_seconds")
    b.first_latency(
        "itl", ("vllm:inter_token_latency_seconds", "vllm:time_per_output_token_seconds")
    )
    b.latency("e2e", "vllm:e2e_request_latency_seconds")
    b.gauge("waiting", "vllm:num_requests_waiting")
    b.gauge("running", "vllm:num_requests_running")


def _sglang(b: _Builder) -> None:
    b.ex = b.ex.without_subsets("priority")
    realtime = "sglang:realtime_tokens_total"
    if not b.counter("out_tokens", realtime, keep=_mode("decode")):
        b.counter("out_tokens", "sglang:generation_tokens_total")
    if not b.counter("prompt_tokens", realtime, keep=_mode("prefill")):
        b.counter("prompt_tokens", "sglang:prompt_tokens_total")
    b.counter("requests", "sglang:num_requests_total")
    b.latency("ttft", "sglang:time_to_first_token_seconds")
    b.first_latency(
        "itl", ("sglang:inter_token_latency_seconds", "sglang:time_per_output_token_seconds")
    )
    b.latency("e2e", "sglang:e2e_request_latency_seconds")
    b.gauge("waiting", "sglang:num_queue_reqs")
    b.gauge("running", "sglang:num_running_reqs")


def _tgi(b: _Builder) -> None:
    b.summed("out_tokens", "tgi_request_generated_tokens")
    b.summed("prompt_tokens", "tgi_request_input_length")
    if not b.counter("requests", "tgi_request_success"):
        b.counter("requests", "tgi_request_count")
    b.counter("failures", "tgi_request_failure")
    b.latency("e2e", "tgi_request_duration")
    b.latency("itl", "tgi_request_mean_time_per_token_duration")
    b.gauge("waiting", "tgi_queue_size")
    b.gauge("running", "tgi_batch_current_size")


def _llamacpp(b: _Builder) -> None:
    b.counter("out_tokens", "llamacpp:tokens_predicted_total")
    b.counter("prompt_tokens", "llamacpp:prompt_tokens_total")
    if b.counter("itl_sum_s", "llamacpp:tokens_predicted_seconds_total"):
        b.counter("itl_count", "llamacpp:tokens_predicted_total")
    b.gauge("running", "llamacpp:requests_processing")
    b.gauge("waiting", "llamacpp:requests_deferred")


def _triton(b: _Builder) -> None:
    b.counter("requests", "nv_inference_request_success")
    b.counter("failures", "nv_inference_request_failure")
    b.latency("e2e", "nv_inference_request_summary_us", 1e-6)  # its quantiles
    if b.counter("e2e_sum_s", "nv_inference_request_duration_us", 1e-6):  # over the summary's
        b.counter("e2e_count", "nv_inference_request_success")
    b.latency("ttft", "nv_inference_first_response_histogram_ms", 1e-3)
    b.gauge("waiting", "nv_inference_pending_request_count")


PROFILES: tuple[tuple[str, str, Callable[[_Builder], None]], ...] = (
    ("vllm", "vllm:", _vllm),
    ("sglang", "sglang:", _sglang),
    ("tgi", "tgi_", _tgi),
    ("llamacpp", "llamacpp:", _llamacpp),
    ("triton", "nv_inference_", _triton),
)


def wanted_prefixes(custom: CustomMetrics | None = None) -> tuple[str, ...]:
    """The metric-name prefixes any profile (or the user's names) reads: all else is skipped."""
    out = [prefix for _, prefix, _ in PROFILES]
    if custom is not None:
        for name in (custom.throughput, custom.latency):
            if name:
                out.append(name.removesuffix("_total"))
    return tuple(out)


def _known(ex: Exposition) -> tuple[str, _Builder] | None:
    names = ex.names()
    for server, prefix, fill in PROFILES:
        if not any(n.startswith(prefix) for n in names):
            continue
        b = _Builder(ex)
        fill(b)
        if b.found:
            b.ex = ex
            return server, b
    return None


def _custom(b: _Builder, custom: CustomMetrics) -> None:
    """Read the user's names into ``b``; a name the body does not mention is an error."""
    ex = b.ex
    for name in (custom.throughput, custom.latency):
        if name and not ex.has(name):
            raise ExpositionError(f"no metric {name} in the exposition")
    if custom.throughput:
        key = "out_tokens" if custom.throughput_unit == "tokens" else "requests"
        b.counter(key, custom.throughput)
    if not custom.latency:
        return
    scale = _UNIT_SCALE.get(custom.latency_unit, 1.0)
    for key in ("e2e_sum_s", "e2e_count", "e2e_p50_s", "e2e_p99_s"):  # the custom one wins
        b.counters.pop(key, None)
        b.gauges.pop(key, None)
        b.created.pop(key, None)
    b.hists.pop("e2e", None)
    b.created.pop("e2e", None)
    if b.latency("e2e", custom.latency, scale):
        return
    if ex.counter(custom.latency) is None:
        return  # mentioned, no samples yet
    if custom.throughput and custom.throughput_unit == "requests":
        if b.counter("e2e_sum_s", custom.latency, scale):
            b.counter("e2e_count", custom.throughput)
        return
    raise ExpositionError(
        f"{custom.latency} is a duration counter: name the request counter as the throughput"
    )


def recognise(families: Iterable[Metric], custom: CustomMetrics | None = None) -> Reading:
    """The endpoint's Reading: a known server's figures, plus or instead the custom names.

    ExpositionError when no server is known and no custom name is given, or a
    custom name is not in the body.
    """
    ex = Exposition(families)
    known = _known(ex)
    if custom is not None and (custom.throughput or custom.latency):
        server, b = known if known is not None else ("custom", _Builder(ex))
        _custom(b, custom)
        return b.reading(server)
    if known is None:
        raise ExpositionError(NOT_KNOWN)
    server, b = known
    return b.reading(server)
