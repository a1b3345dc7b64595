"""9. gpu-far: a process driving a GPU from another node than the GPU's.

Every kernel launch, copy and pinned host buffer of a GPU process crosses the
socket interconnect when the threads that feed the GPU, or the host memory
they stage data in, sit on another node than the one the GPU hangs off. The
fix is the pin target "near GPU k": the CPUs of its node, with the memory
moved there when that is what is far. A process that drives GPUs on two
nodes has no single near place: it is reported as such, with no pin fix
(one process per GPU node is the cure, and that is the user's to make).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from numaview.diagnose.context import Context, _nodes_text, _plan, _who
from numaview.diagnose.findings import Finding
from numaview.model.frame import ProcessSample
from numaview.model.topology import Gpu
from numaview.render.units import size as human_bytes


def gpu_far(c: Context) -> list[Finding]:
    gpus = {g.index: g for g in c.topo.gpus}
    if not gpus:
        return []
    t = c.t
    out = []
    for p in c.frame.processes:
        if not p.gpus or p.kernel_thread or (p.cpu_pct or 0.0) < t.busy_pct / 4:
            continue  # a GPU process whose threads are all asleep feeds no GPU now
        mine = [gpus[i] for i in p.gpus if i in gpus and gpus[i].node is not None]
        nodes = sorted({g.node for g in mine if g.node is not None})
        if not nodes:
            continue  # its GPUs' nodes are unknown: nothing to say
        threads, what = _thread_nodes(p, c)
        mem = p.mem_by_node_bytes or {}
        total = sum(mem.values())
        where = _where(threads, what, mem, total)
        names = ", ".join(f"{g.label} (node {g.node})" for g in mine)
        if len(nodes) > 1:
            out.append(
                Finding(
                    kind="gpu-far",
                    severity="info",
                    key=f"gpu-far:{p.pid}",
                    evidence=f"{_who(p, c.served)} drives GPUs on {_nodes_text(nodes)}: {names};"
                    f" {where}",
                    explanation="No single node is near all its GPUs, so no pin fixes it: one"
                    " process (or one rank) per GPU node, each pinned near its GPU, does.",
                    pids=(p.pid,),
                    nodes=tuple(sorted({*nodes, *threads})),
                    score=float(len(nodes)),
                )
            )
            continue
        gnode = nodes[0]
        busy = sum(threads.values())
        off = sum(n for node, n in threads.items() if node != gnode)
        threads_far = busy > 0 and off / busy >= 0.5
        home = max(mem, key=lambda n: mem[n]) if total else None
        mem_far = (
            home is not None
            and home != gnode
            and total >= t.cross_node_min_bytes
            and mem[home] / total >= 0.5
        )
        if not (threads_far or mem_far):
            continue
        g0 = mine[0]
        fix = _plan(p, c.node_cpus.get(gnode, ()), mem_far, _target(g0, mem_far))
        out.append(
            Finding(
                kind="gpu-far",
                severity="critical" if threads_far and mem_far else "warning",
                key=f"gpu-far:{p.pid}",
                evidence=f"{_who(p, c.served)} drives {names}; {where}",
                explanation="Kernel launches, copies and the pinned host buffers it stages"
                " data in cross the interconnect between sockets on every step.",
                pids=(p.pid,),
                cpus=tuple(p.last_cpus),
                nodes=tuple(sorted({gnode, *threads, *([home] if home is not None else [])})),
                fix=fix,
                score=float(off) + (mem[home] / total if home is not None and total else 0.0),
            )
        )
    return out


def _thread_nodes(p: ProcessSample, c: Context) -> tuple[Counter[int], str]:
    """Its busy threads per node, or (none busy: GPU feeders mostly wait) all its threads'."""
    cpus = p.thread_samples.busy_cpus(c.t.busy_pct) if p.thread_samples else []
    what = "busy threads"
    if not cpus:
        cpus = [t.last_cpu for t in p.thread_samples or () if t.last_cpu is not None]
        what = "threads"
    if not cpus:
        cpus = list(p.last_cpus)
        what = "CPUs it last ran on"
    return Counter(c.node_of[x] for x in cpus if x in c.node_of), what


def _where(threads: Counter[int], what: str, mem: Mapping[int, int], total: int) -> str:
    parts = []
    if threads:
        n = sum(threads.values())
        top, k = threads.most_common(1)[0]
        parts.append(f"{k} of {n} {what} on node {top}")
    if total:
        home = max(mem, key=lambda x: mem[x])
        parts.append(
            f"{mem[home] / total * 100:.0f} % of {human_bytes(total)} memory on node {home}"
        )
    return ", ".join(parts) or "its threads and memory not read yet"


def _target(g: Gpu, move_memory: bool) -> str:
    return f"near {g.label} (node {g.node})" + (", memory moved there" if move_memory else "")
