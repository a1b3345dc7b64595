"""Pinning inside ``numaview demo``: the same checks and events, applied to the simulation.

The simulation is duck-typed (``set_affinity`` and ``describe``), so this
layer does not depend on the sampler's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from numaview.model.cpuset import format_cpulist
from numaview.pinning.apply import MemoryMove, PinEvent, ThreadChange
from numaview.pinning.plan import PinError, Target


class Simulation(Protocol):
    def describe(self, pid: int) -> tuple[str, tuple[int, ...], tuple[int, ...], bool] | None:
        """(name, affinity, thread ids, kernel thread?) or None when there is no such pid."""
        ...

    def set_affinity(self, pid: int, cpus: tuple[int, ...], move_memory: bool = False) -> None: ...


@dataclass
class SimulatedPinner:
    sim: Simulation
    clock: Callable[[], float] = time.time
    events: list[PinEvent] = field(default_factory=list)
    cpusets: dict[int, tuple[int, ...]] = field(default_factory=dict)  # a test's cgroup limits
    _undo: dict[int, list[tuple[int, ...]]] = field(default_factory=dict)

    def cpuset(self, pid: int) -> tuple[int, ...] | None:
        return self.cpusets.get(pid)

    def move_memory(self, pid: int, nodes: tuple[int, ...], dry_run: bool = False) -> MemoryMove:
        """The simulated pages follow the process's CPUs over a few ticks."""
        info = self.sim.describe(pid)
        if info is None:
            raise PinError(f"process {pid} is gone", "gone")
        if not dry_run:
            self.sim.set_affinity(pid, info[1], move_memory=True)
        return MemoryMove((), nodes, None, None, 0)

    def identity(self, pid: int) -> tuple[str, str, int, bool]:
        info = self.sim.describe(pid)
        if info is None:
            raise PinError(f"process {pid} is gone", "gone")
        return "0", info[0], 0, info[3]

    def can_undo(self, pid: int) -> bool:
        return bool(self._undo.get(pid))

    def is_foreign(self, pid: int) -> bool:
        """The demo runs as the owner of everything (a test may say otherwise)."""
        return False

    def apply(
        self, pid: int, target: Target, move_memory: bool = False, dry_run: bool = False
    ) -> PinEvent:
        info = self.sim.describe(pid)
        if info is None:
            raise PinError(f"process {pid} is gone", "gone")
        name, before, tids, kernel = info
        if kernel:
            raise PinError(
                f"pid {pid} ({name}) is a kernel thread; numaview does not move kernel threads",
                "kernel",
            )
        if target.kind == "undo":
            if not self._undo.get(pid):
                raise PinError(f"nothing to undo for pid {pid} ({name})", "bad-target")
            after = self._undo[pid][-1]
        else:
            after = target.cpus
            allowed = self.cpusets.get(pid)
            if allowed is not None and not set(after) <= set(allowed):
                raise PinError(
                    f"CPUs {format_cpulist(after)} are not allowed for pid {pid} ({name}):"
                    " outside its cgroup cpuset or offline (EINVAL)",
                    "einval",
                )
        threads = tuple(ThreadChange(t, before, after) for t in tids)
        memory = None
        if move_memory and target.nodes:
            memory = MemoryMove((), target.nodes, None, None, 0)
        event = PinEvent(self.clock(), pid, name, target.label, after, threads, memory,
                         undo=target.kind == "undo", dry_run=dry_run)  # fmt: skip
        if dry_run:
            return event
        self.sim.set_affinity(pid, after, move_memory=move_memory and bool(target.nodes))
        if target.kind == "undo":
            self._undo[pid].pop()
        else:
            self._undo.setdefault(pid, []).append(before)
        self.events.append(event)
        return event
