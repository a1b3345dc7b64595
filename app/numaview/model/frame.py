"""One sample of the machine: what was measured in one tick, as frozen data.

Keyed by CPU id, node id and (pid, start time), never by list position. The
ring buffer holds an hour of these, so the per-CPU numbers are columns
(``CpuTable``: one float32 array per metric, 4 bytes a CPU) rather than an
object per CPU, and unchanged process rows are the same objects from frame to
frame. Missing data is None (NaN inside the columns), never 0.
"""

from __future__ import annotations

import itertools
import math
import operator
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, overload

from numaview.model.gpu import GpuSample, gpu_mem_from_json, gpu_mem_to_json
from numaview.model.workload import WorkloadSample

FRAME_VERSION = 2  # 2: workload samples (version 1 frames have none)

CPU_METRICS = (
    "busy_pct",
    "user_pct",
    "nice_pct",
    "system_pct",
    "iowait_pct",
    "irq_pct",  # irq + softirq
    "steal_pct",
)

NAN = float("nan")


def _opt(v: float) -> float | None:
    return None if math.isnan(v) else round(v, 1)


@dataclass(frozen=True, slots=True)
class CpuSample:
    """One CPU's row of a CpuTable (built on demand; not what frames store)."""

    id: int
    online: bool
    busy_pct: float | None
    user_pct: float | None
    nice_pct: float | None
    system_pct: float | None
    iowait_pct: float | None
    irq_pct: float | None
    steal_pct: float | None


@dataclass(frozen=True, slots=True, eq=False)
class CpuTable:
    """Per-CPU percentages over the tick, one float32 column per metric."""

    ids: tuple[int, ...]
    online: tuple[bool, ...]
    columns: Mapping[str, array[float]]

    def __post_init__(self) -> None:
        n = len(self.ids)
        if len(self.online) != n or any(len(c) != n for c in self.columns.values()):
            raise ValueError("CpuTable columns differ in length")

    @classmethod
    def build(
        cls, ids: Sequence[int], online: Sequence[bool], rows: Mapping[str, Sequence[float | None]]
    ) -> CpuTable:
        cols = {m: array("f", (NAN if v is None else v for v in rows[m])) for m in CPU_METRICS}
        return cls(tuple(ids), tuple(online), cols)

    def __len__(self) -> int:
        return len(self.ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CpuTable):
            return NotImplemented
        return (
            self.ids == other.ids
            and self.online == other.online
            and all(
                [_opt(a) for a in self.columns[m]] == [_opt(b) for b in other.columns[m]]
                for m in CPU_METRICS
            )
        )

    def index(self, cpu_id: int) -> int | None:
        try:
            return self.ids.index(cpu_id)
        except ValueError:
            return None

    def value(self, cpu_id: int, metric: str = "busy_pct") -> float | None:
        i = self.index(cpu_id)
        return None if i is None else _opt(self.columns[metric][i])

    def busy_by_cpu(self) -> dict[int, float | None]:
        col = self.columns["busy_pct"]
        return {c: _opt(col[i]) for i, c in enumerate(self.ids)}

    def row(self, i: int) -> CpuSample:
        return CpuSample(
            self.ids[i], self.online[i], *(_opt(self.columns[m][i]) for m in CPU_METRICS)
        )

    def __iter__(self) -> Iterator[CpuSample]:
        return (self.row(i) for i in range(len(self.ids)))


@dataclass(frozen=True, slots=True)
class NodeSample:
    id: int
    busy_pct: float | None = None
    mem_total_bytes: int | None = None
    mem_free_bytes: int | None = None
    file_bytes: int | None = None
    anon_bytes: int | None = None
    numa_hit_per_s: float | None = None
    numa_miss_per_s: float | None = None
    numa_foreign_per_s: float | None = None
    interleave_hit_per_s: float | None = None
    local_node_per_s: float | None = None
    other_node_per_s: float | None = None


@dataclass(frozen=True, slots=True)
class SystemSample:
    load: tuple[float, float, float] | None = None
    procs_running: int | None = None
    procs_blocked: int | None = None
    ctx_switches_per_s: float | None = None
    numa_hint_faults_per_s: float | None = None
    numa_hint_faults_local_per_s: float | None = None
    numa_pages_migrated_per_s: float | None = None
    psi_cpu_some_avg10: float | None = None
    psi_memory_some_avg10: float | None = None
    psi_memory_full_avg10: float | None = None
    processes_total: int | None = None  # all processes seen, before the top-N cut


@dataclass(frozen=True, slots=True)
class ThreadSample:
    tid: int
    name: str
    state: str
    last_cpu: int | None
    cpu_pct: float | None
    affinity: tuple[int, ...] | None = None  # None: same as the process


class ThreadTable(Sequence[ThreadSample]):
    """A process's threads as columns: 4-8 bytes a thread a field instead of an object.

    Behaves as a sequence of ThreadSample (built on access), so callers iterate
    it like a tuple; equal tables compare equal, so unchanged ones are shared.
    """

    __slots__ = ("_aff", "_cpu", "_names", "_pct", "_states", "_tids")

    def __init__(
        self, samples: Iterable[ThreadSample], intern: Callable[[Any], Any] | None = None
    ) -> None:
        """``intern`` maps equal name tuples to one object, frame after frame."""
        rows = list(samples)
        self._tids = array("l", (t.tid for t in rows))
        self._cpu = array("h", (-1 if t.last_cpu is None else t.last_cpu for t in rows))
        self._pct = array("f", (-1.0 if t.cpu_pct is None else t.cpu_pct for t in rows))
        self._names = tuple(t.name for t in rows)
        self._states = "".join(t.state[:1] or "?" for t in rows)
        affs = tuple(t.affinity for t in rows)
        self._aff = None if all(a is None for a in affs) else affs
        if intern is not None:
            self._names = intern(self._names)
            self._states = intern(self._states)
            self._aff = intern(self._aff) if self._aff is not None else None

    def __len__(self) -> int:
        return len(self._tids)

    def _row(self, i: int) -> ThreadSample:
        cpu, pct = self._cpu[i], self._pct[i]
        return ThreadSample(
            tid=self._tids[i],
            name=self._names[i],
            state=self._states[i],
            last_cpu=None if cpu < 0 else cpu,
            cpu_pct=None if pct < 0 else round(pct, 1),
            affinity=None if self._aff is None else self._aff[i],
        )

    @overload
    def __getitem__(self, i: int) -> ThreadSample: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[ThreadSample, ...]: ...
    def __getitem__(self, i: int | slice) -> ThreadSample | tuple[ThreadSample, ...]:
        if isinstance(i, slice):
            return tuple(self._row(j) for j in range(*i.indices(len(self))))
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._row(i)

    def __iter__(self) -> Iterator[ThreadSample]:
        return (self._row(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ThreadTable):
            return NotImplemented
        return (
            self._tids == other._tids
            and self._cpu == other._cpu
            and self._pct == other._pct
            and self._names == other._names
            and self._states == other._states
            and self._aff == other._aff
        )

    def __hash__(self) -> int:
        return hash((tuple(self._tids), self._states))

    def __repr__(self) -> str:
        return f"ThreadTable({list(self)!r})"

    @property
    def last_cpus(self) -> tuple[int, ...]:
        """The distinct CPUs its threads last ran on, without building rows."""
        return tuple(sorted({c for c in self._cpu if c >= 0}))

    # The detectors' questions, answered from the columns (no row objects built).

    # Asked of every busy pool each frame: the loops run in C (map, compress), as a
    # pool of 250 threads is 250 comparisons a question.

    def busy(self, pct: float) -> int:
        """Threads at least ``pct`` % busy."""
        return sum(map(float(pct).__le__, self._pct))

    def runnable(self, pct: float) -> int:
        """Threads runnable now (state R) or at least ``pct`` % busy."""
        return sum(
            map(operator.or_, map(float(pct).__le__, self._pct), map("R".__eq__, self._states))
        )

    def busy_cpus(self, pct: float) -> list[int]:
        """The CPU each thread at least ``pct`` % busy last ran on (repeats count)."""
        return [
            c for c in itertools.compress(self._cpu, map(float(pct).__le__, self._pct)) if c >= 0
        ]


@dataclass(frozen=True, slots=True)
class ProcessSample:
    pid: int
    start_time: float  # seconds after boot (from /proc/PID/stat)
    ppid: int | None
    user: str | None
    name: str
    cmdline: str | None
    state: str
    cpu_pct: float | None  # 100 = one CPU; may exceed 100
    threads: int
    affinity: tuple[int, ...] | None
    last_cpus: tuple[int, ...]  # distinct CPUs its threads last ran on
    nodes_running: tuple[int, ...]  # nodes of those CPUs
    rss_bytes: int | None
    ctx_voluntary_per_s: float | None = None
    ctx_involuntary_per_s: float | None = None
    mem_policy: str | None = None
    mem_by_node_bytes: Mapping[int, int] | None = None
    mem_by_node_mono: float | None = None  # when numa_maps was read (sampler's clock)
    thread_samples: ThreadTable | None = None  # None: not read
    kernel_thread: bool = False
    gpus: tuple[int, ...] = ()  # GPUs it uses (topology.Gpu.index)
    gpu_mem_bytes: Mapping[int, int] | None = None  # GPU memory it holds, per GPU (NVML, fdinfo)

    @property
    def key(self) -> tuple[int, float]:
        return (self.pid, self.start_time)

    @property
    def thread_affinities_differ(self) -> bool:
        return any(t.affinity is not None for t in self.thread_samples or ())


@dataclass(frozen=True, slots=True)
class SamplerCost:
    """numaview's own overhead, measured: the tick's CPU time and the process's CPU %."""

    tick_cpu_s: float | None = None
    tick_wall_s: float | None = None
    self_cpu_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Frame:
    time: float  # wall clock (epoch seconds) at the end of the tick
    mono: float  # monotonic clock of the sampler
    interval_s: float  # the time the rates cover
    cpus: CpuTable
    nodes: tuple[NodeSample, ...]
    system: SystemSample
    processes: tuple[ProcessSample, ...]
    errors: tuple[str, ...] = ()
    cost: SamplerCost = field(default_factory=SamplerCost)
    seq: int = 0
    version: int = FRAME_VERSION
    workload: tuple[WorkloadSample, ...] = ()  # the load test's sources, latest samples
    gpus: tuple[GpuSample, ...] = ()  # one a GPU of the topology that could be read

    def node(self, node_id: int) -> NodeSample | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None

    def process(self, pid: int) -> ProcessSample | None:
        for p in self.processes:
            if p.pid == pid:
                return p
        return None

    # -- JSON ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "seq": self.seq,
            "time": self.time,
            "mono": self.mono,
            "interval_s": self.interval_s,
            "cpus": [
                {"id": r.id, "online": r.online, **{m: getattr(r, m) for m in CPU_METRICS}}
                for r in self.cpus
            ],
            "nodes": [_plain(n) for n in self.nodes],
            "system": {
                **_plain(self.system),
                "load": list(self.system.load) if self.system.load else None,
            },
            "processes": [process_to_dict(p) for p in self.processes],
            "errors": list(self.errors),
            "cost": _plain(self.cost),
            "workload": [w.to_dict() for w in self.workload],
            "gpus": [g.to_dict() for g in self.gpus],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Frame:
        """Rebuild from ``to_dict`` output; ValueError if malformed or newer."""
        try:
            version = d.get("version")
            if not isinstance(version, int) or version > FRAME_VERSION:
                raise ValueError(f"frame version {version!r} is newer than this numaview reads")
            cpus = d["cpus"]
            table = CpuTable.build(
                [int(c["id"]) for c in cpus],
                [bool(c["online"]) for c in cpus],
                {m: [c.get(m) for c in cpus] for m in CPU_METRICS},
            )
            system = dict(d["system"])
            if system.get("load") is not None:
                system["load"] = tuple(system["load"])
            return cls(
                time=float(d["time"]),
                mono=float(d.get("mono", d["time"])),
                interval_s=float(d["interval_s"]),
                cpus=table,
                nodes=tuple(NodeSample(**_known(NodeSample, n)) for n in d["nodes"]),
                system=SystemSample(**_known(SystemSample, system)),
                processes=tuple(process_from_dict(p) for p in d["processes"]),
                errors=tuple(d.get("errors") or ()),
                cost=SamplerCost(**_known(SamplerCost, d.get("cost") or {})),
                seq=int(d.get("seq", 0)),
                version=version,
                workload=tuple(WorkloadSample.from_dict(w) for w in d.get("workload") or ()),
                gpus=tuple(GpuSample.from_dict(g) for g in d.get("gpus") or ()),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed frame: {exc!r}") from None


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


def _known(cls: type, d: Mapping[str, Any]) -> dict[str, Any]:
    # Newer minor versions may add keys; an older reader ignores them.
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in d.items() if k in names}


def process_to_dict(p: ProcessSample) -> dict[str, Any]:
    d = _plain(p)
    d["affinity"] = None if p.affinity is None else list(p.affinity)
    d["last_cpus"] = list(p.last_cpus)
    d["nodes_running"] = list(p.nodes_running)
    d["mem_by_node_bytes"] = (
        None
        if p.mem_by_node_bytes is None
        else {str(k): v for k, v in sorted(p.mem_by_node_bytes.items())}
    )
    d["gpus"] = list(p.gpus)
    d["gpu_mem_bytes"] = gpu_mem_to_json(p.gpu_mem_bytes)
    d["thread_samples"] = (
        None
        if p.thread_samples is None
        else [
            {**_plain(t), "affinity": None if t.affinity is None else list(t.affinity)}
            for t in p.thread_samples
        ]
    )
    return d


def process_from_dict(d: Mapping[str, Any]) -> ProcessSample:
    v = _known(ProcessSample, d)
    v["affinity"] = None if v.get("affinity") is None else tuple(v["affinity"])
    v["last_cpus"] = tuple(v.get("last_cpus") or ())
    v["nodes_running"] = tuple(v.get("nodes_running") or ())
    mem = v.get("mem_by_node_bytes")
    v["mem_by_node_bytes"] = None if mem is None else {int(k): int(b) for k, b in mem.items()}
    v["gpus"] = tuple(v.get("gpus") or ())
    v["gpu_mem_bytes"] = gpu_mem_from_json(v.get("gpu_mem_bytes"))
    threads = v.get("thread_samples")
    v["thread_samples"] = (
        None
        if threads is None
        else ThreadTable(
            ThreadSample(
                **{
                    **_known(ThreadSample, t),
                    "affinity": None if t.get("affinity") is None else tuple(t["affinity"]),
                }
            )
            for t in threads
        )
    )
    return ProcessSample(**v)
