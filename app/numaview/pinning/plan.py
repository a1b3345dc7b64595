"""Pin targets built from the topology: node, L3 domain, package, cpu list, spread.

Pure (model only): the UI, the CLI and the detectors' fixes all name a
target the same way, and a bad one is refused here, before any thread moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from numaview.model.cpuset import format_cpulist, parse_cpulist
from numaview.model.topology import Topology

KINDS = ("node", "l3", "package", "gpu", "cpus", "spread", "undo")


class PinError(Exception):
    """A pin that cannot be done; the message is one line a user can act on."""

    def __init__(self, message: str, reason: str = "failed") -> None:
        super().__init__(message)
        self.reason = reason  # gone, permission, einval, offline, kernel, bad-target, failed


@dataclass(frozen=True, slots=True)
class Target:
    kind: str
    label: str  # "node 1", "L3 4", "package 0", "CPUs 0-7,64-71", "spread over nodes 0-3"
    cpus: tuple[int, ...]  # empty for undo: each thread's own previous mask
    nodes: tuple[int, ...]  # the NUMA nodes of those CPUs (where memory should go)


def _nodes_of(topo: Topology, cpus: tuple[int, ...]) -> tuple[int, ...]:
    node_of = {c.id: c.node for c in topo.cpus}
    return tuple(sorted({n for c in cpus if (n := node_of.get(c)) is not None}))


def _checked(topo: Topology, kind: str, label: str, cpus: tuple[int, ...]) -> Target:
    if not cpus:
        raise PinError(f"{label} has no online CPU to pin to", "bad-target")
    known = {c.id: c.online for c in topo.cpus}
    unknown = [c for c in cpus if c not in known]
    if unknown:
        raise PinError(f"CPUs {format_cpulist(unknown)} do not exist on this machine", "bad-target")
    offline = [c for c in cpus if not known[c]]
    if offline:
        raise PinError(f"CPUs {format_cpulist(offline)} are offline", "offline")
    return Target(kind, label, tuple(sorted(cpus)), _nodes_of(topo, tuple(cpus)))


def node_target(topo: Topology, node: int) -> Target:
    n = topo.node(node)
    if n is None:
        ids = ",".join(str(x.id) for x in topo.nodes)
        raise PinError(f"no NUMA node {node} (nodes: {ids})", "bad-target")
    return _checked(topo, "node", f"node {node}", n.cpus)


def l3_target(topo: Topology, l3: int) -> Target:
    cache = next((c for c in topo.l3 if c.id == l3), None)
    if cache is None:
        raise PinError(
            f"no L3 domain {l3} (0-{len(topo.l3) - 1})"
            if topo.l3
            else "no L3 information on this machine",
            "bad-target",
        )
    return _checked(topo, "l3", f"L3 {l3}", cache.cpus)


def package_target(topo: Topology, package: int) -> Target:
    pkg = next((p for p in topo.packages if p.id == package), None)
    if pkg is None:
        raise PinError(f"no package {package}", "bad-target")
    return _checked(topo, "package", f"package {package}", pkg.cpus)


def gpu_target(topo: Topology, gpu: int) -> Target:
    """The CPUs of the node GPU ``gpu`` hangs off ("near GPU 4"), memory to go there too."""
    g = next((x for x in topo.gpus if x.index == gpu), None)
    if g is None:
        have = ",".join(str(x.index) for x in topo.gpus)
        raise PinError(
            f"no GPU {gpu} (GPUs: {have})" if have else "no GPU on this machine", "bad-target"
        )
    if g.node is None:
        raise PinError(f"{g.label}'s NUMA node is unknown (its firmware gives none)", "bad-target")
    n = topo.node(g.node)
    return _checked(topo, "gpu", f"near {g.label} (node {g.node})", n.cpus if n else ())


def cpus_target(topo: Topology, text: str) -> Target:
    try:
        cpus = parse_cpulist(text)
    except ValueError as exc:
        raise PinError(str(exc), "bad-target") from None
    return _checked(topo, "cpus", f"CPUs {format_cpulist(cpus)}", cpus)


def spread_target(topo: Topology) -> Target:
    """Every online CPU of every node: let the scheduler spread threads over nodes."""
    cpus = topo.online_cpus
    nodes = [n.id for n in topo.nodes if n.cpus]
    return _checked(topo, "spread", f"spread over nodes {format_cpulist(nodes)}", cpus)


def undo_target() -> Target:
    return Target("undo", "as before (undo)", (), ())


def plan_target(topo: Topology, cpus: tuple[int, ...], label: str) -> Target:
    """A detector's fix (already a cpu set) as a target, with the same checks."""
    return _checked(topo, "cpus", label or f"CPUs {format_cpulist(cpus)}", cpus)
