"""The process table: one row per process, sortable, filterable, with a cursor.

Space tags a row (htop's habit): tags are kept by (pid, start time), so they
survive re-sorting, filtering and new frames, and a tagged process that exits
loses its tag; a tagged row shows ``●`` in the one-cell gutter left of PID.
The plan dialog (P) divides the machine between the tagged processes.

A Line-API widget rather than Textual's DataTable: a DataTable refreshing 50
rows a second cost 11.7 % of a core, against a 2 % budget for the whole app.
Here a row's text is formatted once per ProcessSample object (the sampler
reuses unchanged rows, so identity says "unchanged"), a normal row is a single
Segment, and after a new frame only the screen lines that now show a different
row object (or lost or gained the cursor) are repainted.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from numaview.model.frame import Frame, ProcessSample
from numaview.model.topology import Topology
from numaview.render.columns import (
    COMMAND_MIN,
    CPU_COL,
    PROCESS_COLUMNS,
    SORT_KEYS,
    SORTS,
    Labels,
    fit,
)
from numaview.render.threadrows import ThreadRowCache, thread_rows
from numaview.tui.widgets.lines import set_virtual_height
from numaview.tui.widgets.proccolumns import GUTTER, HOT_PCT, IDLE_PCT, ProcKey, table_layout

TAG = "●"


class ProcessMessage(Message):
    """Names the process by pid and start time: a pid alone may be reused."""

    def __init__(self, pid: int | None, start_time: float | None = None, *, table: Any = None):
        super().__init__()
        self.pid = pid
        self.start_time = start_time
        self.table: ProcessTable | None = table

    @property
    def control(self) -> ProcessTable | None:
        return self.table


class ProcessTable(ScrollView, can_focus=True):
    """Processes of the latest frame. Feed it with ``show(frame)``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"proctable--{name}"
        for name in ("header", "cursor", "kernel", "hot", "dim", "marked", "server", "tagged")
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "cursor_page(-1)", "Page up", show=False),
        Binding("pagedown", "cursor_page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
        Binding("enter", "open", "Details", show=False),
        Binding("space", "toggle_tag", "Tag", show=False),
    ]

    class Selected(ProcessMessage):
        """The cursor is on another process (pid None: the table is empty).

        ``by_user``: the user moved the cursor (keys, click); False when the
        cursor sat on the top row and the busiest process changed under it.
        """

        by_user = False

    class Opened(ProcessMessage):
        """Enter (or a double click) on a process: the app opens its detail screen."""

        pid: int

    def __init__(self, topology: Topology, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.topology = topology
        self._procs: tuple[ProcessSample, ...] = ()
        self._rows: list[ProcessSample] = []
        self._cursor = 0
        self._selected_key: ProcKey | None = None
        self._sort = "cpu"
        self._filter = ""
        self._width = -1
        self._widths: list[int] = []
        # (key, has cursor) -> (row object, strip); valid while the object is the same
        self._row_cache: dict[tuple[ProcKey, bool], tuple[ProcessSample, Strip]] = {}
        self._header: Strip | None = None
        self._labels = Labels(topology)  # names each distinct affinity once
        self._styles: dict[tuple[str, ...], Style] = {}
        self._painted: dict[int, tuple[ProcessSample | None, bool]] = {}
        self._frame: Frame | None = None
        # htop's H: one row per thread. Thread rows are ProcessSamples keyed by tid.
        self._show_threads = False
        self._thread_parent: dict[int, int] = {}  # thread row's tid -> its process's pid
        self._thread_cache: ThreadRowCache = {}
        self._node_of = self._labels.node_of
        # Until the user moves the cursor it stays on the top row (the busiest
        # process, whichever that is); after that it follows the chosen process.
        self._follow_process = False
        self._marked: frozenset[int] = frozenset()
        self._servers: dict[int, str] = {}  # pid -> what it serves (frame.workload)
        self._tags: set[ProcKey] = set()  # tagged processes (htop's space)
        self._tag_order: list[ProcKey] = []  # the same, in the order they were tagged
        self.taggable = True  # False in replay: space is play/pause there

    # -- data in -------------------------------------------------------------------

    def show(self, frame: Frame) -> None:
        self._frame = frame
        servers = {w.pid: w.server or "load" for w in frame.workload if w.pid is not None}
        if servers != self._servers:  # a load test's server: its row is marked (◆ vllm)
            self._servers = servers
            self._row_cache.clear()
            self.refresh()
        self._procs = self._thread_rows(frame) if self.show_threads else frame.processes
        if self._tags:  # a tagged process that exited loses its tag
            live = {p.key for p in frame.processes}
            if not self._tags <= live:
                self._set_tags([k for k in self._tag_order if k in live])
        if len(self._row_cache) > 2 * len(self._procs) + 64:
            live = {p.key for p in self._procs}
            self._row_cache = {k: v for k, v in self._row_cache.items() if k[0] in live}
        self._rebuild()

    @property
    def show_threads(self) -> bool:
        return self._show_threads

    @show_threads.setter
    def show_threads(self, on: bool) -> None:
        self._show_threads = on
        self._row_cache.clear()
        if self._frame is not None:
            self.show(self._frame)

    def _thread_rows(self, frame: Frame) -> tuple[ProcessSample, ...]:
        rows, self._thread_parent, self._thread_cache = thread_rows(
            frame, self._node_of, self._thread_cache
        )
        return rows

    def parent_pid(self, pid: int) -> int:
        """The process a row belongs to (a thread row's tid maps to its process)."""
        return self._thread_parent.get(pid, pid) if self._show_threads else pid

    def sort_by(self, key: str) -> None:
        if key not in SORTS:
            raise ValueError(f"unknown sort key {key!r}; one of {', '.join(SORT_KEYS)}")
        self._sort = key
        self._header = None
        self.refresh(Region(0, 0, max(self._width, 1), 1))
        self._rebuild()

    def cycle_sort(self) -> str:
        self.sort_by(SORT_KEYS[(SORT_KEYS.index(self._sort) + 1) % len(SORT_KEYS)])
        return self._sort

    @property
    def sort_key(self) -> str:
        return self._sort

    def set_marked(self, pids: frozenset[int]) -> None:
        """Mark rows (the processes a selected finding is about) without moving the cursor."""
        if pids != self._marked:
            self._marked = pids
            self._row_cache.clear()
            self.refresh()

    # -- tags (htop's space) ---------------------------------------------------------

    @property
    def tagged(self) -> tuple[ProcKey, ...]:
        """The tagged processes as (pid, start time), in the order they were tagged."""
        return tuple(self._tag_order)

    def process_key(self, row: ProcessSample) -> ProcKey:
        """The process a row stands for (a thread row: its process; same start time)."""
        return (self.parent_pid(row.pid), row.start_time)

    def _set_tags(self, keys: list[ProcKey]) -> None:
        self._tag_order = list(dict.fromkeys(keys))
        self._tags = set(self._tag_order)
        self._row_cache.clear()
        self._painted.clear()
        self.refresh()

    def toggle_tag(self, row: ProcessSample) -> bool:
        """Tag or untag the row's process; True if it is tagged now."""
        key = self.process_key(row)
        if key in self._tags:
            self._set_tags([k for k in self._tag_order if k != key])
            return False
        self._set_tags([*self._tag_order, key])
        return True

    def untag_all(self) -> int:
        n = len(self._tags)
        if n:
            self._set_tags([])
        return n

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Not taggable (replay): the key goes on to the app's binding (play / pause).
        return self.taggable or action != "toggle_tag"

    def action_toggle_tag(self) -> None:
        p = self.selected
        if p is not None and self.taggable:
            self.toggle_tag(p)
            self.move_cursor(self._cursor + 1)  # as htop does: space, space, space tags a run

    def _is_tagged(self, p: ProcessSample) -> bool:
        return bool(self._tags) and self.process_key(p) in self._tags

    def set_filter(self, text: str) -> None:
        self._filter = text.strip().casefold()
        self._rebuild()

    def visible_rows(self) -> tuple[ProcessSample, ...]:
        """The processes that pass the filter, in display order (scrolled out of view or not)."""
        return tuple(self._rows)

    @property
    def selected(self) -> ProcessSample | None:
        return self._rows[self._cursor] if self._rows else None

    def _matches(self, p: ProcessSample) -> bool:
        t = self._filter
        return (
            str(p.pid).startswith(t)
            or t in p.name.casefold()
            or (p.cmdline is not None and t in p.cmdline.casefold())
            or (p.user is not None and t in p.user.casefold())
        )

    def _rebuild(self) -> None:
        top = round(self.scroll_y)
        # The view follows the selection only if it was in view: a wheel-scrolled view stays.
        follow = top <= self._cursor < top + self._page()
        rows = [p for p in self._procs if self._matches(p)] if self._filter else list(self._procs)
        rows.sort(key=SORTS[self._sort])
        self._rows = rows
        idx: int | None = None
        if self._selected_key is not None and self._follow_process:
            idx = next((i for i, p in enumerate(rows) if p.key == self._selected_key), None)
        self._cursor = max(min(self._cursor if idx is None else idx, len(rows) - 1), 0)
        # Width 0: the table fits its width and never scrolls sideways.
        set_virtual_height(self, Size(0, len(rows) + 1))
        self._select_changed()
        if not self._scroll_to_cursor(follow):
            self._refresh_changed_lines()

    # -- cursor --------------------------------------------------------------------

    def _select_changed(self, by_user: bool = False) -> None:
        p = self.selected
        key = None if p is None else p.key
        if key != self._selected_key:
            self._selected_key = key
            pid, start = (None, None) if p is None else p.key
            message = self.Selected(pid, start, table=self)
            message.by_user = by_user
            self.post_message(message)

    def _page(self) -> int:
        return max(self._height() - 1, 1)

    def _scroll_to_cursor(self, follow: bool = True) -> bool:
        """Scroll the least that shows the cursor row; True if the view moved."""
        top, page = round(self.scroll_y), self._page()
        target = min(top, max(len(self._rows) - page, 0))
        if follow and self._cursor < target:
            target = self._cursor
        elif follow and self._cursor >= target + page:
            target = self._cursor - page + 1
        if target == top:
            return False
        self.scroll_to(y=target, animate=False, force=True)
        return round(self.scroll_y) != top

    def move_cursor(self, row: int) -> None:
        if not self._rows:
            return
        self._follow_process = True
        self._cursor = max(min(row, len(self._rows) - 1), 0)
        self._select_changed(by_user=True)
        if not self._scroll_to_cursor():
            self._refresh_changed_lines()

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_cursor_page(self, pages: int) -> None:
        self.move_cursor(self._cursor + pages * self._page())

    def action_cursor_to(self, row: int) -> None:
        """Row ``-1`` is the last row, as in a Python index."""
        self.move_cursor(row if row >= 0 else len(self._rows) + row)

    def action_open(self) -> None:
        p = self.selected
        if p is not None:
            self.post_message(self.Opened(self.parent_pid(p.pid), p.start_time, table=self))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        row = -1 if offset is None or offset.y == 0 else round(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._rows):
            self.move_cursor(row)
            if event.chain >= 2:
                self.action_open()

    # -- drawing ---------------------------------------------------------------------

    def _content_width(self) -> int:
        return self.scrollable_content_region.width or self.size.width or 80

    def _height(self) -> int:
        return self.scrollable_content_region.height or self.size.height or 24

    def _refresh_changed_lines(self) -> None:
        """Repaint only the lines whose row object or cursor state differ from the screen."""
        top, rows, width = round(self.scroll_y) - 1, self._rows, self._content_width()
        for y in range(1, self._height()):
            i = top + y
            p, cursor = (rows[i], i == self._cursor) if i < len(rows) else (None, False)
            have = self._painted.get(y)
            if have is None or have[0] is not p or have[1] != cursor:
                self.refresh(Region(0, y, width, 1))

    def on_resize(self, event: events.Resize) -> None:
        self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        self._styles.clear()
        self._drop_strips()
        super().notify_style_update()

    def _drop_strips(self) -> None:
        self._row_cache.clear()
        self._header = None
        self._painted.clear()

    def _style(self, *parts: str) -> Style:
        """The widget's style plus the named component styles (cached: refresh() clears Textual's)."""
        style = self._styles.get(parts)
        if style is None:
            style = self.rich_style
            for part in parts:
                style += self.get_component_rich_style(f"proctable--{part}", partial=True)
            self._styles[parts] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self._content_width()
        if width != self._width:
            gpus = bool(self._labels.topology.gpus)
            self._width, self._widths = width, table_layout(width, gpus)
            self._drop_strips()
        if y == 0:
            if self._header is None:
                self._header = self._header_strip()
            return self._header
        i = round(self.scroll_y) + y - 1
        if i >= len(self._rows):
            self._painted[y] = (None, False)
            return Strip.blank(width, self.rich_style)
        p = self._rows[i]
        cursor = i == self._cursor
        self._painted[y] = (p, cursor)
        hit = self._row_cache.get((p.key, cursor))
        if hit is None or hit[0] is not p:
            hit = self._row_cache[p.key, cursor] = (p, self._row_strip(p, cursor))
        return hit[1]

    def _header_strip(self) -> Strip:
        cells = []
        for col, w in zip(PROCESS_COLUMNS, self._widths, strict=True):
            mark = ("▲" if col.sort == "pid" else "▼") if col.sort == self._sort else ""
            if w:
                cells.append(col.head(w, mark))
        return self._finish([Segment(" " * GUTTER + " ".join(cells), self._style("header"))])

    def _cells(self, p: ProcessSample) -> tuple[str, ...]:
        """Every shown cell exactly its column's width, so all lines line up."""
        labels, cols = self._labels, zip(PROCESS_COLUMNS, self._widths, strict=True)
        cells = tuple(col.text(p, labels, w) for col, w in cols if w)
        server = self._servers.get(p.pid) if self._servers else None
        w = self._widths[-1]
        if server is not None and w >= len(server) + 3 + COMMAND_MIN:
            # a load test's server: "python3 -m vllm.entrypoints…  ◆ vllm" (else its colour)
            tag = f" ◆ {server}"
            cells = (*cells[:-1], fit(PROCESS_COLUMNS[-1].cell(p, labels, w), w - len(tag)) + tag)
        return cells

    def _row_strip(self, p: ProcessSample, cursor: bool) -> Strip:
        cells = self._cells(p)
        cpu = p.cpu_pct
        parts = ["dim"] * (cpu is not None and cpu < IDLE_PCT) + ["kernel"] * p.kernel_thread
        parts += ["server"] * (p.pid in self._servers) + ["marked"] * (p.pid in self._marked)
        tagged = self._is_tagged(p)
        parts += ["tagged"] * tagged
        last = ["cursor"] * cursor  # applied last, so the cursor shows on any row
        base = self._style(*parts, *last)
        gutter = (TAG if tagged else " ").ljust(GUTTER)
        if cpu is None or cpu < HOT_PCT:
            return self._finish([Segment(gutter + " ".join(cells), base)])
        hot = self._style(*parts, "hot", *last)
        return self._finish(
            [
                Segment(gutter + " ".join(cells[:CPU_COL]) + " ", base),
                Segment(cells[CPU_COL], hot),
                Segment(" " + " ".join(cells[CPU_COL + 1 :]), base),
            ]
        )

    def _finish(self, segments: list[Segment]) -> Strip:
        total = GUTTER + sum(w + 1 for w in self._widths if w) - 1
        if not all(seg.text.isascii() or cell_len(seg.text) == len(seg.text) for seg in segments):
            # Wide characters: let Rich count the cells rather than trust the layout's sum.
            return Strip(segments).crop_extend(0, self._width, self.rich_style)
        strip = Strip(segments, total)
        if total != self._width:
            strip = strip.crop_extend(0, self._width, self.rich_style)
        return strip
