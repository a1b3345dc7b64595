"""Text renderings of the topology: the lstopo-like tree of ``numaview topology``.

Compact on 1024 CPUs: one line per package, node and L3 domain, CPUs written
as ranges, cores summarised per L3 domain rather than listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from numaview.model.cpuset import format_cpulist
from numaview.model.topology import GPU_VENDORS, Cpu, Gpu, Topology
from numaview.render.units import MISSING, size


def _label(value: int | None) -> str:
    return "?" if value is None else str(value)


def _cores_summary(topo: Topology, cpus: Iterable[Cpu]) -> str:
    cpus = list(cpus)
    core_ids = {c.core for c in cpus if c.core is not None}
    threads = Counter(len(c.siblings) or 1 for c in cpus if c.core is not None)
    smt = max(threads) if threads else 1
    text = f"{len(core_ids)} core" + ("" if len(core_ids) == 1 else "s")
    if smt > 1:
        text += f" × SMT{smt}"
    core_by_id = {k.id: k for k in topo.cores}
    kinds = Counter(core_by_id[k].kind for k in core_ids if k in core_by_id and core_by_id[k].kind)
    if kinds:
        text += " (" + " + ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) + ")"
    l2 = {c.l2 for c in cpus if c.l2 is not None}
    sizes = {c.size_bytes for c in topo.l2 if c.id in l2}
    if l2:
        l2_size = size(sizes.pop()) if len(sizes) == 1 else "mixed sizes"
        text += f", {len(l2)} × L2 {l2_size}"
    return text


def render_tree(topo: Topology) -> str:
    lines: list[str] = []
    host = topo.host
    head = "Machine"
    if host.hostname:
        head += f" {host.hostname}"
    if host.kernel:
        head += f" (Linux {host.kernel})"
    if host.cpu_model:
        head += f" — {host.cpu_model}"
    lines.append(head)
    lines.append(f"  {topo.summary()}")

    online = [c for c in topo.cpus if c.online]
    by_id = {n.id: n for n in topo.nodes}
    l3_by_id = {c.id: c for c in topo.l3}
    packages = sorted({c.package for c in online}, key=lambda p: (p is None, p or 0))
    shown_nodes: set[int] = set()
    gpu_nodes_done: set[int] = set()  # a node spanning packages lists its GPUs once
    for pkg in packages:
        pcpus = [c for c in online if c.package == pkg]
        lines.append(f"  Package {_label(pkg)}: CPUs {format_cpulist(c.id for c in pcpus)}")
        nodes = sorted({c.node for c in pcpus}, key=lambda n: (n is None, n or 0))
        for nid in nodes:
            ncpus = [c for c in pcpus if c.node == nid]
            node = by_id.get(nid) if nid is not None else None
            text = f"    Node {_label(nid)}: CPUs {format_cpulist(c.id for c in ncpus)}"
            if node is not None:
                shown_nodes.add(node.id)
                text += f", {size(node.mem_total_bytes)}"
                if len(ncpus) < len(node.cpus):
                    text += " (part; the node spans packages)"
                if node.offline_cpus:
                    text += f", offline CPUs {format_cpulist(node.offline_cpus)}"
            lines.append(text)
            if nid is not None and nid not in gpu_nodes_done:
                gpu_nodes_done.add(nid)
                lines.extend(f"      {gpu_line(g)}" for g in topo.gpus if g.node == nid)
            l3s = sorted({c.l3 for c in ncpus}, key=lambda x: (x is None, x or 0))
            for l3 in l3s:
                lcpus = [c for c in ncpus if c.l3 == l3]
                if l3 is None:
                    label = "no L3 info" if topo.l3 else "cores"
                    lines.append(
                        f"      {label}: CPUs {format_cpulist(c.id for c in lcpus)}"
                        f" — {_cores_summary(topo, lcpus)}"
                    )
                    continue
                cache = l3_by_id[l3]
                text = f"      L3 {l3} ({size(cache.size_bytes)})"
                others = [n for n in cache.nodes if n != nid]
                if others:
                    text += f" shared with node{'s' if len(others) > 1 else ''} "
                    text += ",".join(map(str, others))
                text += f": CPUs {format_cpulist(c.id for c in lcpus)}"
                text += f" — {_cores_summary(topo, lcpus)}"
                lines.append(text)
    cpuless = [n for n in topo.nodes if n.id not in shown_nodes]
    if cpuless:
        lines.append("  Nodes without online CPUs:")
        for n in cpuless:
            what = (
                "memory only"
                if n.memory_only
                else f"all CPUs offline ({format_cpulist(n.offline_cpus)})"
            )
            owners = [g.label for g in topo.gpus if n.id in g.memory_nodes]
            if owners:
                what += ": the memory of " + ", ".join(owners)
            lines.append(f"    Node {n.id}: {size(n.mem_total_bytes)}, {what}")
            lines.extend(f"      {gpu_line(g)}" for g in topo.gpus if g.node == n.id)
    unplaced = [g for g in topo.gpus if g.node is None or g.node not in by_id]
    if unplaced:
        lines.append("  GPUs on no known node (the firmware gives no numa_node):")
        lines.extend(f"    {gpu_line(g)}" for g in unplaced)
    offline = topo.offline_cpus
    if offline:
        lines.append(f"  Offline CPUs: {format_cpulist(offline)}")
    a = topo.allowed
    allowed = "  This process may use: CPUs " + (
        "?" if a.cpus is None else format_cpulist(a.cpus) or "none"
    )
    allowed += ", memory nodes " + ("?" if a.mems is None else format_cpulist(a.mems) or "none")
    if a.cgroup is not None:
        allowed += f" (cgroup {a.cgroup}"
        if a.cgroup_cpus is not None:
            allowed += f": cpuset {format_cpulist(a.cgroup_cpus)}"
            allowed += f", mems {'?' if a.cgroup_mems is None else format_cpulist(a.cgroup_mems)}"
        allowed += ")"
    lines.append(allowed)
    lines.extend(render_distances(topo))
    if topo.warnings:
        lines.append("Warnings:")
        lines.extend(f"  {w}" for w in topo.warnings)
    return "\n".join(lines)


def gpu_line(g: Gpu) -> str:
    """``GPU0 nvidia 0000:8d:00.0 (10de:2330, 3D controller), /dev/nvidia0, near CPUs 0-31``."""
    kind = {0x0300: "VGA", 0x0302: "3D controller", 0x1200: "accelerator"}.get(
        g.pci_class >> 8, f"class 0x{g.pci_class:06x}"
    )
    vendor = next((f"{k:04x}" for k, v in GPU_VENDORS.items() if v == g.vendor), "?")
    ident = f"{vendor}:{g.device_id:04x}, " if g.device_id is not None else ""
    text = f"{g.label} {g.name or g.vendor} {g.pci} ({ident}{kind})"
    if g.minor is not None:
        text += f", /dev/nvidia{g.minor}"
    elif g.drm is not None:
        text += f", {g.drm}"
    if g.node is None:
        text += ", node unknown"
    elif g.local_cpus:
        text += f", near CPUs {format_cpulist(g.local_cpus)}"
    if g.memory_nodes:
        text += f", its memory is node {format_cpulist(g.memory_nodes)}"
    return text


def render_distances(topo: Topology) -> list[str]:
    """The node distance matrix as numactl --hardware prints it."""
    nodes = [n for n in topo.nodes if n.distances is not None]
    if len(topo.nodes) < 2 or not nodes:
        return []
    ids = [n.id for n in topo.nodes]
    width = max(3, *(len(str(i)) for i in ids)) + 1
    out = ["  Node distances:", "    " + " " * 5 + "".join(f"{i:>{width}}" for i in ids)]
    for n in topo.nodes:
        row = "".join(
            f"{MISSING if n.distances is None else n.distances.get(i, MISSING):>{width}}"
            for i in ids
        )
        out.append(f"    {n.id:>4} {row}")
    return out
