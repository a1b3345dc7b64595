"""What a detector reports: a finding with its evidence and a fix that can be applied.

Plain frozen data (no textual, no I/O): findings travel to the UI, to
``numaview diagnose --json`` and, later, into recordings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from numaview.model.cpuset import format_cpulist

KINDS = (
    "idle-cores",
    "cross-node",
    "smt-contention",
    "oversubscription",
    "overlapping-affinity",
    "node-memory-pressure",
    "wandering",
    "cache-contention",
    "gpu-far",
)
SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True)
class PinPlan:
    """Move process ``pid`` (all its threads) to ``cpus``; optionally its memory too."""

    pid: int
    start_time: float
    cpus: tuple[int, ...]
    move_memory: bool = False
    target: str = ""  # how a person would name the target: "node 0", "L3 4", "cores 40-47"

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "start_time": self.start_time,
            "cpus": list(self.cpus),
            "cpulist": format_cpulist(self.cpus),
            "move_memory": self.move_memory,
            "target": self.target,
        }


@dataclass(frozen=True, slots=True)
class Symptom:
    """One detector's view of a cause, kept inside the merged finding (JSON keeps its kind)."""

    kind: str
    severity: str
    key: str
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "key": self.key,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    severity: str
    key: str  # identity across frames, for hysteresis: kind + what it is about
    evidence: (
        str  # numbers: "pid 4121 llama-server: 16 threads on node 1, 92 % of 40 GiB on node 0"
    )
    explanation: str  # plain language: why this costs performance
    pids: tuple[int, ...] = ()
    cpus: tuple[int, ...] = ()
    nodes: tuple[int, ...] = ()
    fix: PinPlan | None = None
    since: float | None = None  # monotonic time it was raised
    score: float = 0.0  # within a severity, bigger first
    plan: tuple[PinPlan, ...] = ()  # a fix that moves several processes as one (fix is None)
    symptoms: tuple[Symptom, ...] = ()  # merged: every detector's evidence of this one cause

    @property
    def fixes(self) -> tuple[PinPlan, ...]:
        """Every move the fix makes: the plan's, or the one pin's."""
        return self.plan or (() if self.fix is None else (self.fix,))

    @property
    def rank(self) -> tuple[int, float]:
        return (SEVERITIES.index(self.severity), self.score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "pids": list(self.pids),
            "cpus": list(self.cpus),
            "nodes": list(self.nodes),
            "evidence": self.evidence,
            "explanation": self.explanation,
            "fix": None if self.fix is None else self.fix.to_dict(),
            "plan": [p.to_dict() for p in self.plan],
            "symptoms": [s.to_dict() for s in self.symptoms],
            "since": self.since,
        }


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Every number the detectors compare against, in one place, all overridable."""

    busy_pct: float = 50.0  # a process or thread this busy counts as busy
    saturated_pct: float = 85.0  # a CPU or node this busy counts as saturated
    idle_pct: float = 10.0  # a CPU, core or node this idle counts as idle
    cross_node_share: float = 0.70  # share of memory on a node its threads do not run on
    cross_node_min_bytes: int = 256 * 1024**2  # ignore small processes
    remote_share: float = 0.20  # other_node / (local + other) on a node
    remote_min_per_s: float = 1000.0
    invol_per_s: float = 100.0  # involuntary context switches/s that mean waiting for a CPU
    run_queue_factor: float = 1.5  # procs_running / online CPUs
    psi_cpu_some: float = 20.0  # PSI cpu some avg10 (%)
    mem_free_share: float = 0.05  # a node this full is under pressure
    mem_room_share: float = 0.30  # and another node this free has room
    wander_changes: int = 3  # node-set changes of a process within the window
    wander_window_s: float = 10.0
    wander_settle_s: float = 3.0  # no node change for this long: it has settled
    raise_after_s: float = 3.0  # a finding must hold this long to be raised
    clear_after_s: float = 5.0  # and be gone this long to be cleared


@dataclass(slots=True)
class _Tracked:
    finding: Finding
    first_seen: float
    last_seen: float
    raised: bool = False
    history: list[float] = field(default_factory=list)
