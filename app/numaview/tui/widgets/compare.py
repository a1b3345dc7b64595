"""The before/after panel: what the newest pin did to the load test's figures.

The Monitor compares each workload source's figures over a window before a
pin with a window after it (``Bundle.comparisons``, newest last) and, until the
after-window closes, says so (``Bundle.measuring``). The panel shows the newest
pin's comparisons (one block per source: figure, before → after, change, and
better / worse / noise in colour, with the two windows' lengths and sample
counts) and a countdown line per pin still being measured. It opens by itself
when a new comparison arrives or a measurement starts; the app's key toggles
it and escape closes it. A Line-API widget: lines are cached until the data
or the width change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from textual.geometry import Size
from textual.strip import Strip

from numaview.model.workload import Comparison, Measuring
from numaview.render.columns import fit
from numaview.render.workload import comparison_rows, window_text
from numaview.tui.widgets.pieces import PiecesWidget

Piece = tuple[str, str]  # (text, component class suffix)
VERDICT_CLASS = {"better": "better", "worse": "worse", "noise": "noise"}
WIDTHS = (10, 12, 12, 9)  # figure, before, after, change; the verdict takes the rest


def comparison_lines(group: Sequence[Comparison]) -> list[list[Piece]]:
    """The blocks of one pin's comparisons, one per source, as styled pieces."""
    out: list[list[Piece]] = []
    if not group:
        return out
    out.append([("before → after pin: ", "title"), (group[0].pin_text, "title")])
    for c in group:
        out.append([(c.server or c.source, "label"), (" · " + window_text(c), "dim")])
        if not c.changes:
            out.append([("  no figures to compare", "dim")])
            continue
        fw, bw, aw, cw = WIDTHS
        head = f"  {fit('FIGURE', fw)} {fit('BEFORE', bw, True)}   {fit('AFTER', aw, True)}"
        out.append([(head + f" {fit('CHANGE', cw, True)}  VERDICT", "header")])
        for label, before, after, change, verdict in comparison_rows(c):
            text = f"  {fit(label, fw)} {fit(before, bw, True)} → {fit(after, aw, True)}"
            text += f" {fit(change, cw, True)}  "
            out.append([(text, "text"), (verdict, VERDICT_CLASS.get(verdict, "unknown"))])
    return out


def measuring_lines(measuring: Sequence[Measuring], now: float | None) -> list[list[Piece]]:
    lines = []
    for m in measuring:
        left = "" if now is None else f" {max(m.ready_mono - now, 0.0):.0f}s left"
        lines.append([("measuring after pin ", "measuring"), (f"{m.pin_text} …{left}", "text")])
    return lines


class ComparePanel(PiecesWidget):
    PREFIX = "comparepanel"
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"comparepanel--{n}"
        for n in (
            "title",
            "label",
            "dim",
            "header",
            "text",
            "better",
            "worse",
            "noise",
            "unknown",
            "measuring",
        )
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[list[Piece]] = []
        self.is_open = False
        self._seen: tuple[float, int] | None = None  # newest pin compared, and its sources
        self._seen_measuring: set[float] = set()

    def show(
        self, comparisons: Sequence[Comparison], measuring: Sequence[Measuring], now: float | None
    ) -> bool:
        """The bundle's comparisons and countdowns; True when something new arrived
        (a comparison for a newer pin, or a measurement that started): the panel opens."""
        newest = comparisons[-1] if comparisons else None
        group = [c for c in comparisons if newest is not None and c.pin_mono == newest.pin_mono]
        key = None if newest is None else (newest.pin_mono, len(group))
        started = {m.pin_mono for m in measuring} - self._seen_measuring
        arrived = key is not None and key != self._seen
        self._seen = key
        self._seen_measuring |= started
        lines = comparison_lines(group) + measuring_lines(measuring, now)
        if lines != self.lines:
            resized = len(lines) != len(self.lines)
            self.lines = lines
            self.changed()
            self.refresh(layout=resized)
        if arrived or started:
            self.set_open(True)
        elif not lines:
            self.set_open(False)
        return arrived or bool(started)

    def set_open(self, on: bool) -> None:
        self.is_open = on and bool(self.lines)
        self.set_class(self.is_open, "-open")

    def text(self) -> list[str]:
        """Every line's text (uncut): what a test can assert on."""
        return ["".join(t for t, _ in line) for line in self.lines]

    # -- drawing ---------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self.lines), 1)

    def _build(self, y: int, width: int) -> Strip:
        if y >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        segments = [Segment(" ", self.rich_style)]
        segments += [Segment(t, self._style(cls)) for t, cls in self.lines[y]]
        strip = Strip(segments)
        if strip.cell_length > width:  # cut where it shows
            strip = Strip([*strip.crop(0, width - 1), Segment("…", self._style("dim"))])
        return strip.crop_extend(0, width, self.rich_style)
