"""What every detector shares: the per-frame Context and the small helpers.

The Context is built once per frame by the engine and read by each detector;
the helpers count a process's busy and runnable threads, group pinned
processes by their CPU set, name them in evidence and make pin plans, so
that every detector words and sizes these the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from numaview.diagnose.findings import PinPlan, Thresholds
from numaview.model.frame import Frame, ProcessSample
from numaview.model.partition import Member
from numaview.model.topology import Topology
from numaview.model.workload import served_by_pid


@dataclass(frozen=True, slots=True)
class Context:
    """What every detector needs, computed once per frame."""

    frame: Frame
    history: Sequence[Frame]  # recent frames, oldest first, the newest included
    topo: Topology
    t: Thresholds
    busy: dict[int, float]  # online CPUs with a known busy %
    load: dict[int, float]  # the same less niced work: what a normal-priority thread competes with
    node_of: dict[int, int]
    node_cpus: dict[int, tuple[int, ...]]  # online CPUs of each node
    siblings: dict[int, tuple[int, ...]]
    served: Mapping[int, str] = field(default_factory=dict)  # pid -> "vllm :8001"
    _cores: dict[tuple[int, ...], list[tuple[int, ...]]] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict)  # answers computed once per frame

    @classmethod
    def build(cls, history: Sequence[Frame], topo: Topology, t: Thresholds) -> Context:
        frame = history[-1]
        busy = {c: v for c, v in frame.cpus.busy_by_cpu().items() if v is not None}
        nice = frame.cpus.columns["nice_pct"]
        load = {}
        for i, cpu in enumerate(frame.cpus.ids):
            if cpu in busy:
                n = nice[i]
                load[cpu] = busy[cpu] - (0.0 if math.isnan(n) else min(n, busy[cpu]))
        return cls(
            frame=frame,
            history=history,
            topo=topo,
            t=t,
            busy=busy,
            load=load,
            node_of={c.id: c.node for c in topo.cpus if c.node is not None},
            node_cpus={n.id: n.cpus for n in topo.nodes},
            siblings={c.id: c.siblings or (c.id,) for c in topo.cpus},
            served=served_by_pid(frame.workload),
        )

    def idle(self, cpus: Sequence[int]) -> list[int]:
        """CPUs idle, or busy only with niced work (which yields to a normal thread at once).

        A shared machine's background job at nice 19 gets 1.5 % of a CPU against
        a nice-0 thread: for a process moved there, that CPU is as good as idle.
        """
        idle = self.idle_set
        return [c for c in cpus if c in idle]

    @property
    def idle_set(self) -> frozenset[int]:
        """The CPUs ``idle`` keeps, as a set (asked thousands of times a frame on 512 CPUs)."""
        got = self._memo.get("idle")
        if got is None:
            limit = self.t.idle_pct
            got = self._memo["idle"] = frozenset(c for c, v in self.load.items() if v < limit)
        return got

    def idle_cores(self, cpus: Sequence[int]) -> list[tuple[int, ...]]:
        """Whole physical cores (every sibling idle) among ``cpus``, each once.

        Asked again and again with the same CPUs (a node's, the machine's) by the
        detectors and the merge: answered once per frame.
        """
        key = tuple(cpus)
        known = self._cores.get(key)
        if known is not None:
            return list(known)
        out, seen = [], set()
        for c in sorted(cpus):
            core = self.siblings.get(c, (c,))
            if core in seen:
                continue
            seen.add(core)
            if all(self.load.get(s, 100.0) < self.t.idle_pct for s in core):
                out.append(core)
        self._cores[key] = out
        return list(out)

    def busy_procs(self) -> list[ProcessSample]:
        # kernel threads are never named nor moved: per-CPU ones cannot be re-pinned
        return [
            p
            for p in self.frame.processes
            if (p.cpu_pct or 0.0) >= self.t.busy_pct and not p.kernel_thread
        ]

    def contenders(self) -> list[ProcessSample]:
        """Processes that want CPU time: busy ones, and a quarter-busy one that waits for a CPU.

        N processes sharing one CPU get 100/N % each, and GIL-bound Python threads
        take turns (each thread looks idle, the process does not): a process's
        own CPU % and involuntary switches count, not only its busy threads.
        """
        t = self.t
        return [
            p
            for p in self.frame.processes
            if not p.kernel_thread
            and (
                (p.cpu_pct or 0.0) >= t.busy_pct
                or (
                    (p.cpu_pct or 0.0) >= t.busy_pct / 4
                    and (p.ctx_involuntary_per_s or 0.0) >= t.invol_per_s
                )
            )
        ]


def _busy_threads(p: ProcessSample, t: Thresholds) -> int:
    if p.thread_samples:
        return p.thread_samples.busy(t.busy_pct)
    return max(1, math.ceil((p.cpu_pct or 0.0) / 100 - 0.2))


def _runnable(p: ProcessSample, t: Thresholds) -> int:
    """Threads that want a CPU now: runnable or busy ones, and at least the CPUs it uses.

    A process that uses half a CPU and is switched out involuntarily hundreds
    of times a second wants one CPU, even when no single thread looks busy
    (two GIL-bound threads taking turns, or a CPU shared with another process).
    """
    n = p.thread_samples.runnable(t.busy_pct) if p.thread_samples else _busy_threads(p, t)
    uses = math.ceil((p.cpu_pct or 0.0) / 100 - 0.2)
    waits = int((p.ctx_involuntary_per_s or 0.0) >= t.invol_per_s)
    return max(n, uses, waits)


def _groups(c: Context) -> list[tuple[tuple[int, ...], list[ProcessSample]]]:
    """Pinned processes that want CPU, grouped by identical affinity (engines sharing CPUs).

    A group counts when together they are busy, so two burners at 50 % each on
    one CPU are seen, not only processes busy on their own. Once per frame.
    """
    got = c._memo.get("groups")
    if got is None:
        got = c._memo["groups"] = _group(c)
    return list(got)


def _group(c: Context) -> list[tuple[tuple[int, ...], list[ProcessSample]]]:
    everything = set(c.busy)
    groups: dict[tuple[int, ...], list[ProcessSample]] = {}
    # Masks are shared objects frame-wide: each distinct one is filtered once.
    allowed_of: dict[int, tuple[tuple[int, ...], tuple[int, ...] | None]] = {}
    for p in c.contenders():
        if p.kernel_thread or not p.affinity:
            continue
        known = allowed_of.get(id(p.affinity))
        if known is None:
            allowed = tuple(x for x in p.affinity if x in c.busy)
            pinned = allowed if allowed and not everything <= set(allowed) else None
            known = allowed_of[id(p.affinity)] = (p.affinity, pinned)
        if known[1] is not None:
            groups.setdefault(known[1], []).append(p)
    groups = {k: v for k, v in groups.items() if sum(p.cpu_pct or 0.0 for p in v) >= c.t.busy_pct}
    # by pid, not by the frame's CPU order: the finding's key must not change when two
    # processes sharing CPUs swap places from one frame to the next
    return sorted(
        ((k, sorted(v, key=lambda p: p.pid)) for k, v in groups.items()), key=lambda kv: kv[0]
    )


def _group_name(procs: Sequence[ProcessSample], served: Mapping[int, str]) -> str:
    if len(procs) == 1:
        return _who(procs[0], served)
    return " + ".join(f"{_serving(p, served)} ({p.pid})" for p in procs)


def _serving(p: ProcessSample, served: Mapping[int, str]) -> str:
    """Its name, and the load test's server it is when it is one: ``python3 [vllm :8001]``."""
    what = served.get(p.pid)
    return p.name if what is None else f"{p.name} [{what}]"


def _who(p: ProcessSample, served: Mapping[int, str]) -> str:
    return f"pid {p.pid} {_serving(p, served)}"


def _nodes_text(nodes: Sequence[int]) -> str:
    return ("node " if len(nodes) == 1 else "nodes ") + ",".join(map(str, nodes))


def _plan(p: ProcessSample, cpus: Sequence[int], move: bool, target: str) -> PinPlan:
    return PinPlan(p.pid, p.start_time, tuple(sorted(cpus)), move, target)


def member(p: ProcessSample, c: Context) -> Member:
    """A process as a plan sees it: load, busy threads, memory per node, mask."""
    return Member.of(p, c.t.busy_pct)
