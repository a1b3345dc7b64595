"""render/columns.py: one column spec for the TUI tables, snapshot text and export.

The alignment tests feed rows whose values are wider than usual (a 1482.616 %
CPU, a 7-digit pid, 100 000 threads, a CJK command) and check, on the rendered
lines, that every column still starts where its header does.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from numaview.cli.export import PROCESS_COLUMNS as EXPORT_HEADER
from numaview.demo.scenario import simulated_topology
from numaview.model.frame import Frame, ProcessSample, SystemSample
from numaview.render.columns import (
    COMMAND,
    CPU,
    EXPORT_COLUMNS,
    PROCESS_COLUMNS,
    THREAD_COLUMNS,
    Labels,
    cell_len,
    fit,
    layout,
    text_table,
)
from numaview.render.snapshot_text import WIDTH, render_snapshot

TOPO = simulated_topology()


def proc(pid: int, **kw: object) -> ProcessSample:
    base = ProcessSample(
        pid=pid,
        start_time=1.0,
        ppid=1,
        user="root",
        name="x",
        cmdline=f"/usr/bin/x --id {pid}",
        state="S",
        cpu_pct=1.0,
        threads=1,
        affinity=tuple(TOPO.online_cpus),
        last_cpus=(0,),
        nodes_running=(0,),
        rss_bytes=1024**2,
        ctx_involuntary_per_s=0.5,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


WIDE = (
    proc(4121, cpu_pct=1482.616, threads=16, user="inference", rss_bytes=40 * 1024**3),
    proc(4_194_303, cpu_pct=102400.0, threads=100_000, ctx_involuntary_per_s=123_456_789.0),
    proc(7, cpu_pct=None, ctx_involuntary_per_s=None, rss_bytes=None, user=None),
    proc(
        88, cpu_pct=3.0, cmdline="日本語のコマンド --flag", mem_by_node_bytes={0: 2**30, 1: 2**20}
    ),
    proc(9, cpu_pct=12800.0, affinity=tuple(range(0, 128, 3))),
)


def starts(widths: list[int]) -> list[int]:
    """The cell each column starts at (hidden columns: where the next one starts)."""
    out, pos = [], 0
    for w in widths:
        out.append(pos)
        pos += w + 1 if w else 0
    return out


def test_fit_cuts_visibly_and_counts_cells() -> None:
    assert fit("inference", 8) == "inferen…"
    assert fit("42", 5, right=True) == "   42"
    assert fit("日本語のコマンド", 7) == "日本語…"
    assert fit("日本語", 4) == "日… "  # a wide char that does not fit leaves a space
    assert fit("a\tb", 4) == "a?b "
    assert fit("abc", 0) == ""
    assert cell_len("日本") == 4 and cell_len("é") == 1 and cell_len("e\u0301") == 1


def test_layout_cuts_command_first_then_drops_whole_columns() -> None:
    titles = [c.title for c in PROCESS_COLUMNS]
    wide = dict(zip(titles, layout(PROCESS_COLUMNS, 200), strict=True))
    assert all(wide.values()) and wide["AFFINITY"] > 10 and wide["COMMAND"] >= 50
    tight = dict(zip(titles, layout(PROCESS_COLUMNS, 80), strict=True))
    assert tight["MEM/NODE"] == 0 and tight["INVOL/s"] == 0 and tight["COMMAND"] >= 16
    assert sum(w + 1 for w in tight.values() if w) - 1 == 80
    narrow = dict(zip(titles, layout(PROCESS_COLUMNS, 50), strict=True))
    assert narrow["NODES"] == narrow["THR"] == 0 and narrow["CPU%"] == 6  # drop order 1..4
    assert layout(PROCESS_COLUMNS, 30)[-1] == 0  # nothing left: the line is cropped


def test_layout_to_content_grows_only_to_the_widest_cell() -> None:
    content = [3, 4, 5, 3, 4, 30, 5, 3, 7, 12, 0]  # ... NODES, GPU, INVOL/s ...
    widths = layout(PROCESS_COLUMNS, 104, content=content, room=30)
    assert widths[:5] == [3, 4, 5, 3, 4] and widths[5] == 18  # AFFINITY: 10 + grow 8
    assert widths[-1] == 104 - sum(w + 1 for w in widths[:-1])


@pytest.mark.parametrize("width", [80, 100, 120, 200])
def test_table_columns_line_up_with_wide_values(width: int) -> None:
    labels = Labels(TOPO)
    widths = layout(PROCESS_COLUMNS, width)
    shown = [(c, w) for c, w in zip(PROCESS_COLUMNS, widths, strict=True) if w]
    header = " ".join(c.head(w) for c, w in shown)
    lines = [" ".join(c.text(p, labels, w) for c, w in shown) for p in WIDE]
    assert all(cell_len(line) == width for line in [header, *lines])
    at = starts(widths)
    # COMMAND starts at the same cell on every line, after a space
    cmd = at[-1]
    assert header[cmd - 1 :].startswith(" COMMAND")
    for p, line in zip(WIDE, lines, strict=True):
        i = line.index(COMMAND.cell(p, labels, 0)[:3])  # "–" and CJK: count cells, not chars
        assert cell_len(line[:i]) == cmd and line[i - 1] == " "
    # PID right-aligned in its 7 cells; CPU% never spills into THR
    assert header[:7] == "    PID"
    assert [line[:8] for line in lines[:3]] == ["   4121 ", "4194303 ", "      7 "]
    cpu_at, cpu_end = at[2], at[2] + 6
    assert header[cpu_at:cpu_end] == "CPU%  " or header[cpu_at:cpu_end] == "  CPU%"
    assert [line[cpu_at:cpu_end] for line in lines] == [
        "1482.6",
        "102400",
        "     –",
        "   3.0",
        " 12800",
    ]
    assert all(line[cpu_end] == " " for line in lines)
    if widths[3]:  # THR, right-aligned after CPU%
        assert [line[at[3] : at[3] + 5] for line in lines[:2]] == ["   16", " 100k"]


def test_thread_columns_and_export_columns() -> None:
    assert [c.title for c in THREAD_COLUMNS][:4] == ["TID", "NAME", "STATE", "CPU%"]
    assert THREAD_COLUMNS[-1].width == 0  # AFFINITY takes the rest
    # export keeps its CSV header, named by the fields the columns show
    assert EXPORT_HEADER == (
        "pid",
        "name",
        "cpu_pct",
        "rss_bytes",
        "threads",
        "affinity",
        "nodes_running",
    )
    p = WIDE[4]
    values = {str(c.field): c.value(p) for c in EXPORT_COLUMNS}
    assert values["affinity"] == ",".join(str(i) for i in range(0, 128, 3))
    assert values["nodes_running"] == "0" and values["cpu_pct"] == 12800.0
    assert CPU.value(WIDE[2]) is None  # unknown stays None in export, not "–"


def test_text_table_sizes_columns_to_content() -> None:
    labels = Labels(TOPO)
    lines, widths = text_table(PROCESS_COLUMNS, WIDE[:1], labels, 100, room=30)
    # the simulated machine has GPUs: their column is there
    assert lines[0].startswith(" PID USER       CPU% THR RSS AFFINITY NODES GPU INVOL/s MEM/NODE")
    assert len({len(line) for line in lines}) == 1  # padded to where COMMAND starts
    assert widths[0] == 4 and widths[1] == 8  # "4121"; "inference" cut at USER's 8


def frame_of(procs: tuple[ProcessSample, ...]) -> Frame:
    from array import array

    from numaview.model.frame import CPU_METRICS, CpuTable

    cpus = CpuTable((), (), {m: array("f") for m in CPU_METRICS})
    return Frame(1.7e9, 1.0, 1.0, cpus, (), SystemSample(processes_total=len(procs)), procs)


def test_snapshot_process_lines_line_up() -> None:
    text = render_snapshot(frame_of(WIDE), TOPO, 0)
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.lstrip().startswith("PID "))
    header, rows = lines[head], lines[head + 1 : head + 1 + len(WIDE)]
    assert max(cell_len(line) for line in lines) <= WIDTH
    at = header.index("COMMAND")
    for p, row in zip(sorted(WIDE, key=lambda p: -(p.cpu_pct or -1)), rows, strict=True):
        i = row.index(COMMAND.cell(p, Labels(TOPO), 0)[:3])
        assert cell_len(row[:i]) == at and row[i - 1] == " "
    # sorted by CPU, unknown last; right-aligned pids and CPU%
    pid_w = header.index("PID") + 3
    assert [row[:pid_w].strip() for row in rows] == ["4194303", "9", "4121", "88", "7"]
    assert all(row[:pid_w] == row[:pid_w].strip().rjust(pid_w) for row in rows)
    cpu_end = header.index("CPU%") + 4  # right-aligned: the title ends where the numbers do
    assert [row[cpu_end - 6 : cpu_end] for row in rows] == [
        "102400",
        " 12800",
        "1482.6",
        "   3.0",
        "     –",
    ]
    assert all(row[cpu_end] == " " for row in rows)


def test_gpu_column_shows_the_gpus_and_their_memory_only_where_there_are_gpus() -> None:
    import dataclasses

    from numaview.demo.scenario import simulated_topology
    from numaview.render.columns import GPU, GPU_COL, PROCESS_COLUMNS, Labels, layout, text_table

    topo = simulated_topology()
    assert PROCESS_COLUMNS[GPU_COL] is GPU
    assert layout(PROCESS_COLUMNS, 200, hidden=[GPU_COL])[GPU_COL] == 0
    assert layout(PROCESS_COLUMNS, 200)[GPU_COL] == GPU.width
    from numaview.demo.machine import SimulatedSampler

    clock = iter(range(10))
    frame = SimulatedSampler(clock=lambda: float(next(clock)), wall=lambda: 0.0).sample()
    trt = frame.process(5600)
    assert trt is not None and GPU.text(trt, Labels(topo), 9) == "4,5 124G "
    one = dataclasses.replace(trt, gpus=(1,), gpu_mem_bytes=None)
    assert GPU.text(one, Labels(topo), 9).strip() == "1"
    lines, widths = text_table(PROCESS_COLUMNS, [trt], Labels(topo), 200, room=50)
    assert "GPU" in lines[0] and widths[GPU_COL] > 0
    bare = dataclasses.replace(topo, gpus=())
    lines, widths = text_table(PROCESS_COLUMNS, [trt], Labels(bare), 200, room=50)
    assert "GPU" not in lines[0] and widths[GPU_COL] == 0
