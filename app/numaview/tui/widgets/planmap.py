"""The heatmap as a plan's map: one colour per process, over the machine's topology.

The plan dialog (P) shows where each process would go before anything
moves: each share's CPUs in its process's colour (a small palette, as
component classes in app.tcss), the housekeeping CPUs kept free in their
own colour, the rest dark; the last line is the legend naming the colours
(``■ pid 4121 llama-server ■ pid 5200 vllm``). One line a node, as in the
pin dialog's picker: the dialog has less room than the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from numaview.model.topology import Topology
from numaview.tui.widgets.heatmap import Heatmap

PALETTE = 8  # colours planmap--p0 … p7; a ninth process takes p0's again


class PlanMap(Heatmap):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *Heatmap.COMPONENT_CLASSES,
        *(f"planmap--p{i}" for i in range(PALETTE)),
        "planmap--house",
        "planmap--free",
    }

    def __init__(self, topology: Topology, *, id: str | None = None) -> None:
        super().__init__(topology, id=id)
        self.slots: dict[int, int] = {}  # CPU -> index of the process it goes to
        self.house: frozenset[int] = frozenset()
        self.legend: tuple[str, ...] = ()  # one entry per process, in slot order
        self._plan_styles: dict[str, Style] = {}

    def show_plan(
        self, slots: Mapping[int, int], housekeeping: Iterable[int], legend: Sequence[str]
    ) -> None:
        self.slots = dict(slots)
        self.house = frozenset(housekeeping)
        self.legend = tuple(legend)
        self._invalidate()

    def slot_class(self, cpu: int) -> str:
        """The component class a CPU's cell is drawn with (tests read it too)."""
        if cpu not in self._topo_online:
            return "heatmap--offline"
        if cpu in self.house:
            return "planmap--house"
        slot = self.slots.get(cpu)
        return "planmap--free" if slot is None else f"planmap--p{slot % PALETTE}"

    def _line_budget(self) -> int:
        return len(self.rows)

    def notify_style_update(self) -> None:
        self._plan_styles.clear()
        super().notify_style_update()

    def _plan_style(self, cls: str) -> Style:
        style = self._plan_styles.get(cls)
        if style is None:
            style = self._plan_styles[cls] = self.get_component_rich_style(cls, partial=False)
        return style

    def _cell(self, cpu: int) -> Segment:
        w = self.cell_w
        label = str(cpu)
        text = label.rjust(w - 1).ljust(w) if w >= 2 and len(label) < w else " " * w
        return Segment(text, self._plan_style(self.slot_class(cpu)))

    def _swatch(self, cls: str) -> Segment:
        bg = self._plan_style(cls).bgcolor
        return Segment("■ ", Style(color=bg, bold=True))

    def _legend(self) -> Strip:
        label = self._style("label")
        segs: list[Segment] = []
        for i, text in enumerate(self.legend):
            segs += [self._swatch(f"planmap--p{i % PALETTE}"), Segment(f"{text}  ", label)]
        if self.house:
            segs += [self._swatch("planmap--house"), Segment("kept free  ", label)]
        segs += [self._swatch("planmap--free"), Segment("not used", label)]
        return Strip(segs)
