"""A plan applied as one transaction (pinning/group.py) and through the Monitor.

A fake pinner keeps each process's per-thread masks and an undo stack the
way LivePinner does, and fails on request: half-way through a plan, on a
memory move, on a cgroup cpuset. The Monitor part runs the demo's
simulation, so it also shows the simulation following an applied plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from numaview.pinning.apply import MemoryMove, PinEvent, ThreadChange
from numaview.pinning.group import (
    Member,
    Move,
    PlanError,
    apply_moves,
    members_of,
    undo_plan,
)
from numaview.pinning.plan import PinError, Target


@dataclass
class FakePinner:
    masks: dict[int, dict[int, tuple[int, ...]]]  # pid -> tid -> mask
    fail_pin: set[int] = field(default_factory=set)
    fail_memory: set[int] = field(default_factory=set)
    cpusets: dict[int, tuple[int, ...]] = field(default_factory=dict)
    memory: dict[int, tuple[int, ...]] = field(default_factory=dict)  # pid -> nodes holding it
    calls: list[str] = field(default_factory=list)
    events: list[PinEvent] = field(default_factory=list)
    _undo: dict[int, list[dict[int, tuple[int, ...]]]] = field(default_factory=dict)

    def identity(self, pid: int) -> tuple[str, str, int, bool]:
        if pid not in self.masks:
            raise PinError(f"process {pid} is gone", "gone")
        return "1", f"p{pid}", 0, False

    def can_undo(self, pid: int) -> bool:
        return bool(self._undo.get(pid))

    def is_foreign(self, pid: int) -> bool:
        return False

    def cpuset(self, pid: int) -> tuple[int, ...] | None:
        return self.cpusets.get(pid)

    def apply(
        self, pid: int, target: Target, move_memory: bool = False, dry_run: bool = False
    ) -> PinEvent:
        self.identity(pid)
        self.calls.append(f"{'dry ' if dry_run else ''}{target.kind} {pid}")
        if pid in self.fail_pin and target.kind != "undo":
            raise PinError(f"permission denied for pid {pid}", "permission")
        now = self.masks[pid]
        undo = target.kind == "undo"
        after = self._undo[pid][-1] if undo else dict.fromkeys(now, target.cpus)
        changes = tuple(ThreadChange(t, now[t], after[t]) for t in sorted(now))
        event = PinEvent(0.0, pid, f"p{pid}", target.label, target.cpus, changes,
                         undo=target.kind == "undo", dry_run=dry_run)  # fmt: skip
        if not dry_run:
            if target.kind == "undo":
                self._undo[pid].pop()
            else:
                self._undo.setdefault(pid, []).append(dict(now))
            self.masks[pid] = dict(after)
        return event

    def move_memory(self, pid: int, nodes: tuple[int, ...], dry_run: bool = False) -> MemoryMove:
        self.calls.append(f"memory {pid} {nodes}")
        if pid in self.fail_memory:
            return MemoryMove((0,), nodes, {0: 1 << 30}, None, None, error="Cannot allocate memory")
        before = self.memory.get(pid, (0,))
        if not dry_run:
            self.memory[pid] = nodes
        return MemoryMove(
            before, nodes, dict.fromkeys(before, 1 << 30), dict.fromkeys(nodes, 1 << 30), 0
        )


ORIGINAL: dict[int, dict[int, tuple[int, ...]]] = {
    1: {1: (0, 1, 2, 3), 11: (0, 1, 2, 3), 12: (2,)},  # a thread with its own mask
    2: {2: (0, 1, 2, 3), 21: (3,)},
    3: {3: (0, 1, 2, 3)},
}


def fresh() -> FakePinner:
    return FakePinner({pid: dict(m) for pid, m in ORIGINAL.items()})


def moves(memory: bool = False) -> list[Move]:
    return [
        Move(1, "p1", Target("cpus", "CPU 0", (0,), (0,)), memory),
        Move(2, "p2", Target("cpus", "CPU 1", (1,), (1,)), memory),
        Move(3, "p3", Target("cpus", "CPUs 2-3", (2, 3), (1,)), memory),
    ]


def test_every_thread_of_every_process_moves_and_one_undo_restores_them_all() -> None:
    p = fresh()
    event = apply_moves(p, moves(), "equal shares of whole cores")
    assert p.masks == {
        1: dict.fromkeys((1, 11, 12), (0,)),
        2: dict.fromkeys((2, 21), (1,)),
        3: {3: (2, 3)},
    }
    assert event.pids == (1, 2, 3) and not event.undo
    assert event.summary() == (
        "plan (equal shares of whole cores): moved 3 processes: pid 1 (p1) → CPU 0;"
        " pid 2 (p2) → CPU 1; pid 3 (p3) → CPUs 2-3"
    )
    back = undo_plan(p, event.label, members_of(event))
    assert p.masks == ORIGINAL  # each thread's exact mask, the odd ones included
    assert back.undo and back.pids == (1, 2, 3)
    assert back.summary() == "restored 3 processes to their previous CPUs"


def test_a_failure_half_way_rolls_back_every_process_already_moved() -> None:
    p = fresh()
    p.fail_pin = {3}
    with pytest.raises(PlanError) as err:
        apply_moves(p, moves(), "plan")
    assert p.masks == ORIGINAL
    assert str(err.value) == (
        "pid 3 (p3): permission denied for pid 3; rolled back pid 1, pid 2 to their previous CPUs"
    )
    assert err.value.reason == "permission"
    assert p.calls == ["cpus 1", "cpus 2", "cpus 3", "undo 2", "undo 1"]  # newest first


def test_a_cpuset_refusal_changes_nothing() -> None:
    p = fresh()
    p.cpusets = {2: (2, 3)}
    with pytest.raises(PlanError) as err:
        apply_moves(p, moves(), "plan")
    assert p.masks == ORIGINAL and p.calls == []
    assert str(err.value) == (
        "pid 2 (p2): its cgroup cpuset allows CPUs 2-3 only; CPU 1 (CPUs 1) is outside it;"
        " nothing was changed"
    )


def test_memory_moves_after_every_pin_and_a_failed_move_undoes_all() -> None:
    p = fresh()
    event = apply_moves(p, moves(memory=True), "plan")
    assert p.calls[:3] == ["cpus 1", "cpus 2", "cpus 3"]  # every CPU pin before any page moves
    assert p.calls[3:] == ["memory 1 (0,)", "memory 2 (1,)", "memory 3 (1,)"]
    assert all(pin.memory is not None and pin.memory.to_nodes for pin in event.pins)
    p = fresh()
    p.fail_memory = {3}
    with pytest.raises(PlanError) as err:
        apply_moves(p, moves(memory=True), "plan")
    assert p.masks == ORIGINAL
    assert (
        "pid 3 (p3): memory not moved: Cannot allocate memory; rolled back pid 1, pid 2, pid 3"
        in str(err.value)
    )
    assert "(memory moved back to the node that held most of it)" in str(err.value)
    assert p.memory[1] == (0,) and p.memory[2] == (0,)  # moved back where most of it was


def test_a_dry_run_changes_nothing_and_says_would() -> None:
    p = fresh()
    event = apply_moves(p, moves(), "plan", dry_run=True)
    assert p.masks == ORIGINAL and event.dry_run
    assert event.summary().startswith("plan (plan): would move 3 processes")


def test_undo_of_a_plan_whose_process_exited_restores_the_others_and_says_so() -> None:
    p = fresh()
    event = apply_moves(p, moves(), "plan")
    del p.masks[2]
    with pytest.raises(PlanError) as err:
        undo_plan(p, event.label, members_of(event))
    assert err.value.event is not None and err.value.event.pids == (1, 3)
    assert p.masks[1] == ORIGINAL[1] and p.masks[3] == ORIGINAL[3]
    assert "pid 2 (p2): process 2 is gone" in str(err.value)
    with pytest.raises(PlanError, match="nothing restored"):
        undo_plan(p, "plan", [Member(2, "p2")])


# -- through the Monitor, on the demo's simulation ------------------------------------


def test_the_monitor_applies_a_plan_as_one_event_recorded_once_and_undoes_it(
    tmp_path: Path,
) -> None:
    from numaview.demo.machine import SimulatedSampler
    from numaview.demo.pinner import SimulatedPinner
    from numaview.record.reader import Reader
    from numaview.stream.bundle import PlanRequest
    from numaview.stream.monitor import Monitor
    from numaview.stream.source import ManualSource
    from tests.fakefs import FakeClock

    clock = FakeClock(0.0)
    sim = SimulatedSampler(clock=clock, wall=lambda: 1764200000.0 + clock.now)
    pinner = SimulatedPinner(sim)
    monitor = Monitor(ManualSource(sim), pinner=pinner, threaded=False)
    bundles: list[Any] = []
    monitor._on_bundle = bundles.append
    for _ in range(3):
        monitor.process(sim.sample())
        clock.advance(1.0)
    monitor.start_recording(str(tmp_path / "plan.numaview"), {})
    node2 = sim.topology.node(2).cpus  # type: ignore[union-attr]
    node3 = sim.topology.node(3).cpus  # type: ignore[union-attr]
    replies: list[Any] = []
    plan = (
        Move(5200, "vllm-a", Target("cpus", "node 2", node2, (2,))),
        Move(5300, "vllm-b", Target("cpus", "node 3", node3, (3,))),
    )
    monitor.submit(PlanRequest(plan, "one NUMA node each", lambda e, err: replies.append((e, err))))
    event, error = replies[-1]
    assert error is None and event.pids == (5200, 5300)
    assert bundles[-1].plans == ("one NUMA node each",)
    [e] = [e for e in bundles[-1].events if e.kind == "plan"]
    assert e.plan is event and e.text == event.summary()
    for _ in range(3):  # the simulation follows: each vllm runs on its own node now
        monitor.process(sim.sample())
        clock.advance(1.0)
    frame = monitor.frame
    assert frame is not None
    assert set(frame.process(5200).last_cpus) <= set(node2)  # type: ignore[union-attr]
    assert set(frame.process(5300).last_cpus) <= set(node3)  # type: ignore[union-attr]
    monitor.submit(PlanRequest((), "undo", lambda e, err: replies.append((e, err))))
    undone, error = replies[-1]
    assert error is None and undone.undo and bundles[-1].plans == ()
    assert sim.procs[5200].affinity == sim.procs[5300].affinity  # both back on the shared CPUs
    monitor.submit(PlanRequest((), "undo", lambda e, err: replies.append((e, err))))
    assert replies[-1] == (None, "no plan to undo")
    monitor.stop()
    with Reader(str(tmp_path / "plan.numaview")) as r:
        kinds = [ev.kind for ev in r.events()]
        plans = [ev.data for ev in r.events("plan")]
    assert kinds.count("plan") == 2  # the plan and its undo: one event each
    assert [len(d["pins"]) for d in plans] == [2, 2] and plans[1]["undo"] is True
