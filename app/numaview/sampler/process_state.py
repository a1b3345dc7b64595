"""What the process sampler keeps between ticks, and its options.

``ProcState`` is one process as the sampler last saw it: the raw texts it
compares against (so unchanged files are not parsed), the counters rates are
computed from, and the row it produced (reused while nothing moved).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from numaview.linux import procparse
from numaview.model.frame import ProcessSample, ThreadTable

try:
    CLK_TCK = os.sysconf("SC_CLK_TCK")
    PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - non-Linux
    CLK_TCK, PAGE_SIZE = 100, 4096

Key = tuple[int, int]  # (pid, start time in clock ticks)


@dataclass(frozen=True, slots=True)
class SamplerOptions:
    top_n: int = 300  # processes kept per frame (by CPU); 0 = all
    numa_k: int = 10  # largest processes whose numa_maps are read
    numa_every_s: float = 10.0  # each of them at most this often
    numa_per_tick: int = 2  # at most this many reads per tick
    numa_budget: float = 0.002  # and at most this share of one core on them
    refresh_every: int = 10  # idle processes' status/threads re-read every N ticks
    threads: bool = True  # read per-thread data
    threads_top: int = 32  # busiest processes whose threads are read every tick
    thread_files: int = 2048  # at most this many thread files a tick (0: no limit)
    nvml: bool = True  # ask NVML about NVIDIA GPUs when it is installed


class Interner:
    """One shared object per distinct value: CPU lists, names, rounded numbers."""

    def __init__(self, limit: int = 50_000) -> None:
        self._table: dict[object, object] = {}
        self._limit = limit

    def __call__(self, value: object) -> object:
        got = self._table.get(value)
        if got is None:
            if len(self._table) >= self._limit:
                self._table.clear()
            self._table[value] = got = value
        return got


@dataclass(slots=True)
class ProcState:
    """What the sampler remembers of one process between ticks."""

    ticks: int
    last_seen: int
    key: Key = (0, 0)
    cpu_now: float | None = None  # this tick's CPU % (None: unknown yet)
    active_now: bool = False  # its CPU time moved this tick (or it is new)
    order: tuple[float, int, int] = (0.0, 0, 0)  # this tick's rank: -CPU %, -RSS, pid
    rest_order: tuple[float, int, int] = (0.0, 0, 0)  # its rank when it did not run
    stat_raw: bytes = b""
    same_text: bool = False  # nothing moved this tick: stat byte-identical or not read
    single: bool = False  # one thread: schedstat says whether it ran
    sched_raw: bytes | None = None  # schedstat read just before the last stat read
    st: procparse.PidStat | None = None
    sample: ProcessSample | None = None
    user: str | None = None
    cmdline: str | None = None
    kernel: bool = False
    forced: bool = False  # read in full this tick (reread())
    quiet: bool = False  # schedstat proved it did not run at all this tick
    status_mono: float = 0.0
    status_reads: int = 0
    status_hash: int = 0  # of the last status text: an idle turn with the same text skips all
    ctx: tuple[int | None, int | None] = (None, None)
    ctx_rates: tuple[float | None, float | None] = (None, None)
    affinity: tuple[int, ...] | None = None
    thread_ticks: dict[int, int] = field(default_factory=dict)
    thread_affinity: dict[int, tuple[int, ...] | None] = field(default_factory=dict)
    thread_stats: dict[int, tuple[int, procparse.PidStat]] = field(
        default_factory=dict
    )  # tid -> (hash of its stat bytes, parsed)
    thread_ctx: dict[int, tuple[int, int]] = field(default_factory=dict)  # tid -> switches
    threads_mono: float | None = None  # when the threads were last read
    threads_tick: int = 0  # the tick they were last read
    thread_files: int = 0  # files that read took (stat, and status of those that ran)
    thread_fds: dict[str, int] = field(default_factory=dict)  # tid -> its stat, kept open
    thread_samples: ThreadTable | None = None
    numa: dict[int, int] | None = None
    numa_policy: str | None = None
    numa_mono: float | None = None

    def standing_row(self) -> ProcessSample | None:
        """Last tick's row if it is still right (same CPU %, switch rates, memory), else None."""
        prev = self.sample
        if (
            prev is not None
            and prev.cpu_pct == self.cpu_now
            and prev.mem_by_node_bytes is self.numa
            and (prev.ctx_voluntary_per_s, prev.ctx_involuntary_per_s) == self.ctx_rates
        ):
            return prev
        return None

    def rested(
        self,
        tick: int,
        idle_pct: float | None,
        zero_rates: tuple[float | None, float | None] | None,
    ) -> None:
        """It did not run this tick; with ``zero_rates`` schedstat proves it never
        switched either (its run count stood still), so its switch rates are 0."""
        self.same_text, self.last_seen, self.active_now = True, tick, False
        self.cpu_now, self.order = idle_pct, self.rest_order
        self.quiet = zero_rates is not None
        if zero_rates is not None:
            self.ctx_rates = zero_rates


def rate(old: int | None, new: int | None, dt: float | None) -> float | None:
    if old is None or new is None or dt is None or dt <= 0:
        return None
    return round(max(new - old, 0) / dt, 1)
