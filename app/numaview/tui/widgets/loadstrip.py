"""The load strip under the header: one line per workload source of the shown frame.

``vllm · pid 4121 · 1,234 tok/s · 8.2 req/s · TTFT p99 480 ms · queue 3``, each
figure coloured by how it moved against the window before (render/workload.py's
trend tags, as component classes ``loadstrip--up-good`` …). Hidden (the
``-empty`` class) when the frame has no workload. A Line-API widget: a line is
built once per change of its pieces or of the width, then served from the cache.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip

from numaview.model.frame import Frame
from numaview.render.workload import TAGS, Part, distinct_labels, fit_parts, strip_parts
from numaview.tui.widgets.pieces import PiecesWidget

SEP = " · "
MAX_LINES = 4  # more sources than this: the last line says how many are not shown


class LoadStrip(PiecesWidget):
    PREFIX = "loadstrip"
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"loadstrip--{t}" for t in (*TAGS, "sep", "label")}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[list[Part]] = []  # the pieces of each line, as shown

    def on_mount(self) -> None:
        self.add_class("-empty")

    def show(self, frame: Frame) -> None:
        """The frame's sources; repaints only when a line's text or colours changed."""
        names = distinct_labels({w.source: w.label for w in frame.workload})
        lines = [strip_parts(w, frame.mono, names[w.source]) for w in frame.workload]
        if len(lines) > MAX_LINES:
            more = len(lines) - MAX_LINES + 1
            lines = [*lines[: MAX_LINES - 1], [(f"+{more} more workload sources", "plain")]]
        if lines == self.lines:
            return
        resized = len(lines) != len(self.lines)
        self.lines = lines
        self.changed()
        self.set_class(not lines, "-empty")
        if resized:
            self.styles.height = max(len(lines), 1)
        self.refresh(layout=resized)

    def text(self, y: int) -> str:
        """Line ``y`` as shown (the width's cut applied): what a test can assert on."""
        return "".join(seg.text for seg in self.render_line(y)).strip()

    # -- drawing ---------------------------------------------------------------------

    def _build(self, y: int, width: int) -> Strip:
        if y >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        parts = fit_parts(self.lines[y], width - 1, len(SEP))
        segments = [Segment(" ", self.rich_style)]
        for i, (text, tag) in enumerate(parts):
            if i:
                segments.append(Segment(SEP, self._style("sep")))
            segments.append(Segment(text, self._style("label" if i == 0 else tag)))
        strip = Strip(segments)
        if strip.cell_length > width:
            strip = strip.crop(0, width - 1)
            strip = Strip([*strip, Segment("…", self._style("sep"))])
        return strip.extend_cell_length(width, self.rich_style)
