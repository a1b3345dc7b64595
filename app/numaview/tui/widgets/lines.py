"""Repaint only what changed: lines built eagerly, compared, and refreshed one run at a time.

Textual repaints a whole widget on ``refresh()`` and re-lays the whole screen
out when a ``virtual_size`` changes (it is a ``layout=True`` reactive). Both
cost far more than the data that changed: at 1 Hz the dashboard's budget is
about 1 % of one core, and one line through Textual's compositor costs tens
of microseconds while a full layout costs milliseconds. The widgets here
build their lines from the new data (cheap: cached styles, one segment a
run), compare them with the lines on screen, and ask Textual to repaint only
the runs of lines that differ.
"""

from __future__ import annotations

from textual import events
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget


def changed_runs(old: list[Strip], new: list[Strip]) -> list[tuple[int, int]]:
    """(first line, line count) of each run of consecutive lines that differ."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for y in range(max(len(old), len(new))):
        same = y < len(old) and y < len(new) and old[y] == new[y]
        if not same and start is None:
            start = y
        elif same and start is not None:
            runs.append((start, y - start))
            start = None
    if start is not None:
        runs.append((start, max(len(old), len(new)) - start))
    return runs


def set_virtual_height(widget: Widget, size: Size) -> None:
    """Set a scrolling widget's virtual size without re-laying the screen out.

    Only when its scrollbar must appear or vanish (the content fits its
    height on one side of the change and not on the other) does the layout
    change; otherwise the scrollbar's thumb is all that moves.
    """
    old = widget.virtual_size
    if size == old:
        return
    height = widget.scrollable_content_region.height
    if not widget.is_mounted or (old.height > height) != (size.height > height):
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    # Textual's own path for a size change that needs no layout (Widget._size_updated):
    # the scrollbars take the new virtual size and the scroll offset is clamped.
    widget._scroll_update(size)


class LineWidget(Widget):
    """A Line-API widget whose lines are built together from its data.

    Subclasses implement ``build_lines(width)``; ``update_lines()`` (after the
    data changed) rebuilds them and repaints only the runs that differ. A
    change of width or style rebuilds on the next paint.
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._strips: list[Strip] = []
        self._built_width = -1

    def build_lines(self, width: int) -> list[Strip]:
        raise NotImplementedError

    def update_lines(self) -> None:
        width = self.size.width
        if width <= 0 or width != self._built_width:
            self._built_width = -1  # not laid out yet, or resized: built when painted
            self.refresh()
            return
        old, new = self._strips, self.build_lines(width)
        self._strips = new
        for y, n in changed_runs(old, new):
            self.refresh(Region(0, y, width, n))

    def invalidate_lines(self) -> None:
        """Styles or layout changed: everything is built again when painted."""
        self._built_width = -1
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.invalidate_lines()

    def notify_style_update(self) -> None:
        self._built_width = -1
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width != self._built_width:
            self._strips = self.build_lines(width)
            self._built_width = width
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)
