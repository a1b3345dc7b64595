"""What the pin dialog offers and says: its targets, the dry run's summary, the chart label.

Pure text from the model and the pinner's events (no widgets), so the dialog's
wording can be tested without a terminal and stays the same wherever it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from numaview.diagnose.findings import PinPlan
from numaview.model.cpuset import format_cpulist
from numaview.model.frame import Frame, ProcessSample
from numaview.model.topology import Topology
from numaview.pinning.plan import (
    PinError,
    Target,
    gpu_target,
    l3_target,
    node_target,
    package_target,
    plan_target,
    spread_target,
    undo_target,
)
from numaview.render.labels import affinity_label, nodes_label
from numaview.render.units import MISSING
from numaview.render.units import size as size_text

if TYPE_CHECKING:
    from numaview.pinning.apply import PinEvent

CUSTOM, UNDO, FIX = "custom", "undo", "fix"


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    text: str
    target: Target | None  # None: the custom list (from the input) or nothing to undo


def _busy(busy: Mapping[int, float | None], cpus: Sequence[int]) -> str:
    vals = [v for c in cpus if (v := busy.get(c)) is not None]
    return f"{sum(vals) / len(vals):3.0f}% busy" if vals else f"{MISSING:>3} busy"


def nodes_text(ids: Sequence[int]) -> str:
    return ("node " if len(set(ids)) == 1 else "nodes ") + nodes_label(ids)


def _try(make: Callable[..., Target], *args: Any) -> Target | None:
    try:
        return make(*args)
    except PinError:
        return None  # a memory-only node, an L3 of offline CPUs: nothing to pin to


def choices(
    topo: Topology, frame: Frame | None, p: ProcessSample, preset: PinPlan | None, undo: bool
) -> list[Choice]:
    """The targets on offer: the finding's fix first, near the GPUs it drives, then nodes,
    L3s, packages, near each other GPU, spread."""
    busy = frame.cpus.busy_by_cpu() if frame is not None else {}
    mem = p.mem_by_node_bytes or {}
    total = sum(mem.values())
    out: list[Choice] = []

    def add(cid: str, t: Target | None, before: str = "", after: str = "") -> None:
        if t is not None:
            cpus = f"CPUs {format_cpulist(t.cpus)}"
            out.append(
                Choice(cid, f"{t.label:<11} {before}{cpus}  {_busy(busy, t.cpus)}{after}", t)
            )

    if preset is not None:
        fix = _try(plan_target, topo, preset.cpus, preset.target)
        if fix is not None:
            out.append(
                Choice(FIX, f"suggested fix: {fix.label}  CPUs {format_cpulist(fix.cpus)}", fix)
            )
    for g in topo.gpus:  # near the GPUs it drives: first, they are what it waits on
        if g.index in p.gpus:
            add(f"gpu:{g.index}", _try(gpu_target, topo, g.index), after=" · it drives this GPU")
    for n in topo.nodes:
        share = f" · {100 * mem.get(n.id, 0) / total:.0f}% of its memory" if total else ""
        here = " · runs here" if n.id in p.nodes_running else ""
        add(f"node:{n.id}", _try(node_target, topo, n.id), after=share + here)
    for c in topo.l3:
        add(f"l3:{c.id}", _try(l3_target, topo, c.id), f"{nodes_text(c.nodes)}  ")
    for k in topo.packages:
        add(f"package:{k.id}", _try(package_target, topo, k.id), f"{nodes_text(k.nodes)}  ")
    for g in topo.gpus:
        if g.index not in p.gpus:
            add(f"gpu:{g.index}", _try(gpu_target, topo, g.index))
    add("spread", _try(spread_target, topo))
    out.append(Choice(CUSTOM, "custom CPU list…  (type it below, or toggle CPUs on the map)", None))
    out.append(
        Choice(
            UNDO,
            "undo: as before" + ("" if undo else "  (nothing to undo)"),
            undo_target() if undo else None,
        )
    )
    return out


def summary_text(event: PinEvent) -> str:
    """One line from the dry run: what would move where, and what happens to memory."""
    n = len(event.threads)
    threads = f"{n} thread{'s' if n != 1 else ''} of {event.name}"
    cpus = f"CPUs {format_cpulist(event.cpus)}"
    if event.undo:
        text = f"put {threads} back as before ({cpus})"
    elif all(t.before == t.after for t in event.threads):
        text = f"{threads} already on {event.target} ({cpus}): no thread moves"
    else:
        text = f"pin {threads} to {event.target} ({cpus})"
    m = event.memory
    if m is None:
        return text + "; memory stays"
    if m.error:
        return text + f"; memory cannot move: {m.error}"
    if not m.from_nodes and m.bytes_before is not None:
        return text + f"; memory already on {nodes_text(m.to_nodes)}"
    size = ""
    if m.bytes_before is not None and m.from_nodes:
        size = f" {size_text(sum(m.bytes_before.get(x, 0) for x in m.from_nodes), short=True)}"
    source = f" from {nodes_text(m.from_nodes)}" if m.from_nodes else ""
    return text + f"; memory{size} moves{source} to {nodes_text(m.to_nodes)}"


def marker_label(event: PinEvent, topo: Topology) -> str:
    """A chart marker names the move in a few characters: ``pin 4121→node 0``."""
    if event.undo:
        return f"undo {event.pid}"
    where = affinity_label(event.cpus, topo)
    if where.removeprefix("node").isdigit():
        where = f"node {where.removeprefix('node')}"
    label = f"pin {event.pid}→{where}"
    return label if len(label) <= 20 else label[:19] + "…"
