"""One finding per cause: the detectors' findings about the same processes merged, with one fix.

Two busy processes pinned to one CPU next to an idle one are seen by three
detectors (too many runnable threads, idle CPUs they may not use, two
processes sharing CPUs) and the machine's run queue: one cause, one fix.
Findings that name a common process are merged into the most severe of
them, which lists every detector's evidence as a symptom (kind kept); a
finding about no process (the machine's run queue, a hot node next to a
cold one, a node's remote allocations) joins the process finding it
explains. The merged finding gets one fix: for several processes sharing
CPUs, one stays and the others move to idle whole cores of their own (on
their memory's node first, as many as they have threads that want to run);
for a process filling a node, the
move of it and its memory to a roomy node; else its most severe member's fix.
Last, fixes are made consistent: a process moved by one finding's fix is
not moved again by a lesser one, and two fixes never hand the same idle
CPUs to two processes, so applying every fix in order leaves none of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from numaview.diagnose.context import Context, _runnable
from numaview.diagnose.findings import SEVERITIES, Finding, PinPlan, Symptom
from numaview.model.frame import ProcessSample

CPU_KINDS = ("oversubscription", "idle-cores", "overlapping-affinity", "smt-contention")
# which kind names the merged finding when severities tie: the most specific cause first
PRIORITY = (
    "oversubscription",
    "overlapping-affinity",
    "cache-contention",
    "cross-node",
    "smt-contention",
    "idle-cores",
    "wandering",
    "node-memory-pressure",
)
LATER = " Its fix waits for the fix above, which moves the same processes or CPUs."


def _order(f: Finding) -> tuple[int, int, float, str]:
    kind = PRIORITY.index(f.kind) if f.kind in PRIORITY else len(PRIORITY)
    return (-SEVERITIES.index(f.severity), kind, -f.score, f.key)


def _symptom(f: Finding) -> Symptom:
    return Symptom(f.kind, f.severity, f.key, f.evidence)


def merge(findings: Sequence[Finding], c: Context | None) -> list[Finding]:
    """The raised findings, one per cause, most severe first, with consistent fixes."""
    procs = [f for f in findings if f.pids]
    groups: list[list[Finding]] = []
    for f in procs:
        joined = [g for g in groups if any(set(f.pids) & set(x.pids) for x in g)]
        for g in joined:
            groups.remove(g)
        groups.append([x for g in joined for x in g] + [f])
    merged = [_merge(g, c) for g in groups]
    rest: list[Finding] = []
    for f in findings:
        if f in procs:
            continue
        host = _host(f, merged, c)
        if host is None:
            rest.append(f)
        else:
            i = merged.index(host)
            merged[i] = replace(
                host,
                symptoms=(*(host.symptoms or (_symptom(host),)), _symptom(f)),
                since=_earliest(host.since, f.since),
            )
    out = sorted([*merged, *rest], key=lambda f: f.rank, reverse=True)
    return _consistent(out, c)


def _earliest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _host(f: Finding, merged: list[Finding], c: Context | None) -> Finding | None:
    """The process finding a finding about no process explains, if there is one."""
    if f.key == "oversubscription:system":
        fits = [m for m in merged if {m.kind, *(s.kind for s in m.symptoms)} & set(CPU_KINDS)]
    elif f.kind == "idle-cores":
        fits = [m for m in merged if set(m.nodes) & set(f.nodes) and m.kind in CPU_KINDS]
    elif f.kind == "cross-node" and c is not None:  # remote allocations of a node's CPUs
        fits = [
            m
            for m in merged
            if m.kind == "cross-node" and {c.node_of.get(x) for x in m.cpus} & set(f.nodes)
        ]
    else:
        fits = []
    return min(fits, key=_order) if fits else None


def _merge(group: list[Finding], c: Context | None) -> Finding:
    if len(group) == 1:
        return group[0]
    group = sorted(group, key=_order)
    head = group[0]
    pids = tuple(sorted({p for f in group for p in f.pids}))
    kinds = {f.kind for f in group}
    fix, plan = head.fix, head.plan
    # a full node's fix moves the process and its memory to a roomy node: that also
    # ends its threads running away from their memory, where the opposite pin would not
    roomy = [f for f in group if f.kind == "node-memory-pressure" and f.fix is not None]
    if roomy:
        fix, plan = roomy[0].fix, ()
    if not fix and not plan:
        with_fix = [f for f in group if f.fixes]
        if with_fix:
            fix, plan = with_fix[0].fix, with_fix[0].plan
    if len(pids) > 1 and kinds & set(CPU_KINDS) and c is not None:
        moves = _separate(c, pids, group)
        if moves is not None:
            fix, plan = (moves[0], ()) if len(moves) == 1 else (None, moves)
    return replace(
        head,
        severity=SEVERITIES[max(SEVERITIES.index(f.severity) for f in group)],
        pids=pids,
        cpus=tuple(sorted({x for f in group for x in f.cpus})),
        nodes=tuple(sorted({n for f in group for n in f.nodes})),
        fix=fix,
        plan=plan,
        symptoms=tuple(_symptom(f) for f in group),
        since=min((f.since for f in group if f.since is not None), default=None),
        score=max(f.score for f in group),
    )


def _home(p: ProcessSample) -> int | None:
    mem = {n: b for n, b in (p.mem_by_node_bytes or {}).items() if b > 0}
    return max(sorted(mem), key=lambda n: mem[n]) if mem else None


def _separate(c: Context, pids: Sequence[int], group: list[Finding]) -> tuple[PinPlan, ...] | None:
    """Several processes crowding the same CPUs: one stays, the others get idle cores of their own.

    The one that stays is the biggest memory already running where its memory
    is (or of unknown memory); it is widened when it alone has more threads
    that want to run than CPUs, onto the cores the others leave and idle ones.
    Each other process gets whole idle cores, on its memory's node first, as
    many CPUs as it has threads that want to run. None: not enough idle cores.
    """
    procs = [p for p in (c.frame.process(pid) for pid in pids) if p is not None]
    if len(procs) < 2:
        return None

    def settled(p: ProcessSample) -> bool:
        home = _home(p)
        return home is None or home in p.nodes_running

    by_size = sorted(
        procs, key=lambda p: (not settled(p), -sum((p.mem_by_node_bytes or {}).values()), p.pid)
    )
    stay, movers = by_size[0], sorted(by_size[1:], key=lambda p: p.pid)
    held = {x for p in procs for x in p.last_cpus} | {x for p in procs for x in p.affinity or ()}
    nodes = sorted({c.node_of[x] for x in held if x in c.node_of})
    taken: set[int] = set()
    moves = []
    for p in movers:
        home = _home(p)
        order = [
            n
            for n in dict.fromkeys(([home] if home is not None else []) + nodes)
            if n in c.node_cpus
        ]
        cores = [core for n in order for core in c.idle_cores(c.node_cpus[n])]
        cores += c.idle_cores(list(c.busy))
        got = _take(cores, max(1, _runnable(p, c.t)), held | taken)
        if got is None:
            return None
        taken.update(got)
        moves.append(PinPlan(p.pid, p.start_time, got, False, f"{len(got)} idle CPUs, whole cores"))
    mine = tuple(sorted(x for x in stay.affinity or () if x in c.busy))
    need = _runnable(stay, c.t) - len(mine)
    if mine and need > 0:  # crowded on its own too: the cores the others leave, then idle ones
        left = {x for p in movers for x in p.last_cpus} - set(mine)
        free = [
            c.siblings.get(x, (x,))
            for x in sorted(left)
            if c.node_of.get(x) in {c.node_of.get(m) for m in mine}
        ]
        free += c.idle_cores([x for n in nodes for x in c.node_cpus.get(n, ())])
        extra = _take(free, need, taken | set(mine), own=frozenset(mine))
        if extra is not None:
            cpus = tuple(sorted(set(mine) | set(extra)))
            moves.insert(
                0,
                PinPlan(
                    stay.pid,
                    stay.start_time,
                    cpus,
                    False,
                    f"{len(cpus)} CPUs, the others' and idle ones",
                ),
            )
    return tuple(moves) or None


def _take(
    cores: Sequence[tuple[int, ...]], need: int, avoid: set[int], own: frozenset[int] = frozenset()
) -> tuple[int, ...] | None:
    """Whole cores, in order, until ``need`` CPUs (None: not enough).

    A core with a CPU in ``avoid`` is skipped unless that CPU is the process's
    ``own``: two processes never get the two hardware threads of one core.
    """
    got: list[int] = []
    for core in dict.fromkeys(cores):
        if len(got) >= need:
            break
        free = [x for x in core if x not in avoid and x not in got]
        if free and all(x in free or x in own for x in core):
            got.extend(free)
    return tuple(sorted(got)) if len(got) >= need else None


def _consistent(findings: list[Finding], c: Context | None) -> list[Finding]:
    """Drop a lesser fix that moves a process again or hands out CPUs already handed out."""
    moved: set[int] = set()
    given: list[set[int]] = []
    whole = {frozenset(cpus) for cpus in (c.node_cpus.values() if c is not None else ())}
    out = []
    for f in findings:
        fixes = f.fixes
        clash = any(p.pid in moved for p in fixes) or any(
            frozenset(p.cpus) not in whole and any(set(p.cpus) & g for g in given) for p in fixes
        )
        if clash:
            out.append(replace(f, fix=None, plan=(), explanation=f.explanation + LATER))
            continue
        for p in fixes:
            moved.add(p.pid)
            if frozenset(p.cpus) not in whole:
                given.append(set(p.cpus))
        out.append(f)
    return out
