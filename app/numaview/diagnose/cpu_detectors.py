"""The CPU-side detectors: idle cores, SMT contention, oversubscription, overlapping affinity.

Each judges where busy threads run against which CPUs are free: threads
confined while CPUs idle, SMT siblings both busy while whole cores idle,
more runnable threads than allowed CPUs, and busy processes pinned to the
same CPUs. Plain functions of a Context, registered in detectors.py.
"""

from __future__ import annotations

from numaview.diagnose.context import (
    Context,
    _busy_threads,
    _group_name,
    _groups,
    _nodes_text,
    _plan,
    _runnable,
    _who,
)
from numaview.diagnose.findings import Finding
from numaview.model.cpuset import format_cpulist

# -- 1. idle cores ------------------------------------------------------------------


def idle_cores(c: Context) -> list[Finding]:
    out = []
    t = c.t
    for allowed, procs in _groups(c):
        want = sum(_runnable(p, t) for p in procs)
        used = sum(p.cpu_pct or 0.0 for p in procs)
        if want <= len(allowed) or used < 0.8 * 100 * len(allowed):
            continue  # not confined, or not using what it has
        nodes = sorted({c.node_of[x] for x in allowed if x in c.node_of})
        mask = set(allowed)
        outside = [x for n in nodes for x in c.node_cpus.get(n, ()) if x not in mask]
        idle_out = c.idle(outside) or c.idle([x for x in c.busy if x not in mask])
        if not idle_out:
            continue
        mover = max(procs, key=lambda p: _runnable(p, t))
        extra = idle_out[: want - len(allowed)]
        grow = sorted(set(mover.affinity or allowed) | set(extra))
        out.append(
            Finding(
                kind="idle-cores",
                severity="warning",
                key="idle-cores:" + ",".join(str(p.pid) for p in procs),
                evidence=f"{_group_name(procs, c.served)}: {want} runnable threads confined to"
                f" {len(allowed)} CPUs ({format_cpulist(allowed)}) at {used:.0f} %, while"
                f" {len(idle_out)} CPUs sit idle ({format_cpulist(idle_out)})",
                explanation="Threads queue for the CPUs they are pinned to while other CPUs"
                " do nothing: the affinity is narrower than the parallelism.",
                pids=tuple(p.pid for p in procs),
                cpus=tuple(sorted(set(allowed) | set(idle_out))),
                nodes=tuple(nodes),
                fix=_plan(
                    mover, grow, False, f"{len(grow)} CPUs, adding idle {format_cpulist(extra)}"
                ),
                score=len(idle_out),
            )
        )
    # machine-wide: an idle node next to a saturated one
    node_busy = {
        n.id: n.busy_pct for n in c.frame.nodes if n.busy_pct is not None and c.node_cpus.get(n.id)
    }
    hot = [n for n, b in node_busy.items() if b >= t.saturated_pct]
    cold = [n for n, b in node_busy.items() if b < t.idle_pct]
    if hot and cold:
        out.append(
            Finding(
                kind="idle-cores",
                severity="warning",
                key=f"idle-cores:nodes:{hot[0]}",
                evidence=f"{_nodes_text(hot)} at {max(node_busy[n] for n in hot):.0f} % busy while"
                f" {_nodes_text(cold)} idle at {min(node_busy[n] for n in cold):.0f} %",
                explanation="Work piles up on some nodes while whole nodes idle: the load is"
                " placed, not spread.",
                cpus=tuple(x for n in cold for x in c.node_cpus[n]),
                nodes=tuple(sorted(hot + cold)),
                score=len(cold),
            )
        )
    return out


# -- 3. SMT contention ---------------------------------------------------------------


def smt_contention(c: Context) -> list[Finding]:
    t = c.t
    contended = []
    seen: set[tuple[int, ...]] = set()
    for cpu in sorted(c.busy):
        core = c.siblings.get(cpu, (cpu,))
        if len(core) < 2 or core in seen:
            continue
        seen.add(core)
        if all(c.busy.get(s, 0.0) >= t.busy_pct for s in core):
            contended.append(core)
    if not contended:
        return []
    out = []
    by_node: dict[int, list[tuple[int, ...]]] = {}
    for core in contended:
        by_node.setdefault(c.node_of.get(core[0], -1), []).append(core)
    for node, cores in by_node.items():
        idle = c.idle_cores(c.node_cpus.get(node, ()))
        scope = f"node {node}"
        if not idle:
            idle = c.idle_cores(list(c.busy))
            scope = "the machine"
        if not idle:
            continue
        cpus = {x for core in cores for x in core}
        procs = [p for p in c.busy_procs() if set(p.last_cpus) & cpus]
        names = ", ".join(p.name for p in procs[:3]) or "?"
        fix = None
        # only a process whose busy threads all fit on the idle cores: fewer CPUs than
        # busy threads would trade sharing a core for sharing a CPU
        fits = [p for p in procs if _busy_threads(p, t) <= len(idle)]
        if fits:
            mover = min(fits, key=lambda p: p.cpu_pct or 0.0)
            n = max(1, _busy_threads(mover, t))
            first = [core[0] for core in idle[:n]]
            fix = _plan(mover, first, False, f"{n} idle cores, one hardware thread each")
        out.append(
            Finding(
                kind="smt-contention",
                severity="warning",
                key=f"smt-contention:node{node}",
                evidence=f"{len(cores)} cores on node {node} run busy threads on both hardware"
                f" threads ({', '.join('/'.join(map(str, k)) for k in cores[:4])}"
                f"{'…' if len(cores) > 4 else ''}; {names}) while {len(idle)} whole cores on"
                f" {scope} are idle",
                explanation="Two SMT siblings share one core's execution units and caches: each"
                " runs at roughly half speed while whole cores sit unused.",
                pids=tuple(p.pid for p in procs),
                cpus=tuple(sorted(cpus)),
                nodes=(node,) if node >= 0 else (),
                fix=fix,
                score=len(cores),
            )
        )
    return out


# -- 4. oversubscription ----------------------------------------------------------------


def oversubscription(c: Context) -> list[Finding]:
    t = c.t
    out = []
    for aff, procs in _groups(c):
        runnable = sum(_runnable(p, t) for p in procs)
        invol = sum(p.ctx_involuntary_per_s or 0.0 for p in procs)
        # Switches are summed over threads only for the busiest processes (the rest
        # have their main thread's, and a pool's main thread often waits), so
        # allowed CPUs all saturated count as evidence too
        saturated = all(c.busy.get(x, 0.0) >= t.saturated_pct for x in aff)
        if runnable <= len(aff) or (invol < t.invol_per_s and not saturated):
            continue
        nodes = sorted({c.node_of[x] for x in aff if x in c.node_of})
        mask = set(aff)
        spare = [x for n in nodes for x in c.node_cpus.get(n, ()) if x not in mask]
        idle = c.idle(spare) or c.idle([x for x in c.busy if x not in mask])
        fix = None
        if idle:
            mover = min(procs, key=lambda p: p.rss_bytes or 0) if len(procs) > 1 else procs[0]
            need = _runnable(mover, t) if len(procs) > 1 else runnable - len(aff)
            target = idle[:need] if len(procs) > 1 else sorted(set(aff) | set(idle[:need]))
            fix = _plan(mover, target, False, f"{len(target)} CPUs, idle now")
        out.append(
            Finding(
                kind="oversubscription",
                severity="critical" if runnable >= 2 * len(aff) else "warning",
                key="oversubscription:" + ",".join(str(p.pid) for p in procs),
                evidence=f"{_group_name(procs, c.served)}: {runnable} runnable threads on {len(aff)} allowed"
                f" CPUs ({format_cpulist(aff)}), {invol:,.0f} involuntary switches/s",
                explanation="More threads want to run than there are CPUs for them: they take"
                " turns, and each waits in the run queue (tail latency).",
                pids=tuple(p.pid for p in procs),
                cpus=tuple(aff),
                nodes=tuple(nodes),
                fix=fix,
                score=runnable / len(aff),
            )
        )
    s = c.frame.system
    online = len(c.busy) or 1
    running = s.procs_running or 0
    psi = s.psi_cpu_some_avg10
    if running > t.run_queue_factor * online or (psi is not None and psi >= t.psi_cpu_some):
        out.append(
            Finding(
                kind="oversubscription",
                severity="warning",
                key="oversubscription:system",
                evidence=f"{running} runnable tasks on {online} online CPUs"
                + (f", CPU pressure {psi:.0f} % (PSI some avg10)" if psi is not None else ""),
                explanation="The machine as a whole has more runnable work than CPUs.",
                score=running / online,
            )
        )
    return out


# -- 5. overlapping affinity ------------------------------------------------------------


def overlapping_affinity(c: Context) -> list[Finding]:
    all_cpus = set(c.busy)
    # N processes sharing CPUs get ~100/N % each: judge a pair by what it uses
    # together, so three or four engines crowding one CPU are seen too.
    t = c.t
    masks: dict[int, frozenset[int]] = {}  # masks are shared objects: one set each
    pinned = []
    for p in c.frame.processes:
        if p.kernel_thread or not p.affinity or (p.cpu_pct or 0.0) < t.busy_pct / 4:
            continue
        mask = masks.get(id(p.affinity))
        if mask is None:
            mask = masks[id(p.affinity)] = frozenset(p.affinity)
        if not all_cpus <= mask:
            pinned.append((p, mask))
    # Pairs of the same two masks share the same answers (a node's engines, 512 CPUs).
    pair_facts: dict[tuple[int, int], tuple[frozenset[int], bool, list[int]]] = {}
    idle_now = c.idle_set & all_cpus
    out = []
    done: set[tuple[int, int]] = set()
    for i, (a, a_mask) in enumerate(pinned):
        for b, b_mask in pinned[i + 1 :]:
            facts = pair_facts.get((id(a_mask), id(b_mask)))
            if facts is None:
                shared_set = a_mask & b_mask
                crowded = bool(shared_set) and (
                    sum(c.busy.get(x, 0.0) for x in shared_set) / len(shared_set) >= t.saturated_pct
                )
                facts = (shared_set, crowded, sorted(idle_now - a_mask - b_mask))
                pair_facts[(id(a_mask), id(b_mask))] = facts
            shared, crowded, idle = facts
            if not shared or (a.pid, b.pid) in done:
                continue
            if not crowded and (a.cpu_pct or 0.0) + (b.cpu_pct or 0.0) < t.busy_pct * 1.5:
                continue  # not two busy users of the same CPUs
            if not idle:
                continue
            done.add((a.pid, b.pid))
            mover = min((a, b), key=lambda p: p.rss_bytes or 0)
            n = min(len(set(mover.affinity or ())), len(idle))
            # prefer idle CPUs on the mover's memory node, then anywhere
            home = max((mover.mem_by_node_bytes or {0: 0}).items(), key=lambda kv: kv[1])[0]
            ranked = sorted(idle, key=lambda x: (c.node_of.get(x) != home, x))
            target = ranked[:n]
            out.append(
                Finding(
                    kind="overlapping-affinity",
                    severity="warning",
                    key=f"overlapping-affinity:{min(a.pid, b.pid)}:{max(a.pid, b.pid)}",
                    evidence=f"{_who(a, c.served)} ({a.cpu_pct:.0f} %) and {_who(b, c.served)} ({b.cpu_pct:.0f} %)"
                    f" are both pinned to CPUs {format_cpulist(shared)} while {len(idle)} other"
                    " CPUs are idle",
                    explanation="Two busy processes bound to the same CPUs compete for them,"
                    " while CPUs they are not allowed on stay idle.",
                    pids=(a.pid, b.pid),
                    cpus=tuple(sorted(shared)),
                    nodes=tuple(sorted({c.node_of[x] for x in shared if x in c.node_of})),
                    fix=_plan(mover, target, False, f"{len(target)} idle CPUs"),
                    score=len(shared),
                )
            )
    return out
