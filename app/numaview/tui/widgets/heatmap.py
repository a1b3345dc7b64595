"""The core heatmap: every CPU as a coloured cell, laid out on the topology.

Rows are NUMA nodes (grouped by package), split into L3 domains, cores in
order, SMT siblings side by side. The cell width adapts to the space: from
``  17  95%`` on a small machine down to one character a CPU, so 256 CPUs
fit at 80×24 and 1024 still fit on a normal screen. Line API: only changed
frames rebuild lines, and a line is a handful of segments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip

from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.render.units import MISSING
from numaview.tui.widgets.lines import LineWidget

LEVELS = 10
WIDTHS = (8, 4, 3, 2, 1)  # cell widths, widest first


@dataclass(frozen=True, slots=True)
class Group:
    """One L3 domain's part of a node row: cores, each a tuple of CPU ids."""

    label: str
    cores: tuple[tuple[int, ...], ...]


@dataclass(frozen=True, slots=True)
class NodeRow:
    label: str
    groups: tuple[Group, ...]
    gpus: tuple[int, ...] = ()  # GPUs attached to the node (topology.Gpu.index)

    @property
    def gpu_width(self) -> int:
        """Cells its GPUs take at the end of a line: ``│G0 G1 ``."""
        return 1 + sum(len(f"G{g}") + 1 for g in self.gpus) if self.gpus else 0


def build_rows(topo: Topology) -> list[NodeRow]:
    """Package → node → L3 → core, siblings together; offline CPUs as a last group."""
    rows: list[NodeRow] = []
    core_by_id = {k.id: k for k in topo.cores}
    node_ids = [n.id for n in topo.nodes if n.cpus or n.offline_cpus]
    pkg_of_node = {n: min((c.package or 0) for c in topo.cpus if c.node == n) for n in node_ids}
    for nid in sorted(node_ids, key=lambda n: (pkg_of_node[n], n)):
        node = topo.node(nid)
        assert node is not None
        cpus = [topo.cpu(c) for c in node.cpus]
        by_l3: dict[int | None, list[int]] = {}
        for c in cpus:
            if c is not None and c.core is not None and c.core not in by_l3.get(c.l3, []):
                by_l3.setdefault(c.l3, []).append(c.core)
        groups = [
            Group(
                label="" if l3 is None else f"L3 {l3}",
                cores=tuple(
                    core_by_id[k].cpus for k in sorted(ks, key=lambda k: core_by_id[k].cpus[0])
                ),
            )
            for l3, ks in sorted(by_l3.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        ]
        if node.offline_cpus:
            groups.append(Group(label="off", cores=tuple((c,) for c in node.offline_cpus)))
        gpus = tuple(g.index for g in topo.gpus if g.node == nid)
        rows.append(NodeRow(label=f"N{nid}", groups=tuple(groups), gpus=gpus))
    return rows


def _level(busy: float) -> str:
    """The colour class of a busy % on the heatmap's scale (CPUs and GPUs alike)."""
    return f"l{min(int(busy / (100 / LEVELS)), LEVELS - 1)}"


def _faded(style: Style, outside: Style) -> Style:
    """``style`` with its background blended 70 % toward the 'outside' background."""
    bg, fade = style.bgcolor, outside.bgcolor
    if bg is None or fade is None:
        return style + outside
    a, b = bg.get_truecolor(), fade.get_truecolor()
    mixed = tuple(round(x * 0.3 + y * 0.7) for x, y in zip(a, b, strict=True))
    return style + Style(bgcolor=RichColor.from_rgb(*mixed), color=outside.color)


class Heatmap(LineWidget, can_focus=False):
    """Busy % per CPU on the topology. Feed it with ``show(frame)``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"heatmap--l{i}" for i in range(LEVELS)),
        "heatmap--offline",
        "heatmap--unknown",
        "heatmap--label",
        "heatmap--sep",
        "heatmap--running",
        "heatmap--outside",
        "heatmap--cursor",
    }

    class CpuClicked(Message):
        def __init__(self, cpu: int) -> None:
            super().__init__()
            self.cpu = cpu

    def __init__(
        self, topology: Topology, *, name: str | None = None, id: str | None = None
    ) -> None:
        super().__init__(name=name, id=id)
        self.topology = topology
        self.rows = build_rows(topology)
        self.smt = max(1, topology.smt)
        self.label_w = max((len(r.label) for r in self.rows), default=2) + 1
        self.frame: Frame | None = None
        self._busy: dict[int, float | None] = {}
        self._gpu_busy: dict[int, float | None] = {}
        self._online: dict[int, bool] = {}
        self._topo_online = frozenset(topology.online_cpus)
        self.allowed: frozenset[int] | None = None  # the selection's affinity
        self.running: frozenset[int] = frozenset()  # CPUs its threads are on now
        self.cursor_cpu: int | None = None
        self.cell_w = 1
        self._lines: list[list[tuple[str, str, int | None]]] = []  # (text, kind, CPU or GPU)
        self._layout_width = -1  # the width self._lines were laid out for
        self._styles: dict[tuple[str, bool, bool, bool], Style] = {}

    # -- data in -------------------------------------------------------------------

    def show(self, frame: Frame) -> None:
        self.frame = frame
        # One pass over the columns per frame; cells then look up by CPU id.
        self._busy = frame.cpus.busy_by_cpu()
        self._online = dict(zip(frame.cpus.ids, frame.cpus.online, strict=True))
        self._gpu_busy = {g.index: g.util_pct for g in frame.gpus}
        self._invalidate()

    def select(self, allowed: Iterable[int] | None, running: Iterable[int] = ()) -> None:
        new_allowed = None if allowed is None else frozenset(allowed)
        new_running = frozenset(running)
        if (new_allowed, new_running) != (self.allowed, self.running):
            self.allowed, self.running = new_allowed, new_running
            self._invalidate()

    def set_cursor(self, cpu: int | None) -> None:
        if cpu != self.cursor_cpu:
            self.cursor_cpu = cpu
            self._invalidate()

    # -- layout ----------------------------------------------------------------------

    def _group_width(self, g: Group, w: int) -> int:
        gap = 1 if w >= 3 else 0
        return len(g.cores) * (self.smt * w + gap) - gap + 2  # "│" + cells + " "

    def layout_for(
        self, width: int, max_lines: int | None = None
    ) -> tuple[int, list[list[tuple[NodeRow, list[Group]]]]]:
        """The widest cell whose layout fits ``max_lines`` (default: one line a node).

        Nodes wrap at L3 boundaries; a wider cell that needs more lines than the
        budget gives way to a narrower one, down to one character a CPU.
        """
        avail = max(width - self.label_w, 4)
        budget = max(max_lines or len(self.rows), len(self.rows))
        for w in WIDTHS:
            lines: list[list[tuple[NodeRow, list[Group]]]] = []
            for row in self.rows:
                current: list[Group] = []
                used = 0
                for g in row.groups:
                    gw = self._group_width(g, w)
                    if current and used + gw > avail:
                        lines.append([(row, current)])
                        current, used = [], 0
                    current.append(g)
                    used += gw
                lines.append([(row, current)])
            fits = all(self._group_width(g, w) <= avail for r in self.rows for g in r.groups)
            if (fits and len(lines) <= budget) or w == WIDTHS[-1]:
                return w, lines
        raise AssertionError("unreachable")

    def _line_budget(self) -> int:
        # Two lines a node (wider, labelled cells) only while that stays under a
        # quarter of the screen: the process table needs the rows more.
        screen_h = self.app.size.height if self.is_attached else 24
        two = 2 * len(self.rows)
        return two if two <= screen_h // 4 else len(self.rows)

    def _relayout(self, width: int) -> None:
        self._layout_width = width
        self.cell_w, lines = self.layout_for(width, self._line_budget())
        out: list[list[tuple[str, str, int | None]]] = []
        w = self.cell_w
        gap = " " if w >= 3 else ""
        seen: set[str] = set()
        placed: set[str] = set()  # rows whose GPUs found room on one of their lines
        avail = max(width - self.label_w, 4)
        for parts in lines:
            for row, groups in parts:
                label = row.label if row.label not in seen else ""
                seen.add(row.label)
                cells: list[tuple[str, str, int | None]] = [
                    (label.ljust(self.label_w), "label", None)
                ]
                for g in groups:
                    cells.append(("│", "sep", None))
                    for i, core in enumerate(g.cores):
                        if i and gap:
                            cells.append((gap, "sep", None))
                        for cpu in core:
                            cells.append(("", "cell", cpu))
                        for _ in range(self.smt - len(core)):
                            cells.append((" " * w, "sep", None))
                    cells.append((" ", "sep", None))
                used = sum(self._group_width(g, w) for g in groups)
                if row.gpus and row.label not in placed and used + row.gpu_width <= avail:
                    # Its GPUs where a line of the row has room (never at the CPUs' expense:
                    # the node panel beside lists them too).
                    placed.add(row.label)
                    cells.append(("│", "sep", None))
                    for gpu in row.gpus:
                        cells += [(f"G{gpu}", "gpu", gpu), (" ", "sep", None)]
                out.append(cells)
        out.append([])  # legend line
        self._lines = out
        self.virtual_size = Size(width, len(out))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        _, lines = self.layout_for(width, self._line_budget())
        return len(lines) + 1

    def on_resize(self, event: events.Resize) -> None:
        self._layout_width = -1  # the line budget follows the screen's height too
        super().on_resize(event)

    def _invalidate(self) -> None:
        self.update_lines()

    # -- drawing ---------------------------------------------------------------------

    def _style(
        self, cls: str, outside: bool = False, running: bool = False, cursor: bool = False
    ) -> Style:
        key = (cls, outside, running, cursor)
        style = self._styles.get(key)
        if style is None:
            style = self.get_component_rich_style(f"heatmap--{cls}", partial=False)
            if outside:
                # Keep the load visible, faded: overlap with other processes still shows.
                style = _faded(
                    style, self.get_component_rich_style("heatmap--outside", partial=True)
                )
            if running:
                style += self.get_component_rich_style("heatmap--running", partial=True)
            if cursor:
                style += self.get_component_rich_style("heatmap--cursor", partial=True)
            self._styles[key] = style
        return style

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    def _cell(self, cpu: int) -> Segment:
        w = self.cell_w
        if self.frame is not None:
            busy = self._busy.get(cpu)
            online = self._online.get(cpu, False)
        else:
            busy, online = None, cpu in self._topo_online
        if not online:
            cls, pct = "offline", "off"
        elif busy is None:
            cls, pct = "unknown", MISSING
        else:
            cls, pct = _level(busy), f"{busy:.0f}%"
        running = cpu in self.running
        outside = self.allowed is not None and cpu not in self.allowed
        if w >= 8:
            text = f"{cpu:>3} {pct:>4}"[:w].ljust(w)
        elif w >= 2:
            text = str(cpu) if len(str(cpu)) < w else ""
            text = text.rjust(w - 1).ljust(w)
        else:
            text = " "
        if running:
            # ● where there is room; a CPU id that fills its cell keeps its digits and is
            # told apart by the running colour alone
            if w >= 8:
                text = text[:3] + "●" + text[4:]
            elif text[:1] == " " or w == 1:
                text = "●" + text[1:]
        elif not online and w < 3:
            text = "×" * w
        return Segment(text, self._style(cls, outside, running, cpu == self.cursor_cpu))

    def _gpu_cell(self, text: str, gpu: int) -> Segment:
        """``G0`` in the colour of the GPU's utilisation (the CPUs' scale); grey when unknown."""
        busy = self._gpu_busy.get(gpu)
        cls = "unknown" if busy is None else _level(busy)
        return Segment(text, self._style(cls))

    def build_lines(self, width: int) -> list[Strip]:
        if width != self._layout_width:
            self._relayout(width)
        out = []
        for cells in self._lines:
            if not cells:
                strip = self._legend()
            else:
                strip = Strip(
                    [
                        self._cell(cpu)
                        if kind == "cell" and cpu is not None
                        else self._gpu_cell(text, cpu)
                        if kind == "gpu" and cpu is not None
                        else Segment(text, self._style("label" if kind == "label" else "sep"))
                        for text, kind, cpu in cells
                    ]
                )
            out.append(strip.crop_extend(0, width, None))
        return out

    def _legend(self) -> Strip:
        segs = [Segment("0% ", self._style("label"))]
        for i in range(LEVELS):
            segs.append(Segment("  ", self._style(f"l{i}")))
        segs.append(Segment(" 100%", self._style("label")))
        if self.allowed is not None or self.running:
            segs.append(Segment("  ", self._style("sep")))
            segs.append(Segment("●", self._style("l0", running=True)))
            segs.append(Segment(" threads now  ", self._style("label")))
            segs.append(Segment("  ", self._style("l0", outside=True)))
            segs.append(Segment(" outside affinity", self._style("label")))
        return Strip(segs)

    # -- mouse ---------------------------------------------------------------------

    def cpu_at(self, x: int, y: int) -> int | None:
        if y >= len(self._lines):
            return None
        pos = 0
        for text, kind, cpu in self._lines[y]:
            width = self.cell_w if kind == "cell" else len(text)
            if pos <= x < pos + width:
                return cpu if kind == "cell" else None
            pos += width
        return None

    def on_click(self, event: events.Click) -> None:
        cpu = self.cpu_at(event.x, event.y)
        if cpu is not None:
            self.post_message(self.CpuClicked(cpu))
