"""numa_maps of the largest processes, within a CPU budget.

Reading numa_maps walks the target's page tables and can stall it (measured:
43 ms to read a 4 GiB process; its allocator stalled up to 47 ms), so it is
read for the K largest processes only, each at most every ``numa_every_s``,
at most ``numa_per_tick`` a tick, and all of them together within
``numa_budget`` of one core (a token bucket on the measured read time).
"""

from __future__ import annotations

import contextlib
import heapq
import time
from operator import attrgetter

from numaview.linux.errors import ProcError
from numaview.linux.fsroot import FsRoot
from numaview.linux.proc import numa_maps
from numaview.sampler.process_state import PAGE_SIZE, ProcState, SamplerOptions

_REST = attrgetter("rest_order")


class NumaReader:
    def __init__(self, fs: FsRoot, options: SamplerOptions) -> None:
        self.fs = fs
        self.options = options
        self.tokens = options.numa_budget * 5.0  # seconds of reading allowed
        self.mono: float | None = None

    def read(self, top: list[ProcState], mono: float) -> None:
        """numa_maps of the K largest processes: each not too often, all within a CPU budget."""
        opts = self.options
        if self.mono is not None:
            self.tokens = min(
                self.tokens + (mono - self.mono) * opts.numa_budget,
                opts.numa_budget * 30.0,
            )
        self.mono = mono
        if opts.numa_k <= 0:
            return
        # rest_order is (0, -RSS, pid): the smallest are the largest in memory.
        largest = [p for p in heapq.nsmallest(opts.numa_k, top, key=_REST) if not p.kernel]
        due = [p for p in largest if p.numa_mono is None or mono - p.numa_mono >= opts.numa_every_s]
        due.sort(key=lambda p: p.numa_mono or -1.0)  # never read first
        for proc in due[: opts.numa_per_tick]:
            key = proc.key
            if self.tokens <= 0:
                break
            proc.numa_mono = mono  # also on failure: do not retry every tick
            t0 = time.thread_time()
            with contextlib.suppress(ProcError):  # gone, or not ours: the column stands
                proc.numa, proc.numa_policy = numa_maps(self.fs, key[0], PAGE_SIZE // 1024)
            self.tokens -= time.thread_time() - t0
