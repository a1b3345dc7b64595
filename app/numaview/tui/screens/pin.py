"""The pin dialog (htop's ``a``): choose where a process goes, see what would change, confirm.

Every choice is previewed with the pinner's dry run, which reads the threads'
masks and changes nothing, so the summary line states what the real pin will
do (how many threads, which CPUs, whether memory moves) before anything
moves. A bad choice, a process that is gone or a refusal says why in one line
and the dialog stays open. Another user's process or a kernel thread needs a
second yes. The dialog never reads the OS itself, nor waits on it: dry runs
(and whether there is anything to undo) run in a worker thread, newest
choice wins, and the pin is a request to the Monitor that answers with a
message. With an inline Monitor (tests) the same work runs at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from numaview.diagnose.findings import PinPlan
from numaview.model.cpuset import format_cpulist, parse_cpulist
from numaview.model.frame import Frame, ProcessSample
from numaview.model.topology import Topology
from numaview.pinning.plan import PinError, Target, cpus_target
from numaview.render.labels import affinity_label
from numaview.render.units import MISSING
from numaview.stream.bundle import PinRequest
from numaview.tui.screens.aside import aside
from numaview.tui.screens.confirm import ConfirmScreen
from numaview.tui.screens.pin_choices import CUSTOM, FIX, UNDO, choices, nodes_text, summary_text
from numaview.tui.widgets.cpupicker import CpuPicker
from numaview.tui.widgets.heatmap import Heatmap

if TYPE_CHECKING:
    from numaview.pinning.apply import PinEvent, Pinner
    from numaview.stream.monitor import Monitor

SHORT_H = 36  # below this many rows the dialog drops its spacing
MAX_CPU_ID = 1 << 16  # "0-99999999" would build a set of a hundred million ids
KEYS = "↑↓ target · enter apply · m memory · tab: CPU list, map (space) · esc cancel"
CHECKING = "checking…"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Preview:
    """A dry run's answer: what the pin would do, or why it cannot be done."""

    event: PinEvent | None
    error: str = ""
    foreign: bool = False  # another user's process: a second yes
    kernel: bool = False
    name: str = ""


def dry_run(pinner: Pinner, pid: int, target: Target, memory: bool) -> Preview:
    """Runs in a worker: reads the process's threads and masks, changes nothing."""
    try:
        event = pinner.apply(pid, target, memory, dry_run=True)
        _, name, _, kernel = pinner.identity(pid)
        return Preview(event, foreign=pinner.is_foreign(pid), kernel=kernel, name=name)
    except PinError as exc:
        return Preview(None, str(exc))


class PinDone(Message):
    def __init__(self, event: PinEvent | None, error: str | None) -> None:
        super().__init__()
        self.event = event
        self.error = error


class PinScreen(ModalScreen["PinEvent | None"]):
    """Re-pin one process; dismissed with the applied event, or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("m", "toggle_memory", "Memory"),
        Binding("enter", "apply", "Apply"),
    ]

    def __init__(
        self,
        topology: Topology,
        frame: Frame | None,
        process: ProcessSample,
        pinner: Pinner,
        preset: PinPlan | None,
        monitor: Monitor,
    ) -> None:
        super().__init__()
        self.topology = topology
        self.frame = frame
        self.process = process
        self.pinner = pinner
        self.preset = preset
        self.monitor = monitor
        self.choices = choices(topology, frame, process, preset, False)  # undo: asked aside
        self.choice_id = self._initial_choice()
        self.target: Target | None = None  # the choice, when its dry run succeeded
        self.preview: PinEvent | None = None
        self.checked: Preview | None = None  # the last dry run's full answer
        self.error = ""  # why the choice cannot be applied (or why the pin failed)
        self.applying = False
        self._token = 0  # the newest dry run; older answers are dropped

    def aside(self, work: Callable[[], T], done: Callable[[T], None], group: str) -> None:
        """``work`` in a worker thread, then ``done`` with its answer on the UI thread."""
        aside(self, self.monitor.threaded, work, done, group)

    def _initial_choice(self) -> str:
        if self.preset is not None and self.choices[0].id == FIX:
            return FIX
        now = frozenset(self.process.affinity or ()) & frozenset(self.topology.online_cpus)
        match = next(
            (c.id for c in self.choices if c.target and frozenset(c.target.cpus) == now), None
        )
        return match or self.choices[0].id

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        p = self.process
        with Vertical(id="pin-box"):
            yield Static(f"Pin pid {p.pid} ({p.name})", id="pin-title", markup=False)
            yield Static(self._now_text(), id="pin-now", markup=False)
            yield Static("", id="pin-lit", markup=False)
            yield CpuPicker(self.topology, id="pin-map")
            yield OptionList(*self._options(), id="pin-targets", compact=True)
            with Horizontal(id="pin-custom"):
                yield Static("custom CPUs ", id="pin-custom-label")
                yield Input(placeholder="e.g. 0-7,64-71", id="pin-cpus", compact=True)
            yield Static("", id="pin-cpus-error", markup=False)
            memory = self.preset.move_memory if self.preset is not None else False
            yield Checkbox("move memory too (m)", memory, id="pin-memory", compact=True)
            yield Static("", id="pin-summary", markup=False)
            yield Static("", id="pin-error", markup=False)
            with Horizontal(id="pin-buttons"):
                yield Button("Apply", id="pin-apply", compact=True)
                yield Button("Cancel", id="pin-cancel", compact=True)
            yield Static(KEYS, id="pin-keys", markup=False)

    def _options(self) -> list[Option]:
        # Text, not markup: a prompt like "CPUs [0-7]" must print as it is.
        return [
            Option(Text(c.text), id=c.id, disabled=c.id == UNDO and c.target is None)
            for c in self.choices
        ]

    def on_resize(self) -> None:
        # At 80×24 the margins and a long target list would push the summary off screen.
        self.set_class(self.app.size.height < SHORT_H, "-short")

    def on_mount(self) -> None:
        self.on_resize()
        options = self.query_one(OptionList)
        if self.frame is not None:
            self.query_one(CpuPicker).show(self.frame)
        options.highlighted = options.get_option_index(self.choice_id)
        options.focus()
        pinner, pid = self.pinner, self.process.pid
        self.aside(lambda: pinner.can_undo(pid), self._undo_known, "undo")
        self._refresh()

    def _undo_known(self, can_undo: bool) -> None:
        if not can_undo or not self.is_attached:
            return
        self.choices = choices(self.topology, self.frame, self.process, self.preset, True)
        undo = next(c for c in self.choices if c.id == UNDO)
        options = self.query_one(OptionList)
        options.replace_option_prompt(UNDO, Text(undo.text))
        options.enable_option(UNDO)

    def show(self, frame: Frame) -> None:
        """New frames keep the map and the 'now' line live; the dry run does not rerun."""
        self.frame = frame
        p = frame.process(self.process.pid)
        if p is not None and p.start_time == self.process.start_time:
            self.process = p
        if self.is_mounted:
            self.query_one(CpuPicker).show(frame)
            self.query_one("#pin-now", Static).update(self._now_text())
            self._light()

    def _now_text(self) -> str:
        p, topo = self.process, self.topology
        mem = p.mem_by_node_bytes
        total = sum(mem.values()) if mem else 0
        where = (
            ", ".join(f"node {n} {100 * b / total:.0f}%" for n, b in sorted(mem.items()) if b)
            if mem and total
            else MISSING
        )
        aff = affinity_label(p.affinity, topo)
        cpus = "" if p.affinity is None else f" (CPUs {format_cpulist(p.affinity)})"
        kernel = " · kernel thread" if p.kernel_thread else ""
        return (
            f"now: affinity {aff}{cpus}, {p.threads} threads on {nodes_text(p.nodes_running)}\n"
            f"memory: {where} · user {p.user or '–'}{kernel}"
        )

    # -- the choice ------------------------------------------------------------------

    def choose(self, choice_id: str) -> None:
        """Highlight a target (as the arrow keys do) and preview it."""
        options = self.query_one(OptionList)
        options.highlighted = options.get_option_index(choice_id)
        self.choice_id = choice_id
        self._refresh()

    def _chosen(self) -> Target:
        if self.choice_id != CUSTOM:
            choice = next(c for c in self.choices if c.id == self.choice_id)
            if choice.target is None:
                raise PinError("nothing to undo for this process", "bad-target")
            return choice.target
        text = self.query_one("#pin-cpus", Input).value.strip()
        if not text:
            raise PinError("type a CPU list (e.g. 0-7,64-71) or toggle CPUs on the map")
        if any(int(n) >= MAX_CPU_ID for n in re.findall(r"\d+", text)):
            raise PinError("a CPU id that large does not exist on this machine", "bad-target")
        return cpus_target(self.topology, text)

    def _refresh(self) -> None:
        """A new choice: check it at once where no I/O is needed, dry-run it aside."""
        self.target, self.preview, self.checked, self.error = None, None, None, ""
        self._token += 1
        custom_error = ""
        try:
            target = self._chosen()
        except PinError as exc:
            custom_error, self.error = (
                (str(exc), "") if self.choice_id == CUSTOM else ("", str(exc))
            )
            target = None
        bad = self.query_one("#pin-cpus-error", Static)
        bad.update(f"✗ {custom_error}")
        bad.display = bool(custom_error)
        self.query_one("#pin-summary", Static).update(CHECKING if target is not None else MISSING)
        self._show_error()
        self.query_one("#pin-apply", Button).disabled = True
        self._light()
        if target is not None:
            token, pinner, pid, memory = self._token, self.pinner, self.process.pid, self._memory()
            self.aside(
                lambda: dry_run(pinner, pid, target, memory),
                lambda preview: self._previewed(token, preview),
                "dry-run",
            )

    def _previewed(self, token: int, p: Preview) -> None:
        if token != self._token or not self.is_attached:
            return  # a newer choice was made meanwhile, or the dialog is gone
        self.checked, self.preview, self.error = p, p.event, p.error
        self.target = self._chosen() if p.event is not None else None
        summary = summary_text(p.event) if p.event is not None else MISSING
        self.query_one("#pin-summary", Static).update(summary)
        self._show_error()
        self.query_one("#pin-apply", Button).disabled = self.target is None
        self._light()

    def _show_error(self) -> None:
        line = self.query_one("#pin-error", Static)
        line.update(f"✗ {self.error}")
        line.display = bool(self.error)

    def _light(self) -> None:
        """The map lights where the threads would run; ● marks where they run now."""
        p = self.process
        lit = self.preview.cpus if self.preview is not None else p.affinity
        self.query_one(CpuPicker).select(lit, p.last_cpus)
        what = "where it would run" if self.preview is not None else "its affinity now"
        self.query_one("#pin-lit", Static).update(f"lit: {what} · ●: where its threads run now")

    def _memory(self) -> bool:
        return self.query_one("#pin-memory", Checkbox).value

    # -- events ----------------------------------------------------------------------

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is not None and event.option.id != self.choice_id:
            self.choice_id = event.option.id
            self._refresh()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id == CUSTOM:
            self.query_one("#pin-cpus", Input).focus()
        else:
            self.action_apply()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.choice_id != CUSTOM:
            self.choose(CUSTOM)
        else:
            self._refresh()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._refresh()

    def on_cpu_picker_toggled(self, event: CpuPicker.Toggled) -> None:
        event.stop()
        self._toggle_cpu(event.cpu)

    def on_heatmap_cpu_clicked(self, event: Heatmap.CpuClicked) -> None:
        event.stop()  # not the dashboard's: a click here edits the custom list
        self.query_one(CpuPicker).set_cursor(event.cpu)
        self._toggle_cpu(event.cpu)

    def _toggle_cpu(self, cpu: int) -> None:
        box = self.query_one("#pin-cpus", Input)
        try:
            cpus = set(parse_cpulist(box.value))
        except ValueError:
            cpus = set()
        cpus ^= {cpu}
        box.value = format_cpulist(sorted(cpus))  # Input.Changed previews it

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "pin-apply":
            self.action_apply()
        else:
            self.action_cancel()

    # -- actions ---------------------------------------------------------------------

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_toggle_memory(self) -> None:
        self.query_one("#pin-memory", Checkbox).toggle()

    def action_apply(self) -> None:
        checked = self.checked
        if self.target is None or checked is None or self.applying:
            self.app.bell()  # nothing valid chosen, its dry run not back yet, or applying
            return
        if checked.foreign or checked.kernel:
            p = self.process
            whose = (
                "is a kernel thread"
                if checked.kernel
                else f"belongs to user {p.user or '?'}, not to you"
            )
            question = f"pid {p.pid} ({checked.name}) {whose}.\nReally pin it? (y/n)"
            self.app.push_screen(ConfirmScreen(question), self._confirmed)
            return
        self._apply()

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self._apply()
        else:
            self.dismiss(None)

    def _apply(self) -> None:
        assert self.target is not None
        self.applying = True
        self.query_one("#pin-apply", Button).disabled = True
        self.query_one("#pin-summary", Static).update("applying…")

        def reply(event: PinEvent | None, error: str | None) -> None:
            self.post_message(PinDone(event, error))  # from the sampling side

        self.monitor.submit(PinRequest(self.process.pid, self.target, self._memory(), reply))

    def on_pin_done(self, message: PinDone) -> None:
        self.applying = False
        if message.event is None:
            self.error = message.error or "the pin failed"
            self._show_error()
            self.query_one("#pin-apply", Button).disabled = self.target is None
            if self.preview is not None:
                self.query_one("#pin-summary", Static).update(summary_text(self.preview))
            return
        self.dismiss(message.event)
