"""The node panel: per NUMA node, memory used/free, busy %, and where allocations land.

Two lines a node: a memory bar with numbers and the node's busy %, then the
numastat rates that say whether memory is local (local_node/s vs
other_node/s, numa_miss/s). CPU-less memory nodes (HBM, CXL) say so.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from numaview.model.frame import Frame, NodeSample
from numaview.model.topology import Topology
from numaview.render.units import pct, rate, size
from numaview.tui.widgets.lines import LineWidget

RATE_W = 8  # "999.9k/s": every node's rates in the same columns, its bar the same length


class NodePanel(LineWidget, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "nodes--label",
        "nodes--text",
        "nodes--dim",
        "nodes--bar-used",
        "nodes--bar-free",
        "nodes--bar-low",
        "nodes--warn",
        "nodes--highlight",
    }

    def __init__(self, topology: Topology, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.topology = topology
        self.frame: Frame | None = None
        self.highlight: frozenset[int] = frozenset()
        self._styles: dict[str, Style] = {}

    def show(self, frame: Frame) -> None:
        self.frame = frame
        self.update_lines()

    def set_highlight(self, nodes: frozenset[int]) -> None:
        if nodes != self.highlight:
            self.highlight = nodes
            self.update_lines()

    @property
    def compact(self) -> bool:
        """One line a node on short screens (the rates shortened onto the memory line)."""
        return (self.app.size.height if self.is_attached else 40) < 32

    def get_content_height(self, container: object, viewport: object, width: int) -> int:
        return (1 if self.compact else 2) * len(self.topology.nodes)

    def _s(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"nodes--{name}")
        return style

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    def build_lines(self, width: int) -> list[Strip]:
        compact = self.compact
        lines = []
        for node in self.topology.nodes:
            sample = self.frame.node(node.id) if self.frame is not None else None
            if compact:
                rates = self._rates(sample, short=True)
                room = width - sum(seg.cell_length for seg in rates)
                lines.append(self._memory(node.id, node.memory_only, sample, room) + rates)
            else:
                lines.append(self._memory(node.id, node.memory_only, sample, width))
                lines.append(self._rates(sample))
        return [Strip(segs).crop_extend(0, width, None) for segs in lines]

    def _memory(
        self, nid: int, memory_only: bool, s: NodeSample | None, width: int
    ) -> list[Segment]:
        label_style = self._s("highlight") if nid in self.highlight else self._s("label")
        segs = [Segment(f"N{nid:<3}", label_style)]
        total = s.mem_total_bytes if s else None
        free = s.mem_free_bytes if s else None
        used = None if total is None or free is None else total - free
        # fixed-width numbers, so the bars of all nodes line up and compare
        used_t, total_t, free_t = (size(b, short=True) for b in (used, total, free))
        numbers = f" {used_t:>5}/{total_t:<5} free {free_t:>5}"
        busy = pct(s.busy_pct if s else None, 0, sign=True)
        owners = [g.label for g in self.topology.gpus if nid in g.memory_nodes]
        if memory_only:
            tail = f"  {','.join(owners)} memory" if owners else "  memory-only"
        else:
            tail = f"  busy {busy:>4}"
        gpus = self._gpus(nid, width - 4 - 4 - len(numbers) - len(tail))
        bar_w = max(4, width - 4 - len(numbers) - len(tail) - sum(g.cell_length for g in gpus))
        if used is not None and total:
            filled = round(bar_w * used / total)
            low_free = free is not None and free < 0.05 * total
            segs.append(Segment("█" * filled, self._s("bar-low" if low_free else "bar-used")))
            segs.append(Segment("░" * (bar_w - filled), self._s("bar-free")))
        else:
            segs.append(Segment("·" * bar_w, self._s("dim")))
        warn = free is not None and total is not None and free < 0.05 * total
        segs.append(Segment(numbers, self._s("warn" if warn else "text")))
        segs.append(Segment(tail, self._s("text")))
        return segs + gpus

    def _gpus(self, nid: int, room: int) -> list[Segment]:
        """The node's GPUs and their utilisation, `` G0 78% G1  3%``; ids alone when tight."""
        mine = [g.index for g in self.topology.gpus if g.node == nid]
        if not mine:
            return []
        util = {g.index: g.util_pct for g in self.frame.gpus} if self.frame is not None else {}
        full = room >= 7 * len(mine)  # " G0" and " 78%"
        segs = []
        for i in mine:
            u = util.get(i)
            segs.append(Segment(f" G{i}", self._s("label")))
            if full:
                hot = u is not None and u >= 90
                segs.append(
                    Segment(f"{pct(u, 0, sign=True):>4}", self._s("warn" if hot else "text"))
                )
        return segs

    def _rates(self, s: NodeSample | None, short: bool = False) -> list[Segment]:
        """Labels and values as separate segments, each value right-aligned in RATE_W
        cells after a label that keeps its spaces: ``rem  20.0k/s miss   6.0k/s``."""
        other = None if s is None else s.other_node_per_s
        local = None if s is None else s.local_node_per_s
        miss = None if s is None else s.numa_miss_per_s
        text, dim = self._s("text"), self._s("dim")
        if short:
            return [
                Segment("  rem ", dim),
                Segment(f"{rate(other, '/s'):>{RATE_W}}", text),
                Segment(" miss ", dim),
                Segment(f"{rate(miss, '/s'):>{RATE_W}}", text),
            ]
        remote_heavy = (
            other is not None and local is not None and other > 0.1 * max(local + other, 1)
        )
        miss_heavy = miss is not None and miss > 1000
        return [
            Segment("    local ", dim),
            Segment(f"{rate(local, '/s'):>{RATE_W}}", text),
            Segment("  remote ", dim),
            Segment(f"{rate(other, '/s'):>{RATE_W}}", self._s("warn") if remote_heavy else text),
            Segment("  miss ", dim),
            Segment(f"{rate(miss, '/s'):>{RATE_W}}", self._s("warn") if miss_heavy else text),
        ]
