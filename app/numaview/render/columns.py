"""The column specs of every table numaview prints: one per column, shared by
the TUI's process and thread tables, ``numaview snapshot`` and ``numaview export``.

A column says what it is called, how wide it is, which way it aligns, which
sort it shows, how it grows on a wide line and in which order it goes on a
narrow one, and how a row becomes its text. Every cell is then padded or cut
to exactly its column's width (:func:`fit`), and a number too wide for its
column is written shorter (``units.number``: ``1483``, ``12.8k``) instead of
pushing the next column aside, so columns line up on every line whatever the
values. Plain functions of rows and widths (no widget), tested directly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, Generic, TypeVar

from numaview.model.cpuset import format_cpulist
from numaview.model.frame import NodeSample, ProcessSample, ThreadSample
from numaview.model.topology import Topology
from numaview.render.labels import affinity_label, command_label, mem_by_node_text, nodes_label
from numaview.render.units import MISSING, number, rate, size

R = TypeVar("R")

COMMAND_ROOM = 50  # the last column keeps this much before others may grow
COMMAND_MIN = 16  # below this, whole columns go (Column.drop) rather than every name

# -- cells ---------------------------------------------------------------------------


def _char_cells(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cell_len(text: str) -> int:
    """Terminal cells ``text`` takes: CJK and emoji take two, combining marks none."""
    return len(text) if text.isascii() else sum(_char_cells(ch) for ch in text)


def _cut(text: str, cells: int) -> str:
    """The longest head of ``text`` in at most ``cells`` cells."""
    out, used = [], 0
    for ch in text:
        w = _char_cells(ch)
        if used + w > cells:
            break
        out.append(ch)
        used += w
    return "".join(out)


def fit(text: str, width: int, right: bool = False) -> str:
    """Exactly ``width`` cells: padded, or cut with an ellipsis so the cut shows."""
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else "?" for ch in text)
    n = cell_len(text)
    if n > width:
        if width <= 0:
            return ""
        if text.isascii():
            return text[: width - 1] + "…"
        text = _cut(text, width - 1) + "…"  # a wide char that did not fit: padded below
        n = cell_len(text)
    pad = " " * (width - n)
    return pad + text if right else text + pad


class Labels:
    """What a cell needs besides its row: the topology's names for CPU sets and the
    node of each CPU. Built once per table; an affinity is named once per distinct set
    (up to 1024 CPU ids each, asked for every row)."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.affinity: Callable[[tuple[int, ...] | None], str] = lru_cache(maxsize=4096)(
            partial(affinity_label, topology=topology)
        )
        self.node_of = {c.id: c.node for c in topology.cpus if c.node is not None}


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """One column of a table of ``R`` rows."""

    title: str
    width: int  # cells; 0: the rest of the line (the last column)
    cell: Callable[[R, Labels, int], str]  # the text of a row's cell this many cells wide
    right: bool = False  # numbers right-aligned, so their digits line up
    sort: str | None = None  # the SORTS key whose order it shows (the header marks it)
    grow: int = 0  # cells it may take on from a wide line
    drop: int = 0  # 0: always shown; else gone on a narrow line, 1 first
    field: str | None = None  # the sample's attribute it shows: export's header
    raw: Callable[[R], object] | None = None  # the exported value (default: the attribute)

    def text(self, row: R, labels: Labels, width: int) -> str:
        """The cell, exactly ``width`` cells wide."""
        return fit(self.cell(row, labels, width), width, self.right)

    def head(self, width: int, mark: str = "") -> str:
        return fit(self.title + mark, width, self.right)

    def value(self, row: R) -> object:
        """The value ``numaview export`` writes: plain data, no unit, None if unknown."""
        if self.raw is not None:
            return self.raw(row)
        if self.field is None:
            raise ValueError(f"column {self.title} has no exported value")
        return getattr(row, self.field)


def layout(
    columns: Sequence[Column[Any]],
    width: int,
    *,
    content: Sequence[int] | None = None,
    room: int = COMMAND_ROOM,
    least: int = COMMAND_MIN,
    hidden: Iterable[int] = (),
) -> list[int]:
    """Column widths for a line ``width`` cells wide (0: hidden); the last column takes
    the rest and is cut first. Numbers without names are useless, so when the last
    column would get less than ``least``, whole columns go (``drop`` 1 first). Columns
    grow (``grow``) only while the last keeps ``room``. ``content``, the widest cell of
    each column, shrinks columns to their content (text output, not a live table).
    ``hidden`` columns get nothing (the GPU column on a machine without GPUs)."""
    widths = [c.width for c in columns]
    for i in hidden:
        widths[i] = 0
    if content is not None:
        widths = [min(w, n) for w, n in zip(widths, content, strict=True)]

    def rest() -> int:
        return width - sum(w + 1 for w in widths[:-1] if w)

    for i in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: columns[i].drop):
        if rest() >= least:
            break
        widths[i] = 0
    spare = rest() - room
    for i, col in enumerate(columns[:-1]):
        want = col.grow if content is None else min(col.grow, content[i] - widths[i])
        grow = min(want, max(spare, 0)) if widths[i] else 0
        widths[i] += grow
        spare -= grow
    widths[-1] = max(rest(), 0)
    return widths


def text_table(
    columns: Sequence[Column[R]],
    rows: Sequence[R],
    labels: Labels,
    width: int,
    *,
    room: int,
) -> tuple[list[str], list[int]]:
    """A plain-text table: columns as wide as their widest cell (within ``layout``),
    header first. Each line holds every column but the last, padded to where the last
    starts, so the caller can cut or wrap that one; returns (lines, widths)."""
    fixed = columns[:-1]
    widest = [c.width + c.grow for c in fixed]
    content = [
        max([cell_len(c.title), *(cell_len(c.cell(r, labels, w)) for r in rows)])
        for c, w in zip(fixed, widest, strict=True)
    ]
    hidden = [i for i, c in enumerate(columns) if c is GPU and not labels.topology.gpus]
    widths = layout(columns, width, content=[*content, 0], room=room, hidden=hidden)
    shown = [(c, w) for c, w in zip(fixed, widths, strict=False) if w]
    start = sum(w + 1 for _, w in shown)
    lines = [" ".join(c.head(w) for c, w in shown).ljust(start)]
    lines += [" ".join(c.text(r, labels, w) for c, w in shown).ljust(start) for r in rows]
    return lines, widths


# -- processes -----------------------------------------------------------------------


def _neg(v: float | None) -> float:
    # Descending sorts put unknown values last, not between 0 and the rest.
    return 1.0 if v is None else -v


SORTS: dict[str, Callable[[ProcessSample], tuple[float, ...]]] = {
    "cpu": lambda p: (_neg(p.cpu_pct), p.pid),
    "mem": lambda p: (_neg(p.rss_bytes), p.pid),
    "threads": lambda p: (-p.threads, p.pid),
    "invol": lambda p: (_neg(p.ctx_involuntary_per_s), p.pid),
    "pid": lambda p: (p.pid, p.start_time),
}
SORT_KEYS = tuple(SORTS)


def _cpus_text(cpus: Iterable[int] | None) -> str | None:
    return None if cpus is None else format_cpulist(cpus)


P = ProcessSample
PID: Column[P] = Column("PID", 7, lambda p, _, w: number(p.pid, w, 0), True, "pid", field="pid")
NAME: Column[P] = Column("NAME", 16, lambda p, _, w: p.name, field="name")
USER: Column[P] = Column("USER", 8, lambda p, _, w: p.user or MISSING, field="user")
CPU: Column[P] = Column(
    "CPU%", 6, lambda p, _, w: number(p.cpu_pct, w), True, "cpu", field="cpu_pct"
)
THREADS: Column[P] = Column(
    "THR", 5, lambda p, _, w: number(p.threads, w, 0), True, "threads", drop=4, field="threads"
)
RSS: Column[P] = Column(
    "RSS", 6, lambda p, _, w: size(p.rss_bytes, short=True), True, "mem", field="rss_bytes"
)
AFFINITY: Column[P] = Column(
    "AFFINITY",
    10,
    lambda p, labels, w: labels.affinity(p.affinity),
    grow=8,
    field="affinity",
    raw=lambda p: _cpus_text(p.affinity),
)
NODES: Column[P] = Column(
    "NODES",
    7,
    lambda p, _, w: nodes_label(p.nodes_running),
    drop=3,
    field="nodes_running",
    raw=lambda p: format_cpulist(p.nodes_running),
)
INVOL: Column[P] = Column(
    "INVOL/s",
    8,
    lambda p, _, w: rate(p.ctx_involuntary_per_s),
    True,
    "invol",
    drop=2,
    field="ctx_involuntary_per_s",
)
MEM_BY_NODE: Column[P] = Column(
    "MEM/NODE",
    14,
    lambda p, _, w: mem_by_node_text(p),
    grow=10,
    drop=1,
    field="mem_by_node_bytes",
)


def _gpu_text(p: ProcessSample) -> str:
    """``0,1`` (the GPUs it drives) and the GPU memory it holds when known: ``0 2.0G``."""
    if not p.gpus:
        return ""
    ids = ",".join(map(str, p.gpus))
    return f"{ids} {size(sum(p.gpu_mem_bytes.values()), short=True)}" if p.gpu_mem_bytes else ids


GPU: Column[P] = Column(
    "GPU",
    9,
    lambda p, _, w: _gpu_text(p),
    drop=1,  # first to go on a narrow line (before MEM/NODE: placement is numaview's core)
    field="gpus",
    raw=lambda p: ",".join(map(str, p.gpus)) or None,
)
COMMAND: Column[P] = Column("COMMAND", 0, lambda p, _, w: command_label(p), field="cmdline")

# The process table, in the TUI (process and thread rows) and in `numaview snapshot`.
PROCESS_COLUMNS: tuple[Column[P], ...] = (
    PID,
    USER,
    CPU,
    THREADS,
    RSS,
    AFFINITY,
    NODES,
    GPU,
    INVOL,
    MEM_BY_NODE,
    COMMAND,
)
CPU_COL = PROCESS_COLUMNS.index(CPU)  # drawn hot on busy rows; nothing before it drops
GPU_COL = PROCESS_COLUMNS.index(GPU)  # shown only on a machine with GPUs
# `numaview export --what processes`: the recorded values, named by the sample's fields.
EXPORT_COLUMNS: tuple[Column[P], ...] = (PID, NAME, CPU, RSS, THREADS, AFFINITY, NODES)


# -- threads (the process screen) ----------------------------------------------------

T = ThreadSample


def _thread_node(t: T, labels: Labels) -> str:
    node = None if t.last_cpu is None else labels.node_of.get(t.last_cpu)
    return MISSING if node is None else str(node)


THREAD_COLUMNS: tuple[Column[T], ...] = (
    Column("TID", 8, lambda t, _, w: number(t.tid, w, 0), True),
    Column("NAME", 16, lambda t, _, w: t.name),
    Column("STATE", 5, lambda t, _, w: t.state),
    Column("CPU%", 6, lambda t, _, w: number(t.cpu_pct, w), True),
    Column("LAST CPU", 8, lambda t, _, w: number(t.last_cpu, w, 0), True),
    Column("NODE", 4, lambda t, labels, w: _thread_node(t, labels), True),
    Column(
        "AFFINITY",
        0,
        lambda t, labels, w: "=process" if t.affinity is None else labels.affinity(t.affinity),
    ),
)


# -- nodes (numaview snapshot) -------------------------------------------------------

N = NodeSample


def _used(n: N) -> int | None:
    if n.mem_total_bytes is None or n.mem_free_bytes is None:
        return None
    return n.mem_total_bytes - n.mem_free_bytes


NODE_COLUMNS: tuple[Column[N], ...] = (
    Column("NODE", 4, lambda n, _, w: str(n.id), True),
    Column("BUSY%", 6, lambda n, _, w: number(n.busy_pct, w), True),
    Column("USED", 9, lambda n, _, w: size(_used(n)), True),
    Column("FREE", 9, lambda n, _, w: size(n.mem_free_bytes), True),
    Column("TOTAL", 9, lambda n, _, w: size(n.mem_total_bytes), True),
    Column("FILE", 9, lambda n, _, w: size(n.file_bytes), True),
    Column("ANON", 9, lambda n, _, w: size(n.anon_bytes), True),
    Column("HIT/s", 7, lambda n, _, w: rate(n.numa_hit_per_s), True),
    Column("MISS/s", 7, lambda n, _, w: rate(n.numa_miss_per_s), True),
    Column("LOCAL/s", 7, lambda n, _, w: rate(n.local_node_per_s), True),
    Column("OTHER/s", 7, lambda n, _, w: rate(n.other_node_per_s), True),
    Column("CPUS", 0, lambda n, _, w: ""),  # the snapshot wraps the cpu list itself
)
