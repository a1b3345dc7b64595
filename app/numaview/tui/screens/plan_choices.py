"""What the plan dialog computes and says, apart from its widgets.

Its processes as partition ``Member``s (from the frame, plus the cgroup
cpusets the worker asked for), the strategy it starts on, a finding's fix
as a partition (so the same table shows it), the confirmation questions and
the chart marker. Pure: no widgets and no I/O, except ``check``, which is
what the dialog runs in its worker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from numaview.diagnose.findings import PinPlan
from numaview.model.cpuset import format_cpulist
from numaview.model.frame import Frame, ProcessSample
from numaview.model.partition import STRATEGIES, Member, Partition, Refusal, Share
from numaview.model.topology import Topology
from numaview.pinning.group import Move, PlanEvent
from numaview.pinning.plan import PinError

if TYPE_CHECKING:
    from numaview.pinning.apply import Pinner

FIX = "fix"  # the strategy list's first choice when the dialog shows a finding's fix
BUSY_THREAD_PCT = 50.0  # a thread this busy needs a CPU of its own


@dataclass(frozen=True, slots=True)
class Checks:
    """What the worker asked the pinner about each process (cgroup files, owners)."""

    cpusets: Mapping[int, tuple[int, ...] | None]
    foreign: frozenset[int] = frozenset()  # another user's: a second yes
    kernel: frozenset[int] = frozenset()
    gone: Mapping[int, str] = field(default_factory=dict)  # pid -> why it could not be asked


def check(pinner: Pinner, pids: Sequence[int]) -> Checks:
    """Runs in a worker: each process's cgroup cpuset, owner and kind; changes nothing."""
    cpusets: dict[int, tuple[int, ...] | None] = {}
    foreign: set[int] = set()
    kernel: set[int] = set()
    gone: dict[int, str] = {}
    for pid in pids:
        try:
            _, _, _, is_kernel = pinner.identity(pid)
            if is_kernel:
                kernel.add(pid)
            elif pinner.is_foreign(pid):
                foreign.add(pid)
            cpusets[pid] = pinner.cpuset(pid)
        except (PinError, OSError, ValueError) as exc:
            gone[pid] = str(exc) or f"process {pid} is gone"
            cpusets[pid] = None
    return Checks(cpusets, frozenset(foreign), frozenset(kernel), gone)


def default_strategy(topo: Topology) -> str:
    """A node each on a NUMA machine, else an L3 each where there are several, else cores."""
    if sum(1 for n in topo.nodes if n.cpus) > 1:
        return "node"
    if len(topo.l3) > 1:
        return "l3"
    return "cores"


def busy_threads(p: ProcessSample) -> int:
    """Threads at least half busy (at least 1); without its threads, from its CPU %."""
    if p.thread_samples is not None:
        n = sum(1 for t in p.thread_samples if (t.cpu_pct or 0.0) >= BUSY_THREAD_PCT)
        return max(n, 1)
    return max(round((p.cpu_pct or 0.0) / 100), 1)


def member(p: ProcessSample, allowed: tuple[int, ...] | None) -> Member:
    return Member(
        pid=p.pid,
        start_time=p.start_time,
        name=p.name,
        cpu_pct=p.cpu_pct,
        busy_threads=busy_threads(p),
        mem_by_node=p.mem_by_node_bytes,
        affinity=p.affinity,
        allowed=allowed,
        user=p.user,
    )


def fix_partition(
    topo: Topology,
    procs: Sequence[ProcessSample],
    plans: Sequence[PinPlan],
    cpusets: Mapping[int, tuple[int, ...] | None],
    move_memory: bool,
) -> Partition:
    """A finding's plan as a partition, so the dialog's table and refusals show it.

    Its ``strategy`` is only a placeholder: the request is labelled by the finding.
    """
    by_pid = {p.pid: p for p in procs}
    node_of = {c.id: c.node for c in topo.cpus}
    core_of = {c.id: c.core for c in topo.cpus}
    shares: list[Share] = []
    refused: list[Refusal] = []
    for plan in plans:
        p = by_pid.get(plan.pid)
        if p is None:
            continue
        cpus = tuple(sorted(plan.cpus))
        nodes = tuple(sorted({n for c in cpus if (n := node_of.get(c)) is not None}))
        mem = p.mem_by_node_bytes
        share = Share(
            pid=p.pid,
            start_time=p.start_time,
            name=p.name,
            cpus=cpus,
            nodes=nodes,
            domain=plan.target or f"CPUs {format_cpulist(cpus)}",
            whole=True,
            move_memory=move_memory,
            off_bytes=None if mem is None else sum(b for n, b in mem.items() if n not in nodes),
            stays=p.affinity is not None and tuple(sorted(p.affinity)) == cpus,
            crowded=busy_threads(p) > len(cpus),
            n_cores=len({core_of.get(c, c) for c in cpus}),
        )
        shares.append(share)
        allowed = cpusets.get(p.pid)
        if allowed is not None and not set(cpus) <= set(allowed):
            refused.append(
                Refusal(
                    p.pid,
                    p.name,
                    f"its cgroup cpuset allows CPUs {format_cpulist(allowed)} only;"
                    f" {share.label} (CPUs {format_cpulist(cpus)}) is outside it",
                )
            )
    return Partition("cores", tuple(shares), tuple(refused), (), move_memory)


def fix_moves(moves: Sequence[Move], part: Partition) -> list[Move]:
    """The finding's moves that change something, memory as the dialog's switch says."""
    out = []
    for share in part.moves:
        mv = next((m for m in moves if m.pid == share.pid), None)
        if mv is not None:
            memory = share.move_memory and (share.off_bytes is None or share.off_bytes > 0)
            out.append(replace(mv, move_memory=memory))
    return out


def strategy_text(strategy: str) -> str:
    return "the finding's fix" if strategy == FIX else f"{strategy:<8} {STRATEGIES[strategy]}"


def _procs(n: int) -> str:
    return f"{n} process{'' if n == 1 else 'es'}"


def confirm_text(moves: Sequence[Move]) -> str:
    """The first question: everything that moves, in one sentence."""
    where = ", ".join(
        f"pid {m.pid} {m.name} → {m.target.label}" + (" with its memory" if m.move_memory else "")
        for m in moves
    )
    return f"Apply plan: move {_procs(len(moves))} ({where})? (y/n)"


def foreign_text(
    moves: Sequence[Move], checks: Checks, users: Mapping[int, str | None]
) -> str | None:
    """The second question, naming every process that is not the user's own (None: none)."""
    whose = []
    for m in moves:
        if m.pid in checks.kernel:
            whose.append(f"pid {m.pid} ({m.name}) is a kernel thread")
        elif m.pid in checks.foreign:
            whose.append(f"pid {m.pid} ({m.name}) belongs to user {users.get(m.pid) or '?'}")
    if not whose:
        return None
    them = "it" if len(whose) == 1 else "them"
    return "; ".join(whose) + f", not to you.\nReally move {them}? (y/n)"


def plan_marker(plan: PlanEvent) -> str:
    """A chart marker for a plan: ``plan 2 procs`` / ``undo plan``."""
    return "undo plan" if plan.undo else f"plan {len(plan.pins)} procs"


def plan_note(plan: PlanEvent) -> str:
    """The notification: an undo says what each process got back."""
    if not plan.undo:
        return plan.summary()
    back = "; ".join(
        f"pid {p.pid} ({p.name}) back on CPUs {format_cpulist(p.cpus)}" for p in plan.pins
    )
    return f"plan undone ({plan.label}): {back}" if back else plan.summary()


def processes_of(frame: Frame, keys: Sequence[tuple[int, float]]) -> list[ProcessSample]:
    """The processes still there with the same start time (a pid alone may be reused)."""
    out = []
    for pid, start in keys:
        p = frame.process(pid)
        if p is not None and p.start_time == start:
            out.append(p)
    return out
