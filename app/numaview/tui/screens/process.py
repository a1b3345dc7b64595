"""One process in detail (htop's process view): where it may run, where it runs, where its memory is.

Fed by the app with every frame, like the main screen; it never reads /proc
itself (tui/ only reads frames). A process that exits keeps its last data on
screen, marked as exited, so the numbers that led to opening it stay readable.
The thread list is Line API: a JVM or a database can have thousands of threads.
``s`` swaps it for the stacks view: the dump runs in a worker thread through
the dumper the factory chose (py-spy stops the target for a few ms, and the UI must
not wait on it; the demo and the tests inject a fake).
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from numaview.model.cpuset import format_cpulist
from numaview.model.frame import Frame, ProcessSample, ThreadSample
from numaview.model.topology import Topology
from numaview.render.columns import THREAD_COLUMNS, Labels, layout
from numaview.render.gpus import gpu_lines
from numaview.render.labels import affinity_label, command_label, nodes_label
from numaview.render.units import MISSING, pct, rate, size
from numaview.stacks.join import join
from numaview.stacks.types import StackDump, StacksError
from numaview.tui.widgets.lines import set_virtual_height
from numaview.tui.widgets.proccolumns import HOT_PCT, IDLE_PCT
from numaview.tui.widgets.stacks import Dumper, StacksDumped, StacksPanel, unavailable

BAR_W = 24
STACKS_AUTO_S = 5.0  # S: dump again this often (each dump stops the target briefly)


class ThreadList(ScrollView, can_focus=True):
    """The threads of one process, busiest first; a header line that does not scroll."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"threadlist--{name}" for name in ("header", "hot", "dim")
    }

    def __init__(self, topology: Topology, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.topology = topology
        self._labels = Labels(topology)
        self.threads: list[ThreadSample] = []
        # tid -> (thread, width, strip): redrawn when the thread object or the width changes
        self._cache: dict[int, tuple[ThreadSample, int, Strip]] = {}
        self._header: tuple[int, Strip] | None = None
        self._widths: tuple[int, list[int]] = (-1, [])  # (line width, column widths)
        self._styles: dict[str, Style] = {}

    def show(self, threads: tuple[ThreadSample, ...] | None) -> None:
        rows = sorted(threads or (), key=lambda t: (-(t.cpu_pct or 0.0), t.tid))
        if len(rows) == len(self.threads) and all(
            a is b for a, b in zip(rows, self.threads, strict=True)
        ):
            return
        self.threads = rows
        live = {t.tid for t in rows}
        self._cache = {k: v for k, v in self._cache.items() if k in live}
        set_virtual_height(self, Size(0, len(rows) + 1))
        self.refresh()

    def row_text(self, t: ThreadSample) -> list[str]:
        """The cells of one thread, unpadded (the tests read these)."""
        return [col.cell(t, self._labels, col.width or 1 << 16) for col in THREAD_COLUMNS]

    def notify_style_update(self) -> None:
        self._styles.clear()
        self._cache.clear()
        self._header = None
        super().notify_style_update()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self.rich_style
            if name:
                style += self.get_component_rich_style(f"threadlist--{name}", partial=True)
            self._styles[name] = style
        return style

    def _line(self, cells: list[str], width: int, style: Style) -> Strip:
        text = " ".join(cells)
        if len(text) == width and text.isascii():
            return Strip([Segment(text, style)], width)
        return Strip([Segment(text, style)]).crop_extend(0, width, self.rich_style)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width or 80
        if self._widths[0] != width:
            self._widths = (width, layout(THREAD_COLUMNS, width))
        widths = self._widths[1]
        if y == 0:
            if self._header is None or self._header[0] != width:
                cells = [c.head(w) for c, w in zip(THREAD_COLUMNS, widths, strict=True) if w]
                self._header = (width, self._line(cells, width, self._style("header")))
            return self._header[1]
        i = round(self.scroll_y) + y - 1
        if i >= len(self.threads):
            return Strip.blank(width, self.rich_style)
        t = self.threads[i]
        hit = self._cache.get(t.tid)
        if hit is not None and hit[0] is t and hit[1] == width:
            return hit[2]
        cpu = t.cpu_pct
        kind = "hot" if cpu is not None and cpu >= HOT_PCT else ""
        kind = "dim" if cpu is not None and cpu < IDLE_PCT else kind
        cols = zip(THREAD_COLUMNS, widths, strict=True)
        cells = [c.text(t, self._labels, w) for c, w in cols if w]
        strip = self._line(cells, width, self._style(kind))
        self._cache[t.tid] = (t, width, strip)
        return strip


def _bar(part: int, whole: int) -> str:
    filled = 0 if whole <= 0 else round(BAR_W * part / whole)
    return "█" * filled + "░" * (BAR_W - filled)


class ProcessScreen(Screen[None]):
    """Details of one process (by pid and start time, so a reused pid is not confused)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back"),
        Binding("q", "close", "Back"),
        Binding("s", "show_stacks", "Stacks"),
        Binding("S", "toggle_stacks_auto", "Auto stacks"),
    ]

    def __init__(
        self, topology: Topology, pid: int, start_time: float, dumper: Dumper | None = None
    ) -> None:
        super().__init__()
        self.topology = topology
        self.dumper = dumper  # chosen by the factory: py-spy, the demo's, or none (replay)
        self.pid = pid
        self.start_time = start_time
        self.process: ProcessSample | None = None  # the last data seen
        self.exited = False
        self.frame: Frame | None = None
        self._drawn: tuple[ProcessSample | None, bool] | None = None
        self.stacks_shown = False
        self.stack_dump: StackDump | None = None
        self.stack_error: StacksError | None = None
        self.stacks_auto = False
        self._dumping = False

    def compose(self) -> ComposeResult:
        yield Static(f"process {self.pid}", id="proc-title")
        yield Static("", id="proc-summary")
        yield ThreadList(self.topology, id="proc-threads")
        yield StacksPanel(id="proc-stacks")

    def on_mount(self) -> None:
        self.query_one(StacksPanel).display = False
        self._draw()
        self.query_one(ThreadList).focus()
        self._auto_timer = self.set_interval(STACKS_AUTO_S, self._auto_dump, pause=True)

    def show(self, frame: Frame) -> None:
        """Safe before mount: the app pushes the screen and feeds it the same frame at once."""
        self.frame = frame
        p = frame.process(self.pid)
        if p is not None and p.start_time == self.start_time:
            self.process, self.exited = p, False
        else:
            self.exited = True  # gone, or the pid now belongs to another process
        if self.is_mounted:
            self._draw()

    def action_close(self) -> None:
        if self.stacks_shown:  # esc: back to the thread list first
            self.stacks_shown = False
            self.query_one(StacksPanel).display = False
            self.query_one(ThreadList).display = True
            self.query_one(ThreadList).focus()
            return
        self.dismiss(None)

    # -- stacks ----------------------------------------------------------------------

    def action_show_stacks(self) -> None:
        """Show the stacks view, or dump again if it is shown."""
        if not self.stacks_shown:
            self.stacks_shown = True
            self.query_one(ThreadList).display = False
            panel = self.query_one(StacksPanel)
            panel.display = True
            panel.query_one("#stacks-table").focus()
            self._draw_stacks()
        self._start_dump()

    def action_toggle_stacks_auto(self) -> None:
        self.stacks_auto = not self.stacks_auto
        if self.stacks_auto:
            self._auto_timer.resume()
            self.action_show_stacks()
        else:
            self._auto_timer.pause()
        self._draw_stacks()

    def _auto_dump(self) -> None:
        if self.stacks_shown and self.stacks_auto:
            self._start_dump()

    def _start_dump(self) -> None:
        if self._dumping or self.exited:
            return
        dumper = self.dumper or unavailable
        self._dumping = True
        pid = self.pid

        def work() -> None:  # the worker thread: only dump and post back
            try:
                self.post_message(StacksDumped(pid, dumper(pid), None))
            except StacksError as exc:
                self.post_message(StacksDumped(pid, None, exc))

        self.run_worker(work, thread=True, group="stacks", exit_on_error=False)
        self._draw_stacks()

    def on_stacks_dumped(self, message: StacksDumped) -> None:
        self._dumping = False
        self.stack_dump, self.stack_error = message.dump, message.error
        if self.stack_error is not None and self.stack_error.reason != "not-python":
            self.stack_dump = None
        self._draw_stacks(rows=True)

    def stacks_status(self) -> str:
        auto = f"every {STACKS_AUTO_S:g} s" if self.stacks_auto else "off"
        keys = f"s: dump again   S: auto-refresh ({auto})   esc: threads"
        if self._dumping:
            return f"dumping stacks…   {keys}"
        if self.stack_error is not None:
            return f"{self.stack_error.message}   {keys}"
        d = self.stack_dump
        if d is None:
            return keys
        return f"dump paused the process for {d.elapsed_s * 1000:.0f} ms   {keys}"

    def _draw_stacks(self, rows: bool = False) -> None:
        panel = self.query_one(StacksPanel)
        panel.set_status(self.stacks_status())
        if rows and self.process is not None:
            node_of = {c.id: c.node for c in self.topology.cpus}
            panel.show(join(self.process, self.stack_dump, node_of))

    def _draw(self) -> None:
        p = self.process
        if self._drawn == (p, self.exited):
            return  # the sampler reuses unchanged rows: nothing to redo
        self._drawn = (p, self.exited)
        self.query_one("#proc-title", Static).update(self.title_text())
        self.set_class(self.exited, "exited")
        if p is None:
            return
        self.query_one("#proc-summary", Static).update(self.summary_text(p))
        self.query_one(ThreadList).show(
            None if p.thread_samples is None else tuple(p.thread_samples)
        )

    def title_text(self) -> str:
        p = self.process
        name = f"{p.name} " if p is not None else ""
        text = f"{name}(pid {self.pid})"
        if self.exited:
            text = f"process {self.pid} exited" + (f" — last data for {p.name}" if p else "")
        return text + "    esc/q: back"

    def summary_text(self, p: ProcessSample) -> str:
        topo = self.topology
        lines = [
            f"user {p.user or MISSING}   state {p.state}   CPU {pct(p.cpu_pct)} %"
            f"   RSS {size(p.rss_bytes, short=True)}   threads {p.threads}"
            f"   ppid {MISSING if p.ppid is None else p.ppid}"
            f"   invol ctx {rate(p.ctx_involuntary_per_s, '/s')}"
            f"   vol ctx {rate(p.ctx_voluntary_per_s, '/s')}",
            f"affinity  {affinity_label(p.affinity, topo)}"
            + ("" if p.affinity is None else f"  (CPUs {format_cpulist(p.affinity)})")
            + ("   some threads have their own" if p.thread_affinities_differ else ""),
            f"running   nodes {nodes_label(p.nodes_running)}"
            f"  (CPUs {format_cpulist(p.last_cpus) or MISSING})",
            f"memory    policy {p.mem_policy or MISSING}" + self._mem_age(p),
        ]
        lines += self._mem_lines(p)
        if p.gpus:
            lines.append("gpus")
            lines += gpu_lines(p, topo)
        lines.append(f"command   {command_label(p)}")
        return "\n".join(lines)

    def _mem_age(self, p: ProcessSample) -> str:
        if p.mem_by_node_mono is None or self.frame is None:
            return ""
        age = self.frame.mono - p.mem_by_node_mono
        return f", per node as of {age:.0f} s ago" if age >= 1 else ""

    def _mem_lines(self, p: ProcessSample) -> list[str]:
        mem = p.mem_by_node_bytes
        if mem is None:
            return ["  per node: not read"]
        total = sum(mem.values())
        ids = sorted(set(mem) | {n.id for n in self.topology.nodes if n.mem_total_bytes})
        out = []
        for nid in ids:
            b = mem.get(nid, 0)
            share = f"{100 * b / total:3.0f} %" if total else MISSING
            here = "  ← its threads run here" if nid in p.nodes_running else ""
            out.append(f"  node {nid:<3} {_bar(b, total)} {size(b, short=True):>6} {share}{here}")
        return out
