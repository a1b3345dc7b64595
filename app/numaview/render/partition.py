"""A partition as text: one row per process (where it is, where it goes, what memory moves).

Shared by ``numaview plan`` and the plan dialog (P), through one column spec,
so the terminal and the dashboard say the same thing in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from numaview.model.cpuset import format_cpulist
from numaview.model.frame import Frame
from numaview.model.partition import Partition, Share
from numaview.model.topology import Topology
from numaview.render.columns import Column, Labels, text_table
from numaview.render.labels import affinity_label
from numaview.render.units import MISSING, size


@dataclass(frozen=True, slots=True)
class PlanRow:
    share: Share
    now: str  # its affinity now, named ("node 0", "all", "CPU 0")
    cpu_pct: float | None
    refused: str | None  # why this process's share cannot be applied


def plan_rows(part: Partition, frame: Frame | None, topo: Topology) -> list[PlanRow]:
    refused = {r.pid: r.reason for r in part.refused}
    rows = []
    for s in part.shares:
        p = frame.process(s.pid) if frame is not None else None
        now = MISSING if p is None else affinity_label(p.affinity, topo)
        rows.append(PlanRow(s, now, None if p is None else p.cpu_pct, refused.get(s.pid)))
    return rows


def memory_text(s: Share) -> str:
    """What happens to its memory: moved (how much), already there, or left remote."""
    if s.off_bytes is None:
        return "moves (size unknown)" if s.move_memory else "stays (size unknown)"
    if s.off_bytes == 0:
        return "already local"
    if s.move_memory:
        return f"moves {size(s.off_bytes)}"
    return f"{size(s.off_bytes)} stays remote"


def _cpu(r: PlanRow, labels: Labels, width: int) -> str:
    return MISSING if r.cpu_pct is None else f"{r.cpu_pct:.0f}"


def _result(r: PlanRow, labels: Labels, width: int) -> str:
    if r.refused:
        return f"refused: {r.refused}"
    s = r.share
    tail = " · more busy threads than CPUs" if s.crowded else ""
    return ("stays (already there)" if s.stays else "moves") + tail


PLAN_COLUMNS: tuple[Column[PlanRow], ...] = (
    Column("PID", 7, lambda r, _l, _w: str(r.share.pid), right=True),
    Column("NAME", 15, lambda r, _l, _w: r.share.name),
    Column("CPU%", 5, _cpu, right=True),
    Column("NOW", 10, lambda r, _l, _w: r.now, grow=6),
    Column("→ TARGET", 16, lambda r, _l, _w: r.share.label, grow=8),
    Column("CPUS", 12, lambda r, _l, _w: format_cpulist(r.share.cpus), grow=12),
    Column("MEMORY", 18, lambda r, _l, _w: memory_text(r.share)),
    Column("CHANGE", 0, _result),
)


def plan_table(part: Partition, frame: Frame | None, topo: Topology, width: int = 120) -> list[str]:
    """The plan as aligned lines: a header, a row per process."""
    rows = plan_rows(part, frame, topo)
    lines, _ = text_table(PLAN_COLUMNS, rows, Labels(topo), width, room=20)
    last = [_result(r, Labels(topo), 0) for r in rows]
    return [
        lines[0] + PLAN_COLUMNS[-1].title,
        *(f"{line}{tail}" for line, tail in zip(lines[1:], last, strict=True)),
    ]


def plan_text(part: Partition, frame: Frame | None, topo: Topology) -> str:
    """The whole plan for a terminal: what it is, the table, what is kept free, refusals."""
    lines = [f"plan: {part.label}", *plan_table(part, frame, topo)]
    if part.housekeeping:
        lines.append(f"kept free for housekeeping: CPUs {format_cpulist(part.housekeeping)}")
    for r in part.refused:
        lines.append(f"refused: pid {r.pid} ({r.name}): {r.reason}")
    return "\n".join(lines)


def colour_slots(part: Partition) -> dict[int, int]:
    """CPU -> index of the process that gets it (the map's one colour per process)."""
    return {c: i for i, s in enumerate(part.shares) for c in s.cpus}
