"""What a partition is made of: the processes to place, each one's share, refusals.

Plain frozen data (model only), computed by partition.py and shown by the
plan dialog, ``numaview plan`` and the detectors' "separate them" fixes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from numaview.model.cpuset import format_cpulist
from numaview.model.frame import ProcessSample

STRATEGIES: dict[str, str] = {
    "node": "one NUMA node each",
    "l3": "one L3 domain each",
    "package": "one package each",
    "cores": "equal shares of whole cores",
}


class PartitionError(ValueError):
    """A partition that cannot be made at all; one line a user can act on."""


@dataclass(frozen=True, slots=True)
class Member:
    """One process to place, with what the partition weighs: load, memory, current mask."""

    pid: int
    start_time: float
    name: str
    cpu_pct: float | None = None
    busy_threads: int = 1
    mem_by_node: Mapping[int, int] | None = None
    affinity: tuple[int, ...] | None = None
    allowed: tuple[int, ...] | None = None  # its cgroup cpuset's CPUs (None: unknown)
    user: str | None = None
    running: tuple[int, ...] = ()  # the CPUs its threads ran on last (it stays near them)

    @classmethod
    def of(
        cls, p: ProcessSample, busy_pct: float = 50.0, allowed: tuple[int, ...] | None = None
    ) -> Member:
        """A sampled process as a plan weighs it; ``allowed``: its cgroup cpuset, if read."""
        if p.thread_samples:
            busy = p.thread_samples.busy(busy_pct)
        else:
            busy = math.ceil((p.cpu_pct or 0.0) / 100 - 0.2)
        return cls(
            p.pid,
            p.start_time,
            p.name,
            p.cpu_pct,
            max(1, busy),
            p.mem_by_node_bytes,
            p.affinity,
            allowed,
            p.user,
            p.last_cpus,
        )

    @property
    def home(self) -> int | None:
        """The node holding most of its memory (None: unknown or none)."""
        mem = {n: b for n, b in (self.mem_by_node or {}).items() if b > 0}
        return max(sorted(mem), key=lambda n: mem[n]) if mem else None

    @property
    def mem_total(self) -> int:
        return sum((self.mem_by_node or {}).values())


@dataclass(frozen=True, slots=True)
class Share:
    """What one process gets: its CPUs, where they are, and the memory that moves (or not)."""

    pid: int
    start_time: float
    name: str
    cpus: tuple[int, ...]
    nodes: tuple[int, ...]
    domain: str  # "node 1", "L3 3", "package 0", "cores"
    whole: bool  # the whole domain (else a share of its cores)
    move_memory: bool
    off_bytes: int | None  # its memory not on ``nodes`` (None: unknown)
    stays: bool  # its affinity is already exactly this
    crowded: bool  # more busy threads than CPUs in the share
    n_cores: int = 0  # whole cores in it

    @property
    def label(self) -> str:
        """How a person names the target: ``node 1``, ``2 cores of L3 3``, ``4 cores``."""
        if self.whole and self.domain != "cores":
            return self.domain
        cores = self.n_cores or len(self.cpus)
        word = "core" if cores == 1 else "cores"
        return f"{cores} {word}" + ("" if self.domain == "cores" else f" of {self.domain}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "start_time": self.start_time,
            "name": self.name,
            "cpus": list(self.cpus),
            "cpulist": format_cpulist(self.cpus),
            "nodes": list(self.nodes),
            "target": self.label,
            "move_memory": self.move_memory,
            "memory_off_target_bytes": self.off_bytes,
            "stays": self.stays,
            "crowded": self.crowded,
        }


@dataclass(frozen=True, slots=True)
class Refusal:
    pid: int
    name: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"pid": self.pid, "name": self.name, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Partition:
    strategy: str
    shares: tuple[Share, ...]
    refused: tuple[Refusal, ...]
    housekeeping: tuple[int, ...]  # CPUs kept free
    move_memory: bool

    @property
    def ok(self) -> bool:
        """Nothing refused: it can be applied as a whole."""
        return not self.refused and bool(self.shares)

    @property
    def moves(self) -> tuple[Share, ...]:
        """The shares that change something (a process already there is left alone)."""
        return tuple(
            s for s in self.shares if not s.stays or (s.move_memory and (s.off_bytes or 0) > 0)
        )

    @property
    def label(self) -> str:
        text = STRATEGIES[self.strategy]
        n = len(self.housekeeping)
        if n:
            text += f", CPUs {format_cpulist(self.housekeeping)} kept free"
        return text + (", memory moved along" if self.move_memory else "")

    def share(self, pid: int) -> Share | None:
        return next((s for s in self.shares if s.pid == pid), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "label": self.label,
            "housekeeping": format_cpulist(self.housekeeping),
            "move_memory": self.move_memory,
            "ok": self.ok,
            "shares": [s.to_dict() for s in self.shares],
            "refused": [r.to_dict() for r in self.refused],
        }
