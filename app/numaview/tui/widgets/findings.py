"""The findings panel: what is leaking, most severe first, one line each.

The selected finding (``f`` focuses the panel, arrows move) also shows the
evidence of each detector merged into it (``· oversubscription: …``), its
explanation and the fix numaview suggests (enter applies it, after the pin
dialog's confirmation, or the plan dialog's when the fix moves several
processes); the app highlights its CPUs, processes and nodes on the heatmap
and the node panel.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from numaview.diagnose.findings import Finding
from numaview.model.cpuset import format_cpulist

BADGE = {"critical": " CRIT ", "warning": " WARN ", "info": " INFO "}


def fix_text(f: Finding) -> str:
    if f.plan:
        n = len(f.plan)
        moves = "; ".join(f"pid {p.pid} → {p.target or format_cpulist(p.cpus)}" for p in f.plan)
        return f"fix: plan, {n} process{'' if n == 1 else 'es'} ({moves}); enter: the plan dialog"
    if f.fix is None:
        return "fix: none to apply automatically"
    p = f.fix
    memory = "and move its memory" if p.move_memory else "memory stays"
    return f"fix: pin pid {p.pid} to {p.target} (CPUs {format_cpulist(p.cpus)}), {memory}"


class FindingsPanel(Widget, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "findings--title",
        "findings--critical",
        "findings--warning",
        "findings--info",
        "findings--text",
        "findings--cursor",
        "findings--detail",
        "findings--ok",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Previous finding", show=False),
        Binding("down", "move(1)", "Next finding", show=False),
        Binding("enter", "apply_fix", "Apply fix"),
    ]

    class Selected(Message):
        def __init__(self, finding: Finding | None) -> None:
            super().__init__()
            self.finding = finding

    class FixRequested(Message):
        """Enter on a finding: the app opens the pin dialog preset to its fix."""

        def __init__(self, finding: Finding) -> None:
            super().__init__()
            self.finding = finding

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.findings: tuple[Finding, ...] = ()
        self.cursor = 0
        self._lines: list[list[Segment]] = []

    @property
    def selected(self) -> Finding | None:
        return self.findings[self.cursor] if self.findings else None

    def show(self, findings: tuple[Finding, ...]) -> None:
        key = None if self.selected is None else self.selected.key
        self.findings = findings
        keys = [f.key for f in findings]
        self.cursor = (
            keys.index(key) if key in keys else min(self.cursor, max(len(findings) - 1, 0))
        )
        self._relayout()

    def action_move(self, step: int) -> None:
        if self.findings:
            self.cursor = (self.cursor + step) % len(self.findings)
            self._relayout()
            self.post_message(self.Selected(self.selected))

    def action_apply_fix(self) -> None:
        if self.selected is not None:
            self.post_message(self.FixRequested(self.selected))

    def on_focus(self) -> None:
        self._relayout()
        self.post_message(self.Selected(self.selected))

    def on_blur(self) -> None:
        self._relayout()
        self.post_message(self.Selected(None))

    def _s(self, name: str) -> Style:
        return self.get_component_rich_style(f"findings--{name}")

    def _relayout(self) -> None:
        lines: list[list[Segment]] = []
        if not self.findings:
            lines.append([Segment("✓ no leaks found", self._s("ok"))])
        else:
            n = len(self.findings)
            title = f"{n} finding{'s' if n != 1 else ''}"
            title += " (↑↓ to browse)" if self.has_focus else " (f to browse)"
            lines.append([Segment(title, self._s("title"))])
        for i, f in enumerate(self.findings):
            cur = self.has_focus and i == self.cursor
            text_style = self._s("cursor") if cur else self._s("text")
            lines.append(
                [
                    Segment(BADGE.get(f.severity, " ? "), self._s(f.severity)),
                    Segment(f" {f.kind}: {f.evidence}", text_style),
                ]
            )
            if cur:
                for sym in f.symptoms:  # a merged finding: each detector's evidence
                    if (sym.kind, sym.evidence) != (f.kind, f.evidence):  # not its own twice
                        text = f"   · {sym.kind}: {sym.evidence}"
                        lines.append([Segment(text, self._s("detail"))])
                lines.append([Segment(f"   {f.explanation}", self._s("detail"))])
                lines.append([Segment(f"   {fix_text(f)}", self._s("detail"))])
        grew = len(lines) != len(self._lines)
        same = grew is False and all(
            [seg.text for seg in a] == [seg.text for seg in b]
            for a, b in zip(lines, self._lines, strict=True)
        )
        self._lines = lines
        if same:
            return  # the evidence numbers did not change: nothing to paint
        self.virtual_size = Size(self.size.width, len(lines))
        # a new height re-lays the screen out (costly); the same height only repaints
        self.refresh(layout=grew)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self._lines), 1)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self.is_mounted:
            self._relayout()

    def render_line(self, y: int) -> Strip:
        if y >= len(self._lines):
            return Strip.blank(self.size.width)
        return Strip(self._lines[y]).crop_extend(0, self.size.width, None)
