"""NumaviewApp: frames in, topology-shaped screen out; keys are actions.

The sampler thread posts a FrameArrived per tick; a newer one replaces a
queued older one (``can_replace``), so a slow screen drops stale frames
instead of queueing them. The UI never reads the OS and never waits on the
sampler. Attributes go down (``widget.show(frame)``), messages come up
(``ProcessTable.Selected``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from numaview.diagnose.engine import Diagnoser
from numaview.diagnose.findings import Finding
from numaview.model.frame import Frame
from numaview.pinning.apply import PinEvent, Pinner
from numaview.stream.source import FrameSource
from numaview.tui.keys import HELP_TEXT, KEY_NAMES
from numaview.tui.pinning import PinningMixin
from numaview.tui.recorder import RecorderMixin
from numaview.tui.screens.help import HelpScreen
from numaview.tui.screens.pin import PinScreen
from numaview.tui.screens.process import ProcessScreen
from numaview.tui.widgets.charts import ChartPanel
from numaview.tui.widgets.findings import FindingsPanel
from numaview.tui.widgets.header import HeaderBar
from numaview.tui.widgets.heatmap import Heatmap
from numaview.tui.widgets.nodes import NodePanel
from numaview.tui.widgets.proctable import ProcessTable
from numaview.tui.widgets.stacks import Dumper, default_dumper
from numaview.tui.widgets.timeline import Timeline

MIN_W, MIN_H = 40, 12
INTERVALS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class FrameArrived(Message):
    """A new frame from the source; a newer one makes a queued older one pointless."""

    def __init__(self, frame: Frame) -> None:
        super().__init__()
        self.frame = frame

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FrameArrived)


class NumaviewApp(PinningMixin, RecorderMixin):
    CSS_PATH = "app.tcss"
    HELP_TEXTS: ClassVar[dict[str, str]] = HELP_TEXT  # ReplayApp adds its keys
    KEY_NAMES: ClassVar[dict[str, str]] = {}
    TITLE = "numaview"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("f10", "quit", "Quit", show=False),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "show_help", "Help"),
        Binding("f1", "show_help", "Help", show=False),
        Binding("slash", "filter_processes", "Filter"),
        Binding("f6", "cycle_sort", "Sort"),
        Binding("greater_than_sign", "cycle_sort", "Sort", show=False),
        Binding("space", "toggle_pause", "Pause"),
        Binding("plus", "sample_faster", "Faster"),
        Binding("minus", "sample_slower", "Slower"),
        Binding("H", "toggle_threads", "Threads", show=False),
        Binding("c", "toggle_charts", "Charts"),
        Binding("f", "focus_findings", "Findings"),
        Binding("a", "pin_process", "Pin"),
        Binding("escape", "clear_selection", "Clear", show=False),
        Binding("R", "toggle_recording", "Record", show=False),
        Binding("m", "add_mark", "Mark", show=False),
    ]

    def __init__(
        self, source: FrameSource, *, charts: bool | None = None, pinner: Pinner | None = None
    ) -> None:
        super().__init__()
        self.source = source
        self.pinner = pinner  # None: re-pinning is not available (replay, or no pinner given)
        self.topology = source.topology
        self.paused = False
        self.frame: Frame | None = None  # the frame on screen
        self.latest: Frame | None = None  # the newest frame received
        self.selected_pid: int | None = None
        self.charts_wanted = charts
        self._seen_errors: set[str] = set()
        # Detectors run on every frame, paused or not (pure and cheap: frames only).
        self.diagnoser = Diagnoser(self.topology)
        self.findings: tuple[Finding, ...] = ()
        self.selected_finding: Finding | None = None
        self._diagnosed_seq = 0
        self.pin_events: list[PinEvent] = []  # applied here, in order, for recording
        # The detail view's `s` dumps through this (in a worker thread); tests replace it.
        self.stack_dumper: Dumper = default_dumper(
            source.kind, lambda pid: self.latest.process(pid) if self.latest else None
        )

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        topo = self.topology
        yield HeaderBar(topo, self.source.kind, id="header")
        if self.source.kind == "replay":
            yield Timeline(id="timeline")
        with Horizontal(id="top"):
            yield Heatmap(topo, id="heatmap")
            yield NodePanel(topo, id="nodes")
        yield FindingsPanel(id="findings")
        with Horizontal(id="bottom"):
            yield ProcessTable(topo, id="processes")
            yield ChartPanel(topo, id="charts")
        yield Input(placeholder="filter processes by name, command, user or pid", id="filter")
        yield Static("", id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one(HeaderBar).show(interval_s=self.source.interval_s)
        self._apply_size(self.size.width, self.size.height)
        self.query_one(ProcessTable).focus()
        self.source.start(self._frame_from_thread)

    def _frame_from_thread(self, frame: Frame) -> None:
        # Runs on the sampler thread: only hand the frame over.
        self.post_message(FrameArrived(frame))

    def on_unmount(self) -> None:
        self.source.stop()
        self.stop_recording()  # quitting closes the file

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        small = width < MIN_W or height < MIN_H
        # The dashboard's screen, also when a dialog is on top of it.
        base = self.screen_stack[0] if self.screen_stack else self.screen
        base.set_class(small, "too-small")
        base.set_class(width < 110, "narrow")
        base.set_class(height < 32, "short")
        note = self.query_one("#too-small", Static)
        note.update(f"terminal too small ({width}×{height});\nnumaview needs {MIN_W}×{MIN_H}")
        charts = (
            self.charts_wanted
            if self.charts_wanted is not None
            else (width >= 150 and height >= 30)
        )
        self.query_one(ChartPanel).display = charts and not small

    # -- frames ----------------------------------------------------------------------

    def on_frame_arrived(self, message: FrameArrived) -> None:
        frame = message.frame
        self.latest = frame
        # The message queue may have dropped stale frames; the detectors still
        # see every one (their hysteresis counts time, their evidence history).
        missed = self.source.ring.after(self._diagnosed_seq) or [frame]
        for f in missed:
            if f.seq > self._diagnosed_seq or f is frame:
                self.findings = self.diagnoser.update(f)
                self._diagnosed_seq = max(self._diagnosed_seq, f.seq)
                self.record_frame(f, self.findings)
        new_errors = [e for e in frame.errors if e not in self._seen_errors]
        for e in new_errors[:3]:
            self._seen_errors.add(e)
            self.notify(e, title="sampler", severity="warning", timeout=8)
        if not self.paused:
            self.show_frame(frame)

    def show_frame(self, frame: Frame) -> None:
        self.frame = frame
        self.query_one(HeaderBar).show(frame)
        self.query_one(Heatmap).show(frame)
        self.query_one(NodePanel).show(frame)
        self.query_one(ProcessTable).show(frame)
        self.query_one(FindingsPanel).show(self.findings)
        charts = self.query_one(ChartPanel)
        if charts.display:
            charts.show(self.source.ring.window(charts.window_s))
        self._update_selection()
        screen = self.screen
        if isinstance(screen, (ProcessScreen, PinScreen)):
            screen.show(frame)

    def _update_selection(self) -> None:
        p = self._selected_process()
        if isinstance(self.screen, ProcessScreen) and self.screen.process is not None:
            p = self.screen.process  # the detail view's (and its stacks') threads' CPUs
        heatmap = self.query_one(Heatmap)
        nodes = self.query_one(NodePanel)
        f = None if isinstance(self.screen, ProcessScreen) else self.selected_finding
        self.query_one(ProcessTable).set_marked(frozenset(f.pids) if f is not None else frozenset())
        if f is not None:
            procs = [self.frame.process(pid) for pid in f.pids] if self.frame else []
            running = {c for q in procs if q is not None for c in q.last_cpus}
            heatmap.select(f.cpus or None, running)
            nodes.set_highlight(frozenset(f.nodes))
            return
        if p is None:
            heatmap.select(None)
            nodes.set_highlight(frozenset())
            return
        heatmap.select(p.affinity, p.last_cpus)
        mem_nodes = frozenset(p.mem_by_node_bytes or ()) | frozenset(p.nodes_running)
        nodes.set_highlight(mem_nodes)

    # -- messages from widgets -------------------------------------------------------

    def on_process_table_selected(self, message: ProcessTable.Selected) -> None:
        self.selected_pid = message.pid
        self._update_selection()
        charts = self.query_one(ChartPanel)
        if message.pid is not None:
            charts.set_subject_process(message.pid)

    def on_process_table_opened(self, message: ProcessTable.Opened) -> None:
        frame = self.frame
        p = frame.process(message.pid) if frame is not None else None
        if p is None or frame is None:
            return
        screen = ProcessScreen(self.topology, p.pid, p.start_time)
        self.push_screen(screen)
        screen.show(frame)
        self._update_selection()

    def on_findings_panel_selected(self, message: FindingsPanel.Selected) -> None:
        self.selected_finding = message.finding
        self._update_selection()

    def on_findings_panel_fix_requested(self, message: FindingsPanel.FixRequested) -> None:
        self._open_fix(message.finding)

    def on_heatmap_cpu_clicked(self, message: Heatmap.CpuClicked) -> None:
        self.query_one(Heatmap).set_cursor(message.cpu)
        self.query_one(ChartPanel).set_subject_cpu(message.cpu)

    # -- command palette ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for title, action in (
            ("Pause / resume the view", "toggle_pause"),
            ("Sort processes by the next column", "cycle_sort"),
            ("Filter processes", "filter_processes"),
            ("Threads as rows (htop's H)", "toggle_threads"),
            ("Charts on / off", "toggle_charts"),
            ("Sample more often", "sample_faster"),
            ("Sample less often", "sample_slower"),
            ("Browse the findings", "focus_findings"),
            ("Pin the selected process (htop's a)", "pin_process"),
            ("Apply the selected finding's fix", "apply_fix"),
            ("Record to a file / stop recording", "toggle_recording"),
            ("Help: every key", "show_help"),
        ):
            yield SystemCommand(title, HELP_TEXT[action], getattr(self, f"action_{action}"))

    # -- actions ---------------------------------------------------------------------

    async def action_quit(self) -> None:
        self.exit(0)

    def action_show_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self._help_rows()))

    def _help_rows(self) -> list[tuple[str, str]]:
        rows: list[tuple[str, str]] = []
        for b in self.help_bindings() + ProcessTable.BINDINGS + FindingsPanel.BINDINGS:
            if isinstance(b, Binding):
                what = self.HELP_TEXTS.get(b.action, b.description or b.action)
                rows.append((self.KEY_NAMES.get(b.key) or KEY_NAMES.get(b.key, b.key), what))
        rows += [("mouse", "click a process row or a CPU cell to select it; double-click: details")]
        return rows

    def help_bindings(self) -> list[BindingType]:
        return list(NumaviewApp.BINDINGS)

    def action_focus_findings(self) -> None:
        panel = self.query_one(FindingsPanel)
        if panel.has_focus:
            self.query_one(ProcessTable).focus()
        else:
            panel.focus()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self.query_one(HeaderBar).show(paused=self.paused)
        if not self.paused and self.latest is not None and self.latest is not self.frame:
            self.show_frame(self.latest)

    def _step_interval(self, direction: int) -> None:
        current = self.source.interval_s
        if direction < 0:
            choices = [i for i in INTERVALS if i < current - 1e-9]
            target = choices[-1] if choices else INTERVALS[0]
        else:
            choices = [i for i in INTERVALS if i > current + 1e-9]
            target = choices[0] if choices else INTERVALS[-1]
        value = self.source.set_interval(target)
        self.query_one(HeaderBar).show(interval_s=value)
        self.notify(f"sampling every {value:g} s", timeout=2)

    def action_sample_faster(self) -> None:
        self._step_interval(-1)

    def action_sample_slower(self) -> None:
        self._step_interval(+1)

    def action_cycle_sort(self) -> None:
        key = self.query_one(ProcessTable).cycle_sort()
        self.notify(f"sorted by {key}", timeout=2)

    def action_toggle_threads(self) -> None:
        table = self.query_one(ProcessTable)
        table.show_threads = not table.show_threads
        self.notify(
            "one row per thread" if table.show_threads else "one row per process", timeout=2
        )
        self._update_selection()

    def action_toggle_charts(self) -> None:
        charts = self.query_one(ChartPanel)
        self.charts_wanted = not charts.display
        charts.display = self.charts_wanted
        if charts.display:
            charts.show(self.source.ring.window(charts.window_s))
            charts.force_redraw()

    def action_filter_processes(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(ProcessTable).set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.input.display = bool(event.value)
            self.query_one(ProcessTable).focus()

    def action_clear_selection(self) -> None:
        if self.query_one(FindingsPanel).has_focus:
            self.query_one(ProcessTable).focus()
            return
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(ProcessTable).set_filter("")
            self.query_one(ProcessTable).focus()


def make_app(
    source: FrameSource, *, charts: bool | None = None, pinner: Pinner | None = None
) -> NumaviewApp:
    """The one factory the CLI and the tests use; a recording gets the replay keys."""
    if source.kind == "replay":
        from numaview.tui.replay_app import ReplayApp  # imports this module

        return ReplayApp(source, charts=charts, pinner=None)
    return NumaviewApp(source, charts=charts, pinner=pinner)
