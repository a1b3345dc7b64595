"""The header line: which machine, how it is sampled, and what numaview itself costs."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widget import Widget

from numaview.model.frame import Frame
from numaview.model.topology import Topology


class HeaderBar(Widget, can_focus=False):
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
        self.refresh()

    def render(self) -> Text:
        t = self.topology
        host = t.host.hostname or "?"
        kernel = t.host.kernel or "?"
        cpus = len(t.cpus)
        online = len(t.online_cpus)
        cpu_text = f"{cpus} CPUs" if online == cpus else f"{online}/{cpus} CPUs"
        text = Text()
        text.append(" numaview ", self.get_component_rich_style("header--title"))
        # State first: at 80 columns the machine details are what gets cut.
        if self.kind == "simulated":
            text.append(" SIMULATED ", self.get_component_rich_style("header--sim"))
        if self.kind == "replay":  # paused or not, say it is a recording
            state = " ⏸ REPLAY · PAUSED " if self.paused else " ▶ REPLAY "
            style = "header--paused" if self.paused else "header--state"
            text.append(state, self.get_component_rich_style(style))
        elif self.paused:
            text.append(" PAUSED ", self.get_component_rich_style("header--paused"))
        else:
            text.append(" ● LIVE ", self.get_component_rich_style("header--state"))
        nodes = len(t.nodes)
        text.append(
            f" {host} · Linux {kernel} · {cpu_text} · {nodes} node{'' if nodes == 1 else 's'}"
        )
        text.append(f" · SMT{t.smt}" if t.smt > 1 else "")
        text.append(f" · every {self.interval_s:g}s")
        f = self.frame
        if f is not None and f.cost.self_cpu_pct is not None:
            text.append(f" · numaview {f.cost.self_cpu_pct:.1f}% CPU")
        if f is not None and f.errors:
            text.append(
                f" · {len(f.errors)} read error(s)", self.get_component_rich_style("header--warn")
            )
        if self.note:
            text.append(f" · {self.note}")
        return text
