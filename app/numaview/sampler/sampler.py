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
import pwd
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from numaview.model.frame import (
    CPU_METRICS,
    CpuTable,
    Frame,
    NodeSample,
    ProcessSample,
    SamplerCost,
    SystemSample,
    ThreadSample,
)
from numaview.model.topology import Topology
from numaview.sampler import procfs
from numaview.sampler.fsroot import FsRoot
from numaview.sampler.sysfs import NODE_DIR, discover

NUMASTAT_KEYS = (
    "numa_hit",
    "numa_miss",
    "numa_foreign",
    "interleave_hit",
    "local_node",
    "other_node",
)
VMSTAT_KEYS = ("numa_hint_faults", "numa_hint_faults_local", "numa_pages_migrated")

try:
    CLK_TCK = os.sysconf("SC_CLK_TCK")
    PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - non-Linux
    CLK_TCK, PAGE_SIZE = 100, 4096


@dataclass(frozen=True, slots=True)
class SamplerOptions:
    top_n: int = 300  # processes kept per frame (by CPU); 0 = all
    numa_k: int = 10  # heaviest processes whose numa_maps are read
    numa_every_s: float = 10.0  # each of them at most this often
    numa_per_tick: int = 2  # and at most this many reads per tick
    refresh_every: int = 10  # idle processes' status/threads re-read every N ticks
    threads: bool = True  # read per-thread data of active processes


@dataclass(slots=True)
class _ProcState:
    """What the sampler remembers of one process between ticks."""

    ticks: int  # utime + stime
    last_seen: int  # tick number
    sample: ProcessSample | None = None
    user: str | None = None
    cmdline: str | None = None
    kernel: bool = False
    status_tick: int = -(10**9)
    status_mono: float = 0.0
    status_reads: int = 0
    ctx: tuple[int | None, int | None] = (None, None)
    ctx_rates: tuple[float | None, float | None] = (None, None)
    affinity: tuple[int, ...] | None = None
    threads_tick: int = -(10**9)
    thread_ticks: dict[int, int] = field(default_factory=dict)
    thread_affinity: dict[int, tuple[int, ...] | None] = field(default_factory=dict)
    thread_samples: tuple[ThreadSample, ...] | None = None
    numa: dict[int, int] | None = None
    numa_policy: str | None = None
    numa_mono: float | None = None


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
    ) -> None:
        self.fs = FsRoot(root)
        self.topology = topology if topology is not None else discover(root)
        self.options = options or SamplerOptions()
        self.clock = clock
        self.wall = wall
        self._tick = 0
        self._mono: float | None = None
        self._stat: procfs.ProcStat | None = None
        self._numastat: dict[int, dict[str, int]] = {}
        self._vmstat: dict[str, int] = {}
        self._uptime: float | None = None
        self._procs: dict[tuple[int, int], _ProcState] = {}
        self._users: dict[int, str] = {}
        self._self_cpu: float | None = None
        self._cpu_node = {c.id: c.node for c in self.topology.cpus if c.node is not None}
        self._numa_queue: list[tuple[int, int]] = []
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
        processes, total = self._processes(dt, mono)
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
        )

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
        stat = procfs.parse_proc_stat(text) if text is not None else None
        prev, self._stat = self._stat, stat
        ids = [c.id for c in self.topology.cpus]
        rows: dict[str, list[float | None]] = {m: [] for m in CPU_METRICS}
        online: list[bool] = []
        busy: dict[int, float | None] = {}
        topo_online = {c.id: c.online for c in self.topology.cpus}
        for cpu in ids:
            cur = stat.cpus.get(cpu) if stat else None
            old = prev.cpus.get(cpu) if prev else None
            # /proc/stat lists online CPUs; unreadable, it says nothing: keep the topology's word
            online.append(cur is not None if stat is not None else topo_online[cpu])
            pct = _cpu_pcts(old, cur)
            for m in CPU_METRICS:
                rows[m].append(pct.get(m))
            busy[cpu] = pct.get("busy_pct")
        part: dict[str, float | int | None] = {
            "procs_running": stat.procs_running if stat else None,
            "procs_blocked": stat.procs_blocked if stat else None,
            "ctx_switches_per_s": _rate(
                prev.ctxt if prev else None, stat.ctxt if stat else None, dt
            ),
        }
        return CpuTable.build(ids, online, rows), busy, part

    def _nodes(self, dt: float | None, busy: dict[int, float | None]) -> tuple[NodeSample, ...]:
        out = []
        for node in self.topology.nodes:
            base = f"{NODE_DIR}/node{node.id}"
            text = self._read(f"{base}/meminfo", f"node {node.id} memory")
            mem = procfs.parse_meminfo(text) if text is not None else {}
            text = self._read(f"{base}/numastat", f"node {node.id} numastat")
            counters = procfs.parse_counters(text) if text is not None else {}
            prev = self._numastat.get(node.id, {})
            self._numastat[node.id] = counters
            rates = {f"{k}_per_s": _rate(prev.get(k), counters.get(k), dt) for k in NUMASTAT_KEYS}
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
        load = procfs.parse_loadavg(text) if text is not None else None
        vm_text = self.fs.read("proc/vmstat", limit=1 << 20)
        vm = procfs.parse_counters(vm_text) if vm_text is not None else {}
        prev, self._vmstat = self._vmstat, vm
        out: dict[str, Any] = {"load": load, **part}
        for k in VMSTAT_KEYS:
            out[f"{k}_per_s"] = _rate(prev.get(k), vm.get(k), dt)  # absent without NUMA
        cpu_psi = self.fs.read("proc/pressure/cpu")
        mem_psi = self.fs.read("proc/pressure/memory")
        cpu = procfs.parse_psi(cpu_psi) if cpu_psi else {}
        mem = procfs.parse_psi(mem_psi) if mem_psi else {}
        out["psi_cpu_some_avg10"] = cpu.get("some")
        out["psi_memory_some_avg10"] = mem.get("some")
        out["psi_memory_full_avg10"] = mem.get("full")
        return out

    # -- processes ---------------------------------------------------------------

    def _processes(self, dt: float | None, mono: float) -> tuple[tuple[ProcessSample, ...], int]:
        entries = self.fs.listdir("proc")
        if entries is None:
            self._errors.append(f"processes: cannot list {self.fs.path('proc')}")
            return (), 0
        up_text = self.fs.read("proc/uptime")
        uptime = procfs.parse_uptime(up_text) if up_text else None
        prev_uptime, self._uptime = self._uptime, uptime
        seen: list[tuple[procfs.PidStat, tuple[int, int], float | None, bool]] = []
        for name in entries:
            if not name.isdigit():
                continue
            text = self.fs.read(f"proc/{name}/stat")
            st = procfs.parse_pid_stat(text) if text else None
            if st is None:
                continue  # exited between listdir and read: not an error
            key = (st.pid, st.starttime)
            ticks = st.utime + st.stime
            state = self._procs.get(key)
            cpu_pct: float | None = None
            if dt is not None:
                if state is not None:
                    cpu_pct = max(ticks - state.ticks, 0) / CLK_TCK / dt * 100
                elif prev_uptime is not None and st.starttime / CLK_TCK >= prev_uptime:
                    cpu_pct = ticks / CLK_TCK / dt * 100  # born during this tick
            active = state is None or ticks != state.ticks
            if state is None:
                state = self._procs[key] = _ProcState(ticks=ticks, last_seen=self._tick)
            state.ticks = ticks
            state.last_seen = self._tick
            seen.append((st, key, cpu_pct, active))
        # forget processes that are gone
        for key in [k for k, s in self._procs.items() if s.last_seen != self._tick]:
            del self._procs[key]
        seen.sort(key=lambda s: (-(s[2] or 0.0), -s[0].rss_pages, s[0].pid))
        top = seen if self.options.top_n <= 0 else seen[: self.options.top_n]
        self._schedule_numa(top, mono)
        out = []
        for st, key, cpu_pct, active in top:
            sample = self._process(st, key, cpu_pct, active, mono, dt)
            if sample is not None:
                out.append(sample)
        return tuple(out), len(seen)

    def _process(
        self,
        st: procfs.PidStat,
        key: tuple[int, int],
        cpu_pct: float | None,
        active: bool,
        mono: float,
        dt: float | None,
    ) -> ProcessSample | None:
        state = self._procs[key]
        pid = st.pid
        base = f"proc/{pid}"
        first = state.sample is None
        if first:
            state.kernel = bool(st.flags & procfs.PF_KTHREAD)
            raw = self.fs.read(f"{base}/cmdline", limit=8192)
            state.cmdline = (raw.replace("\x00", " ").strip() or None) if raw else None
        # Idle processes are re-read on a rotation spread by pid (no burst every N
        # ticks), and once more on the tick after first sight so rates exist early.
        every = max(self.options.refresh_every, 1)
        due = (self._tick + pid) % every == 0 or state.status_reads == 1
        if first or active or due:
            text = self.fs.read(f"{base}/status")
            if text is None:
                return None  # gone mid-read
            status = procfs.parse_pid_status(text)
            if status.uid is not None and state.user is None:
                state.user = self._user(status.uid)
            if status.kthread is not None:
                state.kernel = status.kthread
            ctx = (status.voluntary_ctxt, status.nonvoluntary_ctxt)
            elapsed = mono - state.status_mono if state.status_tick >= 0 else None
            if elapsed is not None and elapsed > 0:
                state.ctx_rates = (
                    _rate(state.ctx[0], ctx[0], elapsed),
                    _rate(state.ctx[1], ctx[1], elapsed),
                )
            affinity_changed = status.cpus_allowed != state.affinity
            state.ctx, state.affinity = ctx, status.cpus_allowed
            state.status_tick, state.status_mono = self._tick, mono
            state.status_reads += 1
            if self.options.threads and not state.kernel:
                self._threads(state, base, dt, refresh_affinity=first or due or affinity_changed)
        threads = state.thread_samples
        if threads:
            last = tuple(sorted({t.last_cpu for t in threads if t.last_cpu is not None}))
        else:
            last = (st.processor,) if st.processor is not None else ()
        nodes = tuple(sorted({self._cpu_node[c] for c in last if c in self._cpu_node}))
        sample = ProcessSample(
            pid=pid,
            start_time=round(st.starttime / CLK_TCK, 2),
            ppid=st.ppid,
            user=state.user,
            name=st.comm,
            cmdline=state.cmdline,
            state=st.state,
            cpu_pct=None if cpu_pct is None else round(cpu_pct, 1),
            threads=st.num_threads,
            affinity=state.affinity,
            last_cpus=last,
            nodes_running=nodes,
            rss_bytes=st.rss_pages * PAGE_SIZE,
            ctx_voluntary_per_s=state.ctx_rates[0],
            ctx_involuntary_per_s=state.ctx_rates[1],
            mem_policy=state.numa_policy,
            mem_by_node_bytes=state.numa,
            mem_by_node_mono=state.numa_mono if state.numa is not None else None,
            thread_samples=threads,
            kernel_thread=state.kernel,
        )
        if state.sample is not None and state.sample == sample:
            return state.sample  # unchanged: share the object with the last frame
        state.sample = sample
        return sample

    def _threads(
        self, state: _ProcState, base: str, dt: float | None, refresh_affinity: bool
    ) -> None:
        tids = self.fs.listdir(f"{base}/task")
        if tids is None:
            return
        samples = []
        ticks: dict[int, int] = {}
        for name in sorted(tids, key=lambda t: int(t) if t.isdigit() else -1):
            if not name.isdigit():
                continue
            tid = int(name)
            text = self.fs.read(f"{base}/task/{name}/stat")
            st = procfs.parse_pid_stat(text) if text else None
            if st is None:
                continue  # the thread exited
            t = st.utime + st.stime
            ticks[tid] = t
            old = state.thread_ticks.get(tid)
            pct = None
            if dt is not None and old is not None:
                pct = round(max(t - old, 0) / CLK_TCK / dt * 100, 1)
            if refresh_affinity or tid not in state.thread_affinity:
                status = self.fs.read(f"{base}/task/{name}/status")
                aff = procfs.parse_pid_status(status).cpus_allowed if status else None
                state.thread_affinity[tid] = aff
            aff = state.thread_affinity.get(tid)
            samples.append(
                ThreadSample(
                    tid=tid,
                    name=st.comm,
                    state=st.state,
                    last_cpu=st.processor,
                    cpu_pct=pct,
                    affinity=None if aff is None or aff == state.affinity else aff,
                )
            )
        state.thread_ticks = ticks
        state.thread_affinity = {t: a for t, a in state.thread_affinity.items() if t in ticks}
        state.thread_samples = tuple(samples)
        state.threads_tick = self._tick

    def _schedule_numa(
        self, top: list[tuple[procfs.PidStat, tuple[int, int], float | None, bool]], mono: float
    ) -> None:
        """Read numa_maps of the heaviest K processes, a few per tick, each not too often."""
        k = self.options.numa_k
        if k <= 0 or len(self.topology.nodes) < 1:
            return
        heaviest = sorted(
            (s for s in top if not self._procs[s[1]].kernel),
            key=lambda s: -s[0].rss_pages,
        )[:k]
        due = [
            s
            for s in heaviest
            if self._procs[s[1]].numa_mono is None
            or mono - (self._procs[s[1]].numa_mono or 0.0) >= self.options.numa_every_s
        ]
        due.sort(key=lambda s: self._procs[s[1]].numa_mono or -1.0)  # never read first
        for st, key, _, _ in due[: self.options.numa_per_tick]:
            state = self._procs[key]
            state.numa_mono = mono  # also on failure: do not retry every tick
            text = self.fs.read(f"proc/{st.pid}/numa_maps", limit=64 << 20)
            if text is None:
                continue  # gone, or another user's process without the right
            state.numa, state.numa_policy = procfs.parse_numa_maps(text, PAGE_SIZE // 1024)

    def _user(self, uid: int) -> str:
        name = self._users.get(uid)
        if name is None:
            name = self._user_names().get(uid, str(uid))
            self._users[uid] = name
        return name

    def _user_names(self) -> dict[int, str]:
        # The live machine asks NSS (LDAP users too); a fake or gathered tree has
        # its own etc/passwd, and local names would be wrong for it.
        if os.path.realpath(self.fs.root) == "/":
            return {p.pw_uid: p.pw_name for p in pwd.getpwall()}
        out: dict[int, str] = {}
        for line in (self.fs.read("etc/passwd", limit=1 << 20) or "").splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2].isdigit():
                out.setdefault(int(parts[2]), parts[0])
        return out


def _rate(old: int | None, new: int | None, dt: float | None) -> float | None:
    if old is None or new is None or dt is None or dt <= 0:
        return None
    return round(max(new - old, 0) / dt, 1)


def _cpu_pcts(old: tuple[int, ...] | None, cur: tuple[int, ...] | None) -> dict[str, float | None]:
    if old is None or cur is None:
        return {}
    d = [max(c - o, 0) for c, o in zip(cur, old, strict=True)]
    user, nice, system, idle, iowait, irq, softirq, steal = d
    total = sum(d)
    if total <= 0:
        return dict.fromkeys(CPU_METRICS, 0.0)  # no tick elapsed on it: idle
    scale = 100.0 / total
    return {
        "busy_pct": (total - idle - iowait) * scale,
        "user_pct": user * scale,
        "nice_pct": nice * scale,
        "system_pct": system * scale,
        "iowait_pct": iowait * scale,
        "irq_pct": (irq + softirq) * scale,
        "steal_pct": steal * scale,
    }
