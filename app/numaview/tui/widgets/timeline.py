"""The replay timeline: where in the recording the screen is, where its events are, how it plays.

One line (Line API): a bar across the width with ▮ at the position and ◆ at
each pin, mark or sampler error, then "12:01:07 / 12:30:00 · 2× · paused".
Clock times are local, as the recording's frames are stamped.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget


def _clock(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


class Timeline(Widget, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--bar",
        "timeline--pos",
        "timeline--event",
        "timeline--label",
    }
    DEFAULT_CSS = "Timeline { height: 1; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.first = 0.0
        self.last = 0.0
        self.position = 0.0
        self.events: tuple[float, ...] = ()
        self.speed = 1.0
        self.playing = True

    def show(
        self,
        *,
        first: float,
        last: float,
        position: float,
        events: Sequence[float],
        speed: float,
        playing: bool,
    ) -> None:
        state = (first, last, position, tuple(events), speed, playing)
        if state != (self.first, self.last, self.position, self.events, self.speed, self.playing):
            self.first, self.last, self.position, self.events, self.speed, self.playing = state
            self.refresh()

    def label(self) -> str:
        state = "playing" if self.playing else "paused"
        return f" {_clock(self.position)} / {_clock(self.last)} · {self.speed:g}× · {state} "

    def column(self, t: float, width: int) -> int:
        span = self.last - self.first
        if width <= 1 or span <= 0:
            return 0
        return max(0, min(width - 1, round((t - self.first) / span * (width - 1))))

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        label = self.label()
        bar_w = max(0, width - len(label))
        cells = ["─"] * bar_w
        kinds = ["bar"] * bar_w
        for t in self.events:
            if bar_w:
                x = self.column(t, bar_w)
                cells[x], kinds[x] = "◆", "event"
        if bar_w:
            x = self.column(self.position, bar_w)
            cells[x], kinds[x] = "▮", "pos"
        segs: list[Segment] = []
        for ch, kind in zip(cells, kinds, strict=True):
            segs.append(Segment(ch, self.get_component_rich_style(f"timeline--{kind}")))
        segs.append(Segment(label, self.get_component_rich_style("timeline--label")))
        return Strip(segs).crop_extend(0, width, None)
