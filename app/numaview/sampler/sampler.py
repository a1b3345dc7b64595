"""The Sampler: FSROOT → Frame, one tick at a time.

Cheap enough to leave running during a benchmark. The rule that keeps it cheap:
read the cheap file (/proc/PID/stat) of every process every tick, and the
costly ones (status, every thread's stat, numa_maps) only for processes that
ran since the last tick or whose turn has come on a slow rotation. A process
whose CPU time did not move had no thread run, so its threads' last CPUs have
not changed either. numa_maps walks the target's page tables (it can stall
the target), so it is read for the heaviest K processes only, a few per tick,
each at most once per ``numa_every_s``.
"""

from __future__ import annotations

import os
import time
from array import array
from collections.abc import Callable
from operator import sub
from typing import Any

from numaview.linux import procparse
from numaview.linux.fsroot import FsRoot
from numaview.linux.sysfs import NODE_DIR, discover
from numaview.model.frame import (
    CPU_METRICS,
    NAN,
    CpuTable,
    Frame,
    NodeSample,
    SamplerCost,
    SystemSample,
)
from numaview.model.topology import Topology
from numaview.sampler.gpu_reader import GpuReader
from numaview.sampler.process_reader import CLK_TCK, PAGE_SIZE, ProcessReader, SamplerOptions, rate

__all__ = ["CLK_TCK", "PAGE_SIZE", "Sampler", "SamplerOptions"]

NUMASTAT_KEYS = (
    "numa_hit",
    "numa_miss",
    "numa_foreign",
    "interleave_hit",
    "local_node",
    "other_node",
)
VMSTAT_KEYS = ("numa_hint_faults", "numa_hint_faults_local", "numa_pages_migrated")
NODE_MEM_KEYS = ("MemTotal", "MemFree", "FilePages", "AnonPages")


class Sampler:
    """Reads the machine under ``root`` and returns a Frame per call of ``sample()``.

    Rates and percentages cover the time since the previous call; the first
    frame has None for them (nothing to compare with yet).
    """

    def __init__(
        self,
        root: str | os.PathLike[str] = "/",
        topology: Topology | None = None,
        options: SamplerOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        nvml_lib: Any | None = None,
    ) -> None:
        self.fs = FsRoot(root)
        self.topology = topology if topology is not None else discover(root)
        self.options = options or SamplerOptions()
        # GPUs: NVML when it answers (it may also place a GPU sysfs could not).
        self.gpus = GpuReader(self.fs, self.topology, nvml_lib, self.options.nvml)
        self.topology = self.gpus.topology
        self.clock = clock
        self.wall = wall
        self._tick = 0
        self._mono: float | None = None
        self._stat: procparse.ProcStat | None = None
        self._numastat: dict[int, dict[str, int]] = {}
        self._vmstat: dict[str, int] = {}
        self._self_cpu: float | None = None
        self._cpu_node = {c.id: c.node for c in self.topology.cpus if c.node is not None}
        self.processes = ProcessReader(self.fs, self._cpu_node, self.options)
        self._ids = tuple(c.id for c in self.topology.cpus)
        self._online: tuple[bool, ...] = ()
        self._topo_online = {c.id: c.online for c in self.topology.cpus}
        self._errors: list[str] = []

    # -- public ----------------------------------------------------------------

    def sample(self) -> Frame:
        t_cpu0 = time.thread_time()
        mono = self.clock()
        dt = None if self._mono is None else max(mono - self._mono, 1e-6)
        self._errors = []
        cpus, busy, system_part = self._cpus(dt)
        nodes = self._nodes(dt, busy)
        system = self._system(dt, system_part)
        forks = self._stat.forks if self._stat is not None else None
        processes, total, errors = self.processes.read(dt, mono, forks)
        self._errors.extend(errors)
        processes, gpus = self.gpus.read(processes, mono)
        self._errors.extend(self.gpus.take_notes())  # "no NVML (...)" and the like: once
        self._tick += 1
        self._mono = mono
        self_cpu = time.process_time()
        self_pct = None
        if dt is not None and self._self_cpu is not None:
            self_pct = round((self_cpu - self._self_cpu) / dt * 100, 2)
        self._self_cpu = self_cpu
        tick_cpu = time.thread_time() - t_cpu0
        return Frame(
            time=self.wall(),
            mono=mono,
            interval_s=round(dt, 6) if dt is not None else 0.0,
            cpus=cpus,
            nodes=nodes,
            system=SystemSample(**{**system, "processes_total": total}),
            processes=processes,
            errors=tuple(self._errors),
            cost=SamplerCost(
                tick_cpu_s=round(tick_cpu, 6),
                tick_wall_s=round(self.clock() - mono, 6),
                self_cpu_pct=self_pct,
            ),
            seq=self._tick,
            gpus=gpus,
        )

    def reread(self, pid: int) -> None:
        """Read this process in full at the next tick (its affinity just changed, say)."""
        self.processes.reread(pid)

    # -- machine-wide ------------------------------------------------------------

    def _read(self, rel: str, what: str) -> str | None:
        text = self.fs.read(rel, limit=1 << 20)
        if text is None:
            self._errors.append(f"{what}: cannot read {self.fs.path(rel)}")
        return text

    def _cpus(
        self, dt: float | None
    ) -> tuple[CpuTable, dict[int, float | None], dict[str, float | int | None]]:
        text = self._read("proc/stat", "CPU usage")
        stat = procparse.parse_proc_stat(text) if text is not None else None
        prev, self._stat = self._stat, stat
        now_cpus = stat.cpus if stat is not None else {}
        old_cpus = prev.cpus if prev is not None else {}
        topo_online = self._topo_online
        # One column per metric, filled CPU by CPU: no dict per CPU (1024 of them a tick).
        cols = tuple(array("f") for _ in CPU_METRICS)
        online: list[bool] = []
        busy: dict[int, float | None] = {}
        for cpu in self._ids:
            cur = now_cpus.get(cpu)
            # /proc/stat lists online CPUs; unreadable, it says nothing: keep the topology's word
            online.append(cur is not None if stat is not None else topo_online[cpu])
            old = old_cpus.get(cpu)
            pcts = _cpu_pcts(old, cur) if old is not None and cur is not None else _UNKNOWN
            busy[cpu] = pcts[0]
            for col, v in zip(cols, pcts, strict=True):
                col.append(NAN if v is None else v)
        part: dict[str, float | int | None] = {
            "procs_running": stat.procs_running if stat else None,
            "procs_blocked": stat.procs_blocked if stat else None,
            "ctx_switches_per_s": rate(
                prev.ctxt if prev else None, stat.ctxt if stat else None, dt
            ),
        }
        # The same ids/online tuples frame after frame: an hour of 1024-CPU frames
        # would otherwise hold 3600 copies of them.
        online_t = tuple(online)
        if online_t != self._online:
            self._online = online_t
        return (
            CpuTable(self._ids, self._online, dict(zip(CPU_METRICS, cols, strict=True))),
            busy,
            part,
        )

    def _nodes(self, dt: float | None, busy: dict[int, float | None]) -> tuple[NodeSample, ...]:
        out = []
        for node in self.topology.nodes:
            base = f"{NODE_DIR}/node{node.id}"
            text = self._read(f"{base}/meminfo", f"node {node.id} memory")
            mem = procparse.pick_meminfo(text, NODE_MEM_KEYS) if text is not None else {}
            text = self._read(f"{base}/numastat", f"node {node.id} numastat")
            counters = procparse.parse_counters(text) if text is not None else {}
            prev = self._numastat.get(node.id, {})
            self._numastat[node.id] = counters
            rates = {f"{k}_per_s": rate(prev.get(k), counters.get(k), dt) for k in NUMASTAT_KEYS}
            values = [busy[c] for c in node.cpus if busy.get(c) is not None]
            out.append(
                NodeSample(
                    id=node.id,
                    busy_pct=round(sum(v for v in values if v is not None) / len(values), 1)
                    if values
                    else None,
                    mem_total_bytes=mem.get("MemTotal"),
                    mem_free_bytes=mem.get("MemFree"),
                    file_bytes=mem.get("FilePages"),
                    anon_bytes=mem.get("AnonPages"),
                    **rates,
                )
            )
        return tuple(out)

    def _system(self, dt: float | None, part: dict[str, float | int | None]) -> dict[str, Any]:
        text = self._read("proc/loadavg", "load average")
        load = procparse.parse_loadavg(text) if text is not None else None
        vm_text = self.fs.read("proc/vmstat", limit=1 << 20)
        vm = procparse.pick_counters(vm_text, VMSTAT_KEYS) if vm_text is not None else {}
        prev, self._vmstat = self._vmstat, vm
        out: dict[str, Any] = {"load": load, **part}
        for k in VMSTAT_KEYS:
            out[f"{k}_per_s"] = rate(prev.get(k), vm.get(k), dt)  # absent without NUMA
        cpu_psi = self.fs.read("proc/pressure/cpu")
        mem_psi = self.fs.read("proc/pressure/memory")
        cpu = procparse.parse_psi(cpu_psi) if cpu_psi else {}
        mem = procparse.parse_psi(mem_psi) if mem_psi else {}
        out["psi_cpu_some_avg10"] = cpu.get("some")
        out["psi_memory_some_avg10"] = mem.get("some")
        out["psi_memory_full_avg10"] = mem.get("full")
        return out


_PCT_ORDER = (
    "busy_pct",
    "user_pct",
    "nice_pct",
    "system_pct",
    "iowait_pct",
    "irq_pct",
    "steal_pct",
)
if CPU_METRICS != _PCT_ORDER:  # pragma: no cover - a new metric needs a place in _cpu_pcts
    raise ImportError(f"_cpu_pcts returns {_PCT_ORDER}, CPU_METRICS is {CPU_METRICS}")
_UNKNOWN: tuple[float | None, ...] = (None,) * len(CPU_METRICS)  # no previous counters
_IDLE: tuple[float | None, ...] = (0.0,) * len(CPU_METRICS)


def _cpu_pcts(old: tuple[int, ...], cur: tuple[int, ...]) -> tuple[float | None, ...]:
    """The CPU's percentages between two /proc/stat lines, in CPU_METRICS order.

    Once per CPU per tick: the deltas by map() and clamped only when one went
    back (a counter reset), half the time of a clamped comprehension.
    """
    if len(cur) != len(old):
        raise ValueError("/proc/stat lines of different lengths")
    d = list(map(sub, cur, old))
    if min(d) < 0:
        d = [max(x, 0) for x in d]
    user, nice, system, idle, iowait, irq, softirq, steal = d
    total = sum(d)
    if total <= 0:
        return _IDLE  # no tick elapsed on it: idle
    scale = 100.0 / total
    return (
        (total - idle - iowait) * scale,
        user * scale,
        nice * scale,
        system * scale,
        iowait * scale,
        (irq + softirq) * scale,
        steal * scale,
    )
