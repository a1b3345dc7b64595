"""A Line-API widget of styled text pieces: one Strip per line, built once per change.

The load strip and the before/after panel both show lines of (text, style
name) pieces, where the style name is a component class ``<prefix>--<name>``.
This base keeps their caches: a line's Strip is built at most once per change
of its pieces, of the width or of the styles, then served from the cache.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual import events
from textual.strip import Strip
from textual.widget import Widget


class PiecesWidget(Widget, can_focus=False):
    PREFIX: ClassVar[str] = ""  # the component classes' prefix ("loadstrip", "comparepanel")

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._strips: dict[int, Strip] = {}  # y -> strip at self._width
        self._width = -1
        self._styles: dict[str, Style] = {}

    def changed(self) -> None:
        """The lines changed: built again when next painted."""
        self._strips.clear()

    def on_resize(self, event: events.Resize) -> None:
        self._strips.clear()

    def notify_style_update(self) -> None:
        self._styles.clear()
        self._strips.clear()
        super().notify_style_update()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            part = self.get_component_rich_style(f"{self.PREFIX}--{name}", partial=True)
            style = self._styles[name] = self.rich_style + part
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width or 80
        if width != self._width:
            self._width = width
            self._strips.clear()
        strip = self._strips.get(y)
        if strip is None:
            strip = self._strips[y] = self._build(y, width)
        return strip

    def _build(self, y: int, width: int) -> Strip:
        raise NotImplementedError
