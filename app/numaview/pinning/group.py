"""A plan applied as one transaction: several processes re-pinned together, or none.

Each process is pinned by the pinner as ``numaview pin`` does it (every
thread, read back, its old masks kept); when one of them fails, the ones
already pinned are put back with their own undo, in reverse order, and the
error says which failed, why, and that the others were restored. Memory is
moved only once every CPU pin held, so a refused pin never leaves pages
moved; a memory move that fails puts the CPUs back and moves the pages
already moved back to the node that held most of them before (the kernel
cannot restore the exact per-node split, so that part is best effort and
the message says so). One PlanEvent describes the whole plan: one event in
the recording, one line in the notification, and what one undo takes back.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from numaview.model.cpuset import format_cpulist
from numaview.model.partition import Partition

if TYPE_CHECKING:  # apply.py reads /proc: the dialogs import this module, not that one
    from numaview.pinning.apply import MemoryMove, PinEvent, Pinner
from numaview.pinning.plan import PinError, Target, undo_target


@dataclass(frozen=True, slots=True)
class Move:
    """One process of a plan and where it goes."""

    pid: int
    name: str
    target: Target
    move_memory: bool = False


@dataclass(frozen=True, slots=True)
class PlanEvent:
    """What a plan (or its undo) changed, process by process."""

    time: float
    label: str  # "one NUMA node each", "separate pid 4121 and pid 5200"
    pins: tuple[PinEvent, ...]
    undo: bool = False
    dry_run: bool = False

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(p.pid for p in self.pins)

    def summary(self) -> str:
        n = len(self.pins)
        procs = f"{n} process{'' if n == 1 else 'es'}"
        if self.undo:
            return (
                f"{'would restore' if self.dry_run else 'restored'} {procs} to their previous CPUs"
            )
        word = "would move" if self.dry_run else "moved"
        where = "; ".join(f"pid {p.pid} ({p.name}) → {p.target}" for p in self.pins)
        return f"plan ({self.label}): {word} {procs}: {where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "label": self.label,
            "undo": self.undo,
            "dry_run": self.dry_run,
            "pins": [p.to_dict() for p in self.pins],
        }


class PlanError(PinError):
    """A plan that was refused or failed; everything it had changed is back as it was.

    An undo that restored some processes but not all carries what it restored.
    """

    def __init__(self, message: str, reason: str = "failed", event: PlanEvent | None = None):
        super().__init__(message, reason)
        self.event = event


@dataclass(frozen=True, slots=True)
class Member:
    """What undoing one process of a plan needs: who, and where its memory was."""

    pid: int
    name: str
    memory_home: tuple[int, ...] = ()  # memory moved: the node that held most of it before


def members_of(plan: PlanEvent) -> tuple[Member, ...]:
    return tuple(Member(p.pid, p.name, _home_before(p.memory)) for p in plan.pins)


def moves_of(part: Partition) -> list[Move]:
    """The shares that change something, as pins (a process already there stays alone)."""
    return [
        Move(
            s.pid,
            s.name,
            Target("cpus", s.label, s.cpus, s.nodes),
            s.move_memory and (s.off_bytes is None or s.off_bytes > 0),
        )
        for s in part.moves
    ]


def refusals(part: Partition) -> str | None:
    """Why the plan cannot be applied, in one line (None: it can)."""
    if part.ok and part.moves:
        return None
    if not part.shares:
        return "the plan has no process"
    if not part.refused:
        return "every process is already where the plan puts it: nothing to do"
    return "; ".join(f"pid {r.pid} ({r.name}): {r.reason}" for r in part.refused)


def check_allowed(pinner: Pinner, moves: Sequence[Move]) -> None:
    """Refuse the plan before anything moves when a cgroup cpuset forbids a target."""
    for mv in moves:
        allowed = pinner.cpuset(mv.pid)
        if allowed is not None and not set(mv.target.cpus) <= set(allowed):
            raise PlanError(
                f"pid {mv.pid} ({mv.name}): its cgroup cpuset allows CPUs"
                f" {format_cpulist(allowed)} only; {mv.target.label} (CPUs"
                f" {format_cpulist(mv.target.cpus)}) is outside it; nothing was changed",
                "einval",
            )


def apply_moves(
    pinner: Pinner,
    moves: Sequence[Move],
    label: str,
    *,
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
) -> PlanEvent:
    """Every move, or none: raises PlanError (everything restored) when one fails."""
    if not moves:
        raise PlanError("the plan moves nothing", "bad-target")
    check_allowed(pinner, moves)
    done: list[PinEvent] = []
    for mv in moves:
        try:
            done.append(pinner.apply(mv.pid, mv.target, False, dry_run))
        except PinError as exc:
            back = "" if dry_run else _roll_back(pinner, done, [])
            raise PlanError(f"pid {mv.pid} ({mv.name}): {exc}{back}", exc.reason) from None
    moved: list[tuple[PinEvent, MemoryMove]] = []
    for i, mv in enumerate(moves):
        if not (mv.move_memory and mv.target.nodes):
            continue
        try:
            memory = pinner.move_memory(mv.pid, mv.target.nodes, dry_run)
        except PinError as exc:
            from numaview.pinning.apply import MemoryMove

            memory = MemoryMove((), mv.target.nodes, None, None, None, error=str(exc))
        if memory.error and not dry_run:
            back = _roll_back(pinner, done, moved)
            raise PlanError(
                f"pid {mv.pid} ({mv.name}): memory not moved: {memory.error}{back}", "failed"
            )
        done[i] = replace(done[i], memory=memory)
        moved.append((done[i], memory))
    return PlanEvent(clock(), label, tuple(done), dry_run=dry_run)


def undo_plan(
    pinner: Pinner,
    label: str,
    members: Sequence[Member],
    *,
    clock: Callable[[], float] = time.time,
) -> PlanEvent:
    """Every process of a plan back to its exact masks (and memory to where it was)."""
    restored: list[PinEvent] = []
    problems: list[str] = []
    for m in reversed(members):
        try:
            restored.append(pinner.apply(m.pid, undo_target()))
        except PinError as exc:
            problems.append(f"pid {m.pid} ({m.name}): {exc}")
            continue
        if m.memory_home:
            with contextlib.suppress(PinError):
                pinner.move_memory(m.pid, m.memory_home, False)
    if problems and not restored:
        raise PlanError("nothing restored: " + "; ".join(problems), "failed")
    event = PlanEvent(clock(), label, tuple(reversed(restored)), undo=True)
    if problems:
        raise PlanError(f"{event.summary()}, but " + "; ".join(problems), "gone", event=event)
    return event


def _home_before(memory: MemoryMove | None) -> tuple[int, ...]:
    """The node that held most of the pages before a move that did happen (else none)."""
    if memory is None or memory.error or not memory.from_nodes or not memory.bytes_before:
        return ()
    before = {n: b for n, b in memory.bytes_before.items() if b > 0}
    return (max(sorted(before), key=lambda n: before[n]),) if before else ()


def _roll_back(
    pinner: Pinner, done: Sequence[PinEvent], moved: Sequence[tuple[PinEvent, MemoryMove]]
) -> str:
    """Undo what a failed plan had done; the text says what was restored."""
    if not done:
        return "; nothing was changed"
    failed: list[str] = []
    for pin, memory in reversed(moved):
        home = _home_before(memory)
        if home:
            try:
                pinner.move_memory(pin.pid, home, False)
            except PinError as exc:
                failed.append(f"pid {pin.pid}'s memory: {exc}")
    for pin in reversed(done):
        try:
            pinner.apply(pin.pid, undo_target())
        except PinError as exc:
            failed.append(f"pid {pin.pid}: {exc}")
    names = ", ".join(f"pid {p.pid}" for p in done)
    text = f"; rolled back {names} to their previous CPUs"
    if moved:
        text += " (memory moved back to the node that held most of it)"
    if failed:
        text += "; could not restore " + "; ".join(failed)
    return text
