"""A process's GPUs beside where its threads run and where its memory is (the process detail)."""

from __future__ import annotations

from numaview.model.frame import ProcessSample
from numaview.model.topology import Topology
from numaview.render.labels import nodes_label
from numaview.render.units import size


def gpu_lines(p: ProcessSample, topo: Topology) -> list[str]:
    """One line a GPU it drives: the GPU's node, the memory it holds there, and whether its
    threads and its memory are on that node (``← threads elsewhere``)."""
    if not p.gpus:
        return []
    by_index = {g.index: g for g in topo.gpus}
    mem = p.mem_by_node_bytes or {}
    total = sum(mem.values())
    home = max(mem, key=lambda n: mem[n]) if total else None
    out = []
    for index in p.gpus:
        g = by_index.get(index)
        name = f"GPU{index}" if g is None else f"{g.label} {g.name or g.vendor}"
        node = None if g is None else g.node
        held = (p.gpu_mem_bytes or {}).get(index)
        text = f"  {name}, node {'?' if node is None else node}"
        if held is not None:
            text += f", {size(held, short=True)} of GPU memory"
        where = "node " if len(set(p.nodes_running)) == 1 else "nodes "
        text += f"; threads on {where}{nodes_label(p.nodes_running)}"
        if home is not None:
            text += f", memory {100 * mem[home] / total:.0f} % on node {home}"
        far = []
        if node is not None and p.nodes_running and set(p.nodes_running) != {node}:
            far.append("threads")
        if node is not None and home is not None and home != node:
            far.append("memory")
        if far:
            text += f"  ← {' and '.join(far)} off its node"
        elif node is None:
            text += "  (its node is unknown)"
        out.append(text)
    return out
