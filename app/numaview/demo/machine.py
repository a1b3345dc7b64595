"""A simulated 2-socket, 4-node, 128-CPU machine running a load test with leaks.

``numaview demo`` and the UI tests run on this: deterministic for a seed, rich
enough to show every kind of leak. It is a sampler like the live one (a
``sample()`` that returns Frames), so the UI cannot tell the difference, and
it accepts re-pins (``set_affinity``) so the pin flow can be tried safely:
threads move at once, memory moves over a few seconds.

The scenario (its machine and cast are in scenario.py; load ramps up over
the first seconds):
- ``llama-server`` (16 busy threads) is pinned to node 1 while 92 % of its
  40 GiB sits on node 0: cross-node placement;
- ``vllm-a`` and ``vllm-b`` (16 threads each) are both pinned to the 8 cores of
  one L3 domain on node 2: overlapping affinity, SMT contention, oversubscription;
- ``batch-etl`` is unpinned and its threads wander across nodes;
- node 0 is nearly out of free memory, so allocations spill (numa_miss);
- node 3 sits idle.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from numaview.demo.scenario import (
    GIB,
    GPU_MEM,
    NODE_MEM,
    SimProcess,
    scenario_processes,
    simulated_topology,
)
from numaview.demo.workload import SimulatedLoad
from numaview.model.frame import (
    CPU_METRICS,
    CpuTable,
    Frame,
    NodeSample,
    ProcessSample,
    SamplerCost,
    SystemSample,
    ThreadSample,
    ThreadTable,
)
from numaview.model.gpu import GpuSample
from numaview.model.topology import Topology


@dataclass
class SimulatedSampler:
    """Frames of the simulated machine; ``sample()`` advances it by the clock's time."""

    seed: int = 7
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    topology: Topology = field(default_factory=simulated_topology)
    ramp_s: float = 5.0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.gpu_rng = random.Random(self.seed + 1)
        self.t0: float | None = None
        self.last: float | None = None
        self.seq = 0
        self.node_of = {c.id: c.node or 0 for c in self.topology.cpus}
        self.all_cpus = tuple(c.id for c in self.topology.cpus)
        self.procs = self._scenario()
        self.load = SimulatedLoad(self.topology, self.seed)  # the servers' metrics
        self.numastat = {
            n.id: dict.fromkeys(("hit", "miss", "foreign", "local", "other"), 0.0)
            for n in self.topology.nodes
        }

    # -- scenario ------------------------------------------------------------------

    def _scenario(self) -> dict[int, SimProcess]:
        return scenario_processes(self.topology, self.all_cpus)

    # -- pinning (the demo's re-pin target) ----------------------------------------

    def describe(self, pid: int) -> tuple[str, tuple[int, ...], tuple[int, ...], bool] | None:
        """(name, affinity, thread ids, kernel thread?) for the demo's pinner."""
        p = self.procs.get(pid)
        if p is None:
            return None
        return p.name, p.affinity, tuple(t.tid for t in p.threads), p.kernel

    def set_affinity(self, pid: int, cpus: tuple[int, ...], move_memory: bool = False) -> None:
        """Re-pin every thread of ``pid``; with move_memory its pages follow over a few ticks."""
        p = self.procs.get(pid)
        if p is None:
            raise ProcessLookupError(pid)
        p.affinity = tuple(sorted(cpus))
        for i, th in enumerate(p.threads):
            if th.cpu not in p.affinity:
                th.cpu = p.affinity[i % len(p.affinity)]
        if move_memory:
            nodes = sorted({self.node_of[c] for c in p.affinity})
            share = p.rss // len(nodes)
            p.mem_target = {n: share for n in nodes}

    # -- one tick ------------------------------------------------------------------

    def reread(self, pid: int) -> None:
        """The simulation has every process's state at hand: nothing to read again."""

    def sample(self) -> Frame:
        now = self.clock()
        if self.t0 is None:
            self.t0 = now
        dt = None if self.last is None else max(now - self.last, 1e-6)
        self.last = now
        self.seq += 1
        ramp = min(1.0, (now - self.t0) / self.ramp_s) if self.ramp_s > 0 else 1.0
        rng = self.rng
        demand: dict[int, float] = dict.fromkeys(self.all_cpus, 0.0)
        for p in self.procs.values():
            self._place(p, rng)
            for th in p.threads:
                demand[th.cpu] += th.load * (ramp if th.load > 0.1 else 1.0)
        cpu_busy: dict[int, float] = {}
        rows: dict[str, list[float | None]] = {m: [] for m in CPU_METRICS}
        for c in self.all_cpus:
            busy = min(100.0, demand[c] * 100 + rng.uniform(0.3, 2.5))
            cpu_busy[c] = busy
            sys_share = 0.12 if busy > 20 else 0.4
            vals = {
                "busy_pct": busy,
                "user_pct": busy * (1 - sys_share - 0.02),
                "nice_pct": 0.0,
                "system_pct": busy * sys_share,
                "iowait_pct": rng.uniform(0, 0.3),
                "irq_pct": busy * 0.02,
                "steal_pct": 0.0,
            }
            for m in CPU_METRICS:
                rows[m].append(None if dt is None else round(vals[m], 1))
        processes = tuple(self._process_samples(demand, dt, ramp))
        nodes = self._nodes(cpu_busy if dt is not None else None, dt, ramp)
        running = sum(1 for p in self.procs.values() for t in p.threads if t.load > 0.1)
        system = SystemSample(
            load=(
                round(running * ramp * 0.9, 2),
                round(running * ramp * 0.6, 2),
                round(running * 0.3, 2),
            ),
            procs_running=int(running * ramp) + 1,
            procs_blocked=0,
            ctx_switches_per_s=None
            if dt is None
            else round(52000 * ramp + rng.uniform(0, 3000), 1),
            numa_hint_faults_per_s=None if dt is None else round(1200 * ramp, 1),
            numa_hint_faults_local_per_s=None if dt is None else round(300 * ramp, 1),
            numa_pages_migrated_per_s=None if dt is None else round(150 * ramp, 1),
            psi_cpu_some_avg10=round(18.0 * ramp, 2),
            psi_memory_some_avg10=round(2.5 * ramp, 2),
            psi_memory_full_avg10=round(0.4 * ramp, 2),
            processes_total=len(self.procs),
        )
        return Frame(
            time=self.wall(),
            mono=now,
            interval_s=0.0 if dt is None else round(dt, 6),
            cpus=CpuTable.build(self.all_cpus, [True] * len(self.all_cpus), rows),
            nodes=nodes,
            system=system,
            processes=processes,
            cost=SamplerCost(tick_cpu_s=0.0004, tick_wall_s=0.0004, self_cpu_pct=0.3),
            seq=self.seq,
            workload=self.load.sample(now, dt, self.procs, demand, ramp),
            gpus=self._gpus(dt, ramp),
        )

    def _gpus(self, dt: float | None, ramp: float) -> tuple[GpuSample, ...]:
        """As NVML would say it: the driven GPUs busy with the load, the others idle."""
        out = []
        for g in self.topology.gpus:
            users = [p for p in self.procs.values() if g.index in p.gpus]
            held = sum(p.gpu_mem.get(g.index, 0) for p in users)
            rng = self.gpu_rng  # its own: the CPU side's random draws stay as they were
            busy = 78.0 * ramp + rng.uniform(-6, 6) if users else rng.uniform(0, 1)
            out.append(
                GpuSample(
                    index=g.index,
                    util_pct=None if dt is None else round(max(busy, 0.0), 0),
                    mem_used_bytes=held + GIB // 2,
                    mem_total_bytes=GPU_MEM,
                )
            )
        return tuple(out)

    def _place(self, p: SimProcess, rng: random.Random) -> None:
        for th in p.threads:
            if th.cpu not in p.affinity or (p.wander and rng.random() < 0.35):
                th.cpu = rng.choice(p.affinity)
        if p.mem_target:
            # pages migrate at ~8 GiB per tick toward the target spread
            step = 8 * GIB
            for n in list(p.mem):
                if p.mem[n] > p.mem_target.get(n, 0):
                    moved = min(step, p.mem[n] - p.mem_target.get(n, 0))
                    p.mem[n] -= moved
                    dst = min(p.mem_target, key=lambda k: p.mem.get(k, 0) - p.mem_target[k])  # type: ignore[index]
                    p.mem[dst] = p.mem.get(dst, 0) + moved
            if all(p.mem.get(n, 0) >= v for n, v in p.mem_target.items()):
                p.mem_target = None
            p.mem = {n: b for n, b in p.mem.items() if b > 0}

    def _process_samples(
        self, demand: dict[int, float], dt: float | None, ramp: float
    ) -> list[ProcessSample]:
        out = []
        for p in self.procs.values():
            thread_samples = []
            total = 0.0
            invol = 0.0
            for th in p.threads:
                want = th.load * (ramp if th.load > 0.1 else 1.0)
                crowd = max(demand[th.cpu], 1e-9)
                got = want if crowd <= 1.0 else want / crowd
                invol += 400 * max(crowd - 1.0, 0.0)
                total += got * 100
                thread_samples.append(
                    ThreadSample(
                        tid=th.tid,
                        name=th.name,
                        state="R" if got > 0.3 else "S",
                        last_cpu=th.cpu,
                        cpu_pct=None if dt is None else round(got * 100, 1),
                    )
                )
            last = tuple(sorted({t.cpu for t in p.threads}))
            out.append(
                ProcessSample(
                    pid=p.pid,
                    start_time=p.start_time,
                    ppid=p.ppid,
                    user=p.user,
                    name=p.name,
                    cmdline=p.cmdline or None,
                    state="R" if total > 30 else "S",
                    cpu_pct=None if dt is None else round(total, 1),
                    threads=len(p.threads),
                    affinity=p.affinity,
                    last_cpus=last,
                    nodes_running=tuple(sorted({self.node_of[c] for c in last})),
                    rss_bytes=p.rss,
                    ctx_voluntary_per_s=None if dt is None else round(50 + total, 1),
                    ctx_involuntary_per_s=None if dt is None else round(invol + total * 0.05, 1),
                    mem_policy=None if p.kernel else "default",
                    mem_by_node_bytes=None if p.kernel else dict(p.mem),
                    mem_by_node_mono=None if p.kernel else self.last,
                    thread_samples=ThreadTable(thread_samples),
                    kernel_thread=p.kernel,
                    gpus=p.gpus,
                    gpu_mem_bytes=dict(p.gpu_mem) if p.gpu_mem else None,
                )
            )
        out.sort(key=lambda s: (-(s.cpu_pct or 0.0), s.pid))
        return out

    def _nodes(
        self, busy: dict[int, float] | None, dt: float | None, ramp: float
    ) -> tuple[NodeSample, ...]:
        used: dict[int, int] = dict.fromkeys((n.id for n in self.topology.nodes), 2 * GIB)
        for p in self.procs.values():
            for nid, b in p.mem.items():
                used[nid] = used.get(nid, 0) + b
        cache = {0: 20 * GIB, 1: 6 * GIB, 2: 4 * GIB, 3: 1 * GIB}
        remote_by_node: dict[int, float] = dict.fromkeys(used, 0.0)
        for p in self.procs.values():
            running = {self.node_of[t.cpu] for t in p.threads if t.load > 0.1}
            for nid, b in p.mem.items():
                for r in running:
                    if r != nid and b > GIB:
                        remote_by_node[r] += 40000 * ramp * (b / p.rss if p.rss else 0)
        out = []
        for n in self.topology.nodes:
            total = n.mem_total_bytes or NODE_MEM
            free = max(total - used[n.id] - cache.get(n.id, 0), int(total * 0.015))
            miss = (
                remote_by_node[n.id] * 0.3
                if free < total * 0.05 or n.id == 1
                else remote_by_node[n.id] * 0.02
            )
            hit = 90000 * ramp + self.rng.uniform(0, 5000) if busy else 0.0
            vals = [busy[c] for c in n.cpus] if busy else []
            out.append(
                NodeSample(
                    id=n.id,
                    busy_pct=round(sum(vals) / len(vals), 1) if vals else None,
                    mem_total_bytes=total,
                    mem_free_bytes=free,
                    file_bytes=cache.get(n.id, 0),
                    anon_bytes=used[n.id],
                    numa_hit_per_s=None if dt is None else round(hit, 1),
                    numa_miss_per_s=None if dt is None else round(miss, 1),
                    numa_foreign_per_s=None if dt is None else round(miss * 0.8, 1),
                    interleave_hit_per_s=None if dt is None else 0.0,
                    local_node_per_s=None
                    if dt is None
                    else round(hit - remote_by_node[n.id] * 0.5, 1),
                    other_node_per_s=None if dt is None else round(remote_by_node[n.id], 1),
                )
            )
        return tuple(out)
