"""NumaviewApp: bundles in, topology-shaped screen out; keys are actions.

The Monitor (stream/monitor.py) posts a BundleArrived per frame or action:
the frame, the findings its detectors raised, and the events (pins, marks,
recording) since. A newer bundle replaces a queued older one
(``can_replace``), so a slow screen drops stale frames instead of queueing
them; the detectors have already seen every frame on the sampling side. The
UI never reads the OS, never runs a detector, never writes the recording,
and never waits on the sampler. Attributes go down (``widget.show(frame)``),
messages come up (``ProcessTable.Selected``), requests go to the Monitor.
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

from numaview.diagnose.findings import Finding
from numaview.model.frame import Frame
from numaview.pinning.apply import PinEvent, Pinner
from numaview.stream.bundle import Bundle, Event
from numaview.stream.factories import for_source
from numaview.stream.monitor import Monitor
from numaview.stream.source import FrameSource
from numaview.tui.keys import HELP_TEXT, KEY_NAMES
from numaview.tui.planning import PlanningMixin
from numaview.tui.recorder import RecorderMixin
from numaview.tui.screens.help import HelpScreen
from numaview.tui.screens.pin import PinScreen
from numaview.tui.screens.pin_choices import marker_label
from numaview.tui.screens.plan_choices import plan_marker, plan_note
from numaview.tui.screens.process import ProcessScreen
from numaview.tui.widgets.charts import ChartPanel
from numaview.tui.widgets.findings import FindingsPanel
from numaview.tui.widgets.header import HeaderBar
from numaview.tui.widgets.heatmap import Heatmap
from numaview.tui.widgets.nodes import NodePanel
from numaview.tui.widgets.proctable import ProcessTable
from numaview.tui.widgets.timeline import Timeline
from numaview.tui.workload import WorkloadMixin

MIN_W, MIN_H = 40, 12
INTERVALS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class BundleArrived(Message):
    """A new bundle from the Monitor; a newer one makes a queued older one pointless.

    Nothing is lost by the replacement: the detectors ran on every frame, and
    each bundle carries the newest events, so a dropped bundle's events come
    again in the next one.
    """

    def __init__(self, bundle: Bundle) -> None:
        super().__init__()
        self.bundle = bundle

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BundleArrived)


class NumaviewApp(PlanningMixin, RecorderMixin, WorkloadMixin):
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
        Binding("Z", "toggle_pause", "Pause"),
        Binding("plus", "sample_faster", "Faster"),
        Binding("minus", "sample_slower", "Slower"),
        Binding("H", "toggle_threads", "Threads", show=False),
        Binding("c", "toggle_charts", "Charts"),
        Binding("f", "focus_findings", "Findings"),
        Binding("a", "pin_process", "Pin"),
        Binding("P", "plan_processes", "Plan"),
        Binding("U", "untag_all", "Untag", show=False),
        Binding("escape", "clear_selection", "Clear", show=False),
        Binding("R", "toggle_recording", "Record", show=False),
        Binding("m", "add_mark", "Mark", show=False),
        Binding("C", "toggle_compare", "Compare", show=False),
    ]

    def __init__(self, monitor: Monitor, *, charts: bool | None = None) -> None:
        super().__init__()
        self.monitor = monitor
        self.source = monitor.source  # for its label and interval only
        self.topology = monitor.topology
        self.paused = False
        self.frame: Frame | None = None  # the frame on screen
        self.latest: Frame | None = None  # the newest frame received
        self.bundle: Bundle | None = None  # the newest bundle received
        self.selected_pid: int | None = None
        self.charts_wanted = charts
        self._seen_errors: set[str] = set()
        self._seen_event = 0
        self.findings: tuple[Finding, ...] = ()
        self.selected_finding: Finding | None = None
        self.pin_events: list[PinEvent] = []  # applied from here, in order

    @property
    def pinner(self) -> Pinner | None:
        """None: re-pinning is not available (replay, or no pinner given)."""
        return self.monitor.pinner

    @pinner.setter
    def pinner(self, value: Pinner | None) -> None:
        self.monitor.pinner = value

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        topo = self.topology
        yield HeaderBar(topo, self.source.kind, id="header")
        yield from self.workload_widgets()
        if self.monitor.replay is not None:
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
        self.monitor.start(self._bundle_from_thread)

    def _bundle_from_thread(self, bundle: Bundle) -> None:
        # Runs on the sampling side: only hand the bundle over.
        self.post_message(BundleArrived(bundle))

    def on_unmount(self) -> None:
        self.monitor.stop()  # stops the source, finishes the recording

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

    def on_bundle_arrived(self, message: BundleArrived) -> None:
        b = message.bundle
        self.bundle = b
        self.findings = b.findings
        for event in b.new_events(self._seen_event):
            self._seen_event = event.id
            self.tell(event)
        self.show_recording(b)
        self.show_comparisons(b)
        frame = b.frame
        if frame is None:
            return
        self.latest = frame
        new_errors = [e for e in frame.errors if e not in self._seen_errors]
        for e in new_errors[:3]:
            self._seen_errors.add(e)
            self.notify(e, title="sampler", severity="warning", timeout=8)
        if not self.paused or b.jumped:
            self.show_frame(frame)

    def tell(self, e: Event) -> None:
        """An event from the sampling side: a notification; a pin or a plan, a chart marker too."""
        if e.pin is not None:
            self.pin_events.append(e.pin)
        label = (
            marker_label(e.pin, self.topology)
            if e.pin is not None
            else plan_marker(e.plan)
            if e.plan is not None
            else None
        )
        if label is not None and e.mono is not None:
            self.query_one(ChartPanel).add_marker(e.mono, label)
        severity = (
            e.severity if e.severity in ("information", "warning", "error") else "information"
        )
        text = plan_note(e.plan) if e.plan is not None else e.text
        self.notify(text, title=e.title, severity=severity, timeout=4 if label is None else 8)  # type: ignore[arg-type]

    def show_frame(self, frame: Frame) -> None:
        self.frame = frame
        self.query_one(HeaderBar).show(frame)
        self.show_workload(frame)
        self.query_one(Heatmap).show(frame)
        self.query_one(NodePanel).show(frame)
        self.query_one(ProcessTable).show(frame)
        self.query_one(FindingsPanel).show(self.findings)
        charts = self.query_one(ChartPanel)
        if charts.display:
            charts.show(self.monitor.ring.window(charts.window_s))
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
            # A cursor resting on the top row changes process whenever the busiest one
            # changes: the charts take it at their next redraw, not with a build a second.
            charts.set_subject_process(message.pid, now=message.by_user)

    def on_process_table_opened(self, message: ProcessTable.Opened) -> None:
        frame = self.frame
        p = frame.process(message.pid) if frame is not None else None
        if p is None or frame is None:
            return
        screen = ProcessScreen(self.topology, p.pid, p.start_time, self.monitor.dumper)
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
            ("Tag / untag the selected process (htop's space)", "toggle_tag"),
            ("Plan: divide the machine between the tagged processes", "plan_processes"),
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
        current = self.monitor.interval_s
        if direction < 0:
            choices = [i for i in INTERVALS if i < current - 1e-9]
            target = choices[-1] if choices else INTERVALS[0]
        else:
            choices = [i for i in INTERVALS if i > current + 1e-9]
            target = choices[0] if choices else INTERVALS[-1]
        value = self.monitor.set_interval(target)
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
            charts.show(self.monitor.ring.window(charts.window_s))
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
        if self.hide_compare():
            return
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
    source: FrameSource | Monitor, *, charts: bool | None = None, pinner: Pinner | None = None
) -> NumaviewApp:
    """The one factory the CLI and the tests use; a recording gets the replay keys."""
    monitor = source if isinstance(source, Monitor) else for_source(source, pinner=pinner)
    if monitor.replay is not None:
        from numaview.tui.replay_app import ReplayApp  # imports this module

        monitor.pinner = None  # the processes on screen are not this machine's now
        return ReplayApp(monitor, charts=charts)
    return NumaviewApp(monitor, charts=charts)
