"""The demo's load test: three inference servers whose figures follow their placement.

So the whole loop (see the leak, pin, watch latency and throughput change)
can be tried without a GPU server. Each server's counters and histograms are
made the way its real metrics endpoint would report them, then go through the
same ``Accumulator`` as a real scrape:

- llama-server (pid 4121, llama.cpp's counters): its threads run on node 1
  while 92 % of its memory is on node 0; every token's time grows with the
  share of memory that is remote, so moving the memory (pin with memory)
  brings the inter-token latency down from ~50 ms to ~28 ms.
- vllm-a and vllm-b (pids 5200, 5300, vLLM's metric set): both pinned to L3
  domain 4, so they split its CPUs and its cache; a server's token rate is
  its threads' CPU share times a cache factor, so moving one to its own L3
  raises both servers' throughput by about 1.7-2×.

Random noise comes from its own generator (the frames' numbers do not change
with or without it).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from numaview.demo.scenario import SimProcess
from numaview.model.topology import Topology
from numaview.model.workload import Histogram, Reading, WorkloadSample
from numaview.workload.accum import Accumulator

TTFT_BOUNDS = (0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, math.inf)
ITL_BOUNDS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, math.inf)
E2E_BOUNDS = (0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, math.inf)
TOKENS_PER_REQUEST = 256
PROMPT_PER_REQUEST = 600


@dataclass
class _Hist:
    bounds: tuple[float, ...]
    counts: list[float] = field(default_factory=list)
    total: float = 0.0
    sum: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0.0] * len(self.bounds)

    def observe(self, n: float, median: float, spread: float = 0.25) -> None:
        """``n`` observations, log-normal around ``median``: added as the CDF, not one by one."""
        if n <= 0:
            return
        for i, b in enumerate(self.bounds):
            cdf = (
                1.0
                if math.isinf(b)
                else 0.5 * (1 + math.erf(math.log(b / median) / (spread * 1.4142)))
            )
            self.counts[i] += n * cdf
        self.total += n
        self.sum += n * median * math.exp(spread * spread / 2)

    def frozen(self) -> Histogram:
        return Histogram(self.bounds, tuple(round(c, 3) for c in self.counts), self.total, self.sum)


@dataclass
class _Server:
    pid: int
    port: int
    kind: str  # "vllm" or "llamacpp"
    users: int  # concurrent requests the load generator keeps open
    base_itl_s: float
    out_tokens: float = 0.0
    prompt_tokens: float = 0.0
    requests: float = 0.0
    itl_sum: float = 0.0
    ttft: _Hist = field(default_factory=lambda: _Hist(TTFT_BOUNDS))
    itl: _Hist = field(default_factory=lambda: _Hist(ITL_BOUNDS))
    e2e: _Hist = field(default_factory=lambda: _Hist(E2E_BOUNDS))
    accum: Accumulator | None = None

    @property
    def source(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"


class SimulatedLoad:
    """Advanced by the simulated sampler each tick; hands back one sample per server."""

    def __init__(self, topology: Topology, seed: int = 7) -> None:
        self.topology = topology
        self.rng = random.Random(seed * 7919 + 1)
        self.l3_of = {c.id: c.l3 for c in topology.cpus}
        self.node_of = {c.id: c.node for c in topology.cpus}
        self.servers = [
            _Server(4121, 8080, "llamacpp", users=8, base_itl_s=0.028),
            _Server(5200, 8001, "vllm", users=32, base_itl_s=0.030),
            _Server(5300, 8002, "vllm", users=32, base_itl_s=0.030),
        ]
        for s in self.servers:
            s.accum = Accumulator(s.source)

    def sample(
        self,
        now: float,
        dt: float | None,
        procs: Mapping[int, SimProcess],
        demand: Mapping[int, float],
        ramp: float,
    ) -> tuple[WorkloadSample, ...]:
        out = []
        for s in self.servers:
            p = procs.get(s.pid)
            if p is None or s.accum is None:
                continue
            if dt is not None:
                self._advance(s, p, procs, demand, dt, ramp)
            out.append(s.accum.add(self._reading(s), now, s.pid))
        return tuple(out)

    # -- the model ------------------------------------------------------------------------

    def _speed(
        self,
        s: _Server,
        p: SimProcess,
        procs: Mapping[int, SimProcess],
        demand: Mapping[int, float],
    ) -> tuple[float, float]:
        """(CPU factor, memory factor): 1 = alone on its CPUs with its memory local."""
        shares = [
            min(1.0, 1.0 / demand[t.cpu]) if demand.get(t.cpu, 0) > 1 else 1.0 for t in p.threads
        ]
        cpu = sum(shares) / len(shares) if shares else 1.0
        mine = {self.l3_of.get(t.cpu) for t in p.threads}
        rivals = sum(
            1
            for q in procs.values()
            if q.pid != p.pid
            and sum(t.load for t in q.threads) > 4
            and {self.l3_of.get(t.cpu) for t in q.threads} & mine
        )
        cpu /= 1 + 0.15 * rivals  # a shared L3: each other busy process evicts its cache
        nodes = {self.node_of.get(t.cpu) for t in p.threads}
        total = sum(p.mem.values()) or 1
        remote = sum(b for n, b in p.mem.items() if n not in nodes) / total
        return cpu, 1.0 / (1 + 0.8 * remote)

    def _advance(
        self,
        s: _Server,
        p: SimProcess,
        procs: Mapping[int, SimProcess],
        demand: Mapping[int, float],
        dt: float,
        ramp: float,
    ) -> None:
        cpu, mem = self._speed(s, p, procs, demand)
        itl = s.base_itl_s / max(cpu * mem, 0.05) * self.rng.uniform(0.97, 1.03)
        users = s.users * ramp
        tokens = users * dt / itl
        requests = tokens / TOKENS_PER_REQUEST
        ttft = 0.12 / max(cpu * mem, 0.05) * self.rng.uniform(0.95, 1.05)
        s.out_tokens += tokens
        s.prompt_tokens += requests * PROMPT_PER_REQUEST
        s.requests += requests
        s.itl_sum += tokens * itl
        s.itl.observe(tokens, itl, 0.2)
        s.ttft.observe(requests, ttft, 0.3)
        s.e2e.observe(requests, ttft + TOKENS_PER_REQUEST * itl, 0.15)

    def _reading(self, s: _Server) -> Reading:
        waiting = float(max(0, round(s.users * 0.1 * self.rng.uniform(0.5, 1.5))))
        if s.kind == "llamacpp":  # llama.cpp: counters, no histograms
            return Reading(
                "llamacpp",
                counters={
                    "out_tokens": s.out_tokens,
                    "prompt_tokens": s.prompt_tokens,
                    "itl_sum_s": s.itl_sum,
                    "itl_count": s.out_tokens,
                },
                gauges={"running": float(s.users), "waiting": waiting},
            )
        return Reading(
            "vllm",
            counters={
                "out_tokens": s.out_tokens,
                "prompt_tokens": s.prompt_tokens,
                "requests": s.requests,
            },
            hists={"ttft": s.ttft.frozen(), "itl": s.itl.frozen(), "e2e": s.e2e.frozen()},
            gauges={"running": float(s.users), "waiting": waiting},
        )
