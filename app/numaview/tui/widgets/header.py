"""The header line: which machine, how it is sampled, and what numaview itself costs.

Built from whole fields with priorities: on a narrow terminal the least
important fields go first (the kernel version, the host's domain, SMT, the
host name, ...) so the sampling interval and numaview's own CPU stay, and no
field is ever cut in the middle of a word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.tui.widgets.lines import LineWidget

SEP = " · "


@dataclass(frozen=True, slots=True)
class Field:
    """One piece of the header: its forms, longest first, and for each the priority
    at which it gives way to the next form (the last: to nothing). Lowest goes first."""

    forms: tuple[str, ...]
    keeps: tuple[int, ...]
    style: str = ""  # a component class, e.g. "header--warn"
    badge: bool = False  # a coloured block of its own, never dropped (no " · " before it)


def fit_fields(fields: Sequence[Field], width: int) -> list[tuple[Field, str]]:
    """The fields' texts that fit ``width`` cells: shorten or drop the least
    important first, a whole field at a time; badges (title, state) always stay."""
    form = [0] * len(fields)  # index into forms; len(forms): dropped

    def text_of(i: int) -> str | None:
        f = fields[i]
        return f.forms[form[i]] if form[i] < len(f.forms) else None

    def total() -> int:
        n, after_badge = 0, True
        for i, f in enumerate(fields):
            t = text_of(i)
            if t is None:
                continue
            n += cell_len(t) + (0 if f.badge else 1 if after_badge else len(SEP))
            after_badge = f.badge
        return n

    steps = sorted((keep, i) for i, f in enumerate(fields) if not f.badge for keep in f.keeps)
    for _, i in steps:
        if total() <= width:
            break
        form[i] += 1
    return [(fields[i], t) for i in range(len(fields)) if (t := text_of(i)) is not None]


class HeaderBar(LineWidget, can_focus=False):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "header--title",
        "header--state",
        "header--paused",
        "header--sim",
        "header--warn",
    }

    def __init__(self, topology: Topology, kind: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.topology = topology
        self.kind = kind  # live / simulated / replay
        self.frame: Frame | None = None
        self.paused = False
        self.interval_s = 1.0
        self.note = ""  # e.g. "recording to run.nvrec"
        self._styles: dict[str, Style] = {}
        self._built: tuple[object, list[Strip]] = (None, [])  # (fields and width, lines)

    def show(
        self,
        frame: Frame | None = None,
        *,
        paused: bool | None = None,
        interval_s: float | None = None,
    ) -> None:
        if frame is not None:
            self.frame = frame
        if paused is not None:
            self.paused = paused
        if interval_s is not None:
            self.interval_s = interval_s
        self.update_lines()

    def set_note(self, note: str) -> None:
        """A note at the end, e.g. "recording to run.nvrec" ("" removes it)."""
        self.note = note
        self.update_lines()

    def fields(self) -> list[Field]:
        """Everything the header could say, in display order, with priorities."""
        t = self.topology
        out = [Field((" numaview ",), (), "header--title", badge=True)]
        # State first: it is never dropped.
        if self.kind == "simulated":
            out.append(Field((" SIMULATED ",), (), "header--sim", badge=True))
        if self.kind == "replay":  # paused or not, say it is a recording
            state = " ⏸ REPLAY · PAUSED " if self.paused else " ▶ REPLAY "
            style = "header--paused" if self.paused else "header--state"
            out.append(Field((state,), (), style, badge=True))
        elif self.paused:
            out.append(Field((" PAUSED ",), (), "header--paused", badge=True))
        else:
            out.append(Field((" ● LIVE ",), (), "header--state", badge=True))
        host = t.host.hostname or "?"
        short = host.split(".")[0] if not host.replace(".", "").isdigit() else host
        # its domain goes right after the kernel version, the name itself after SMT
        out.append(Field((host, short), (12, 20)) if short != host else Field((host,), (20,)))
        out.append(Field((f"Linux {t.host.kernel or '?'}",), (10,)))
        cpus, online = len(t.cpus), len(t.online_cpus)
        out.append(Field((f"{cpus} CPUs" if online == cpus else f"{online}/{cpus} CPUs",), (40,)))
        nodes = len(t.nodes)
        out.append(Field((f"{nodes} node{'' if nodes == 1 else 's'}",), (35,)))
        if t.smt > 1:
            out.append(Field((f"SMT{t.smt}",), (15,)))
        out.append(Field((f"every {self.interval_s:g}s",), (80,)))
        f = self.frame
        if f is not None and f.cost.self_cpu_pct is not None:
            cpu = f"{f.cost.self_cpu_pct:.1f}%"
            out.append(Field((f"numaview {cpu} CPU", f"self {cpu}"), (60, 70)))
        if f is not None and f.errors:
            out.append(Field((f"{len(f.errors)} read error(s)",), (90,), "header--warn"))
        if self.note:
            out.append(Field((self.note,), (95,)))
        return out

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.rich_style + self.get_component_rich_style(name)
        return style

    def notify_style_update(self) -> None:
        self._styles.clear()
        self._built = (None, [])
        super().notify_style_update()

    def text(self) -> str:
        """The line as shown at the current width (what the tests read)."""
        width = self.size.width or 1 << 16
        return "".join(seg.text for seg in self.build_lines(width)[0]).rstrip()

    def build_lines(self, width: int) -> list[Strip]:
        fields = self.fields()
        key = (tuple(fields), width)
        if key == self._built[0]:  # most frames change nothing the header says
            return self._built[1]
        base = self.rich_style
        segments: list[Segment] = []
        after_badge = True
        for field, piece in fit_fields(fields, width):
            if not field.badge:
                segments.append(Segment(" " if after_badge else SEP, base))
            style = self._style(field.style) if field.style else base
            segments.append(Segment(piece, style))
            after_badge = field.badge
        lines = [Strip(segments).crop_extend(0, width, base)]
        self._built = (key, lines)
        return lines
