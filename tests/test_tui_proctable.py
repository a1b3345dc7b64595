"""The process table and the process screen, driven with Pilot on the simulated machine.

pytest-asyncio is not a dependency, so each test runs its own event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from textual.app import App, ComposeResult
from textual.message import Message
from textual.pilot import Pilot

from numaview.demo.machine import SimulatedSampler
from numaview.demo.scenario import simulated_topology
from numaview.model.frame import Frame, ProcessSample
from numaview.render.columns import PROCESS_COLUMNS, fit
from numaview.render.labels import affinity_label, command_label, nodes_label
from numaview.render.units import rate
from numaview.tui.screens.process import ProcessScreen, ThreadList
from numaview.tui.widgets.proccolumns import GUTTER, layout, table_layout
from numaview.tui.widgets.proctable import ProcessTable
from tests.fakefs import FakeClock

CSS = """
ProcessTable { height: 1fr; }
ProcessTable > .proctable--header { background: #2b2f3a; color: #e6e6e6; text-style: bold; }
ProcessTable > .proctable--cursor { background: #3a3f4b; }
ProcessTable:focus > .proctable--cursor { background: #005f87; text-style: bold; }
ProcessTable > .proctable--kernel { color: #7f8fa6; }
ProcessTable > .proctable--hot { color: #ff5f5f; text-style: bold; }
ProcessTable > .proctable--dim { color: #6c6c6c; }
"""

TOPO = simulated_topology()


def frames(n: int = 6) -> list[Frame]:
    """Frame 0 has no rates yet (all None); from frame 5 on the load is fully ramped."""
    clock = FakeClock(0.0)
    sim = SimulatedSampler(clock=clock, topology=TOPO)
    out = []
    for _ in range(n):
        out.append(sim.sample())
        clock.advance(1.0)
    return out


class Harness(App[None]):
    CSS = CSS

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def compose(self) -> ComposeResult:
        yield ProcessTable(TOPO, id="procs")

    def on_mount(self) -> None:
        self.query_one(ProcessTable).focus()

    def on_process_table_selected(self, message: ProcessTable.Selected) -> None:
        self.messages.append(message)

    def on_process_table_opened(self, message: ProcessTable.Opened) -> None:
        self.messages.append(message)

    def selected(self) -> list[int | None]:
        return [m.pid for m in self.messages if isinstance(m, ProcessTable.Selected)]


Check = Callable[[Harness, ProcessTable, Pilot[None]], Awaitable[None]]


def run(check: Check, frame: Frame | None = None, size: tuple[int, int] = (100, 30)) -> None:
    async def main() -> None:
        app = Harness()
        async with app.run_test(size=size) as pilot:
            table = app.query_one(ProcessTable)
            table.show(frame or frames()[-1])
            await pilot.pause()
            await check(app, table, pilot)

    asyncio.run(main())


def cells(table: ProcessTable, y: int) -> list[str]:
    """Line y of the table cut into its columns (as drawn, stripped), after the tag gutter."""
    text = table.render_line(y).text
    out, pos = [], GUTTER
    for w in table_layout(table.scrollable_content_region.width, gpus=True):  # the demo has GPUs
        out.append(text[pos : pos + w].strip())
        pos += w + 1 if w else 0
    return out


def pids(table: ProcessTable) -> list[int]:
    return [p.pid for p in table.visible_rows()]


def test_rows_sorted_by_cpu_busiest_first() -> None:
    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        assert (
            table.visible_rows()[0].pid == 4121 and table.visible_rows()[0].name == "llama-server"
        )
        cpu = [p.cpu_pct or 0.0 for p in table.visible_rows()]
        assert cpu == sorted(cpu, reverse=True)
        head = cells(table, 0)
        assert head[:3] == ["PID", "USER", "CPU%▼"]
        row = cells(table, 1)
        assert row[0] == "4121" and row[5] == "node1" and row[6] == "1"
        assert row[7] == ""  # GPU: it drives none
        assert row[9].startswith("0:") and " 1:" in row[9]  # MEM/NODE: most of it on node 0
        assert row[10].startswith("llama-server -m")
        assert app.selected() == [4121]  # the first row is selected on the first frame

    run(check)


def test_cycle_sort_to_mem_changes_the_order() -> None:
    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        by_cpu = pids(table)
        assert table.cycle_sort() == "mem"
        by_mem = pids(table)
        assert by_mem != by_cpu and sorted(by_mem) == sorted(by_cpu)
        rss = [p.rss_bytes or 0 for p in table.visible_rows()]
        assert rss == sorted(rss, reverse=True)
        assert by_mem[:3] == [4121, 5200, 5300]  # 40G, then two 14G broken by pid
        assert "RSS▼" in cells(table, 0)
        assert [table.cycle_sort() for _ in range(4)] == ["threads", "invol", "pid", "cpu"]
        table.sort_by("pid")
        assert pids(table) == sorted(by_cpu) and "PID▲" in cells(table, 0)

    run(check)


def test_filter_keeps_matching_rows_and_clears() -> None:
    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        everyone = pids(table)
        table.set_filter("vllm")
        assert sorted(pids(table)) == [5200, 5300]
        table.set_filter("POSTGRES")  # user and name, case-insensitive
        assert pids(table) == [6400]
        table.set_filter("41")  # pid prefix
        assert pids(table) == [4121]
        table.set_filter("")
        assert pids(table) == everyone

    run(check)


def test_selection_follows_the_process_when_it_moves() -> None:
    base = frames()[-1]

    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        table.move_cursor(pids(table).index(6400))
        await pilot.pause()
        assert table.selected is not None and table.selected.pid == 6400
        posted = len(app.messages)
        moved = tuple(replace(p, cpu_pct=5000.0) if p.pid == 6400 else p for p in base.processes)
        table.show(replace(base, processes=moved, seq=base.seq + 1))
        await pilot.pause()
        assert pids(table)[0] == 6400
        assert table.selected is not None and table.selected.pid == 6400
        assert cells(table, 1)[0] == "6400"
        assert len(app.messages) == posted  # same process: no Selected message
        # the selected process exits: the cursor stays on the same row index
        index = pids(table).index(5300)
        table.move_cursor(index)
        gone = tuple(p for p in moved if p.pid != 5300)
        table.show(replace(base, processes=gone))
        await pilot.pause()
        assert table.selected is table.visible_rows()[index]
        assert app.selected()[-1] == table.visible_rows()[index].pid

    run(check, base)


def test_a_scrolled_view_stays_put_across_frames() -> None:
    shots = frames(7)

    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        table.scroll_to(y=5, animate=False)  # as the mouse wheel does: the cursor stays on row 0
        await pilot.pause()
        table.show(shots[-1])
        await pilot.pause()
        assert table.scroll_y == 5 and table.selected is table.visible_rows()[0]
        table.show(replace(shots[-1], processes=()))
        await pilot.pause()
        assert table.visible_rows() == () and table.scroll_y == 0
        assert app.query_one(ProcessTable).selected is None  # (a fresh name: mypy narrowed it)
        assert app.selected()[-1] is None

    run(check, shots[-2], size=(100, 20))


def test_keys_move_the_cursor_and_enter_opens() -> None:
    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        await pilot.press("down", "down", "up")
        await pilot.press("enter")
        await pilot.pause()
        opened = [m for m in app.messages if isinstance(m, ProcessTable.Opened)]
        assert [m.pid for m in opened] == [5200]
        assert opened[0].start_time == table.visible_rows()[1].start_time
        assert app.selected() == [4121, 5200, 5300, 5200]
        await pilot.press("end")
        assert table.selected is table.visible_rows()[-1]
        assert table.scroll_y > 0  # the last row is in view
        await pilot.press("home")
        assert table.selected is table.visible_rows()[0] and table.scroll_y == 0
        await pilot.press("pagedown")
        assert table.visible_rows().index(table.selected) == table.size.height - 1

    run(check)


def test_click_selects_a_row() -> None:
    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        await pilot.click(ProcessTable, offset=(2, 3))  # line 3: the third row
        await pilot.pause()
        assert table.selected is table.visible_rows()[2]
        await pilot.click(ProcessTable, offset=(1, 0))  # the header: no row
        await pilot.pause()
        assert table.selected is table.visible_rows()[2]

    run(check)


def test_unknown_values_show_a_dash_not_zero() -> None:
    first = frames(1)[0]  # no rates on the first tick

    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        for y in range(1, 6):
            row = cells(table, y)
            assert row[2] == "–" and row[8] == "–"  # CPU% and INVOL/s
        table.set_filter("kworker/0:1")
        row = cells(table, 1)
        assert row[9] == "–"  # a kernel thread has no MEM/NODE

    run(check, first)


def test_kernel_threads_in_brackets_and_styled() -> None:
    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        table.set_filter("kworker/0:1")
        assert cells(table, 1)[10] == "[kworker/0:1]"
        table.set_filter("kworker/")
        await pilot.press("down")  # the cursor away from the kernel row
        kernel = table.get_component_rich_style("proctable--kernel", partial=True)
        assert any(seg.style and seg.style.color == kernel.color for seg in table.render_line(1))

    run(check)


def test_hot_cpu_cell_has_its_own_segment() -> None:
    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        hot = table.get_component_rich_style("proctable--hot", partial=True)
        segs = list(table.render_line(1))  # llama-server, 1500 %
        assert len(segs) == 3 and segs[1].text.strip() == cells(table, 1)[2]
        assert segs[1].style is not None and segs[1].style.color == hot.color
        idle = list(table.render_line(len(table.visible_rows())))  # the least busy row: one segment
        assert len(idle) == 1

    run(check)


def test_unchanged_rows_are_not_rebuilt() -> None:
    base = frames()[-1]

    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        built: list[int] = []
        original = table._row_strip

        def counting(p: ProcessSample, cursor: bool) -> Any:
            built.append(p.pid)
            return original(p, cursor)

        table._row_strip = counting  # type: ignore[method-assign]
        for y in range(table.size.height):
            table.render_line(y)
        assert built == []  # all cached from the first paint
        changed = tuple(
            replace(p, ctx_involuntary_per_s=1.0) if p.pid == 6400 else p for p in base.processes
        )
        table.show(replace(base, processes=changed))
        for y in range(table.size.height):
            table.render_line(y)
        assert built == [6400]

    run(check, base)


def test_columns_line_up_whatever_the_values() -> None:
    """A 1482.616 % CPU, a 12800 % one, 100 000 threads, a 7-digit pid, unknowns: every
    line's cells start where the header's do, numbers right-aligned, nothing pushed."""
    base = frames()[-1]
    wide: dict[int, dict[str, Any]] = {
        4121: {"cpu_pct": 1482.616},
        5200: {"cpu_pct": 12800.0, "threads": 100_000},
        6400: {"cpu_pct": None, "rss_bytes": None, "ctx_involuntary_per_s": None},
    }
    procs = tuple(replace(p, **wide[p.pid]) if p.pid in wide else p for p in base.processes)
    big = replace(procs[-1], pid=4_194_303, cpu_pct=102400.0, cmdline="/opt/big --x")
    frame = replace(base, processes=(*procs, big))
    for size in ((80, 24), (120, 40), (200, 60)):

        async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
            widths = table_layout(
                table.scrollable_content_region.width, gpus=True
            )  # the demo has GPUs
            starts = [GUTTER + sum(w + 1 for w in widths[:i] if w) for i in range(len(widths))]
            head = table.render_line(0).text
            assert head[starts[-1] :].startswith("COMMAND") and head[:8] == "     PID"
            lines = [table.render_line(y).text for y in range(1, table.size.height)]
            lines = [line for line in lines if line.strip()]
            assert len(lines) == min(len(frame.processes), table.size.height - 1)
            for line in lines:
                assert line[0] == " "  # the tag gutter: nothing tagged
                pid = line[1:8]
                assert pid == pid.strip().rjust(7) and pid.strip().isdigit(), line
                for at in starts[1:]:  # a space before every column: nothing ran over
                    assert line[at - 1] == " ", (at, line)
                assert line[starts[-1]] not in " …", line
            by_pid = {int(line[1:8]): line for line in lines}
            cpu, thr = starts[2], starts[3]
            assert by_pid[4_194_303][cpu : cpu + 6] == "102400"
            assert by_pid[5200][cpu : cpu + 6] == " 12800"
            assert by_pid[4121][cpu : cpu + 6] == "1482.6"
            if widths[3]:
                assert by_pid[4121][thr : thr + 5] == "   16"
                assert by_pid[5200][thr : thr + 5] == " 100k"

        run(check, frame, size=size)


def test_thread_rows_line_up_too() -> None:
    async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
        table.show_threads = True
        await pilot.pause()
        widths = table_layout(table.scrollable_content_region.width, gpus=True)  # the demo has GPUs
        at = GUTTER + sum(w + 1 for w in widths[:-1] if w)
        assert table.render_line(0).text[at:].startswith("COMMAND")
        for y in range(1, table.size.height):
            line = table.render_line(y).text
            assert line[at - 1] == " " and line[at] != " ", line
            assert line[1:8].strip().isdigit() and line[8] == " "

    run(check)


def test_layout_cuts_command_first_then_drops_whole_columns() -> None:
    titles = [c.title for c in PROCESS_COLUMNS]
    wide = dict(zip(titles, layout(200, gpus=True), strict=True))
    assert all(wide.values()) and wide["AFFINITY"] > 10 and wide["COMMAND"] >= 50
    roomy = dict(zip(titles, layout(100), strict=True))
    assert roomy["GPU"] == 0  # a machine without GPUs: no GPU column
    assert all(w for t, w in roomy.items() if t != "GPU") and roomy["COMMAND"] < wide["COMMAND"]
    tight = dict(zip(titles, layout(80, gpus=True), strict=True))
    assert tight["MEM/NODE"] == 0 and tight["INVOL/s"] == 0 and tight["GPU"] == 0
    assert tight["COMMAND"] >= 16
    assert sum(w + 1 for w in tight.values() if w) - 1 == 80
    assert layout(30)[-1] == 0  # nothing left: the line is cropped


def test_renders_at_narrow_and_wide_sizes() -> None:
    for size in ((40, 12), (200, 50)):

        async def check(app: Harness, table: ProcessTable, pilot: Pilot[None]) -> None:
            width = table.scrollable_content_region.width
            for y in range(table.size.height):
                assert table.render_line(y).cell_length == width
            assert table.render_line(0).text.lstrip().startswith("PID")
            await pilot.press("end", "pageup", "enter")

        run(check, size=size)


def test_process_screen_lists_threads_and_notices_exit() -> None:
    shots = frames()
    last = shots[-1]
    llama = last.process(4121)
    assert llama is not None
    node1 = set(TOPO.nodes[1].cpus)

    async def main() -> None:
        app = Harness()
        async with app.run_test(size=(100, 40)) as pilot:
            screen = ProcessScreen(TOPO, 4121, llama.start_time)
            await app.push_screen(screen)
            screen.show(last)
            await pilot.pause()
            threads = screen.query_one(ThreadList)
            assert len(threads.threads) == 16
            for t in threads.threads:
                row = threads.row_text(t)
                assert int(row[4]) in node1 and row[5] == "1" and row[6] == "=process"
            drawn = [threads.render_line(y).text for y in range(threads.size.height)]
            assert drawn[0].split()[:3] == ["TID", "NAME", "STATE"]
            assert sum("llama-server" in d or "worker-" in d for d in drawn) == min(
                16, threads.size.height - 1
            )
            summary = str(screen.summary_text(llama))
            assert "node1" in summary and "16-31,80-95" in summary and "policy default" in summary
            mem = [line for line in summary.splitlines() if line.startswith("  node ")]
            assert "92 %" in mem[0] and "threads run here" in mem[1]  # memory on 0, threads on 1
            assert "exited" not in screen.title_text()
            others = tuple(p for p in last.processes if p.pid != 4121)
            screen.show(replace(last, processes=others))
            await pilot.pause()
            assert screen.exited and "process 4121 exited" in screen.title_text()
            assert len(threads.threads) == 16  # the last data stays
            await pilot.press("q")
            await pilot.pause()
            assert app.screen is not screen

    asyncio.run(main())


def test_process_screen_shown_before_mount_and_closed_with_escape() -> None:
    last = frames()[-1]

    async def main() -> None:
        app = Harness()
        async with app.run_test(size=(80, 24)) as pilot:
            screen = ProcessScreen(TOPO, 5200, 1052.0)
            app.push_screen(screen)
            screen.show(last)  # as the app does: before the screen is mounted
            await pilot.pause()
            assert (
                len(screen.query_one(ThreadList).threads) == 16
            )  # vllm-a runs 16 threads in the scenario
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, ProcessScreen)

    asyncio.run(main())


def test_labels() -> None:
    n = {node.id: node.cpus for node in TOPO.nodes}
    assert affinity_label(TOPO.online_cpus, TOPO) == "all"
    assert affinity_label(range(256), TOPO) == "all"  # possible-but-absent CPUs ignored
    assert affinity_label(n[1], TOPO) == "node1"
    assert affinity_label(n[0] + n[1], TOPO) == "node0+1"
    assert affinity_label(TOPO.l3[4].cpus, TOPO) == "L3 4"
    assert affinity_label((1, 2, 3, 9), TOPO) == "1-3,9"
    assert affinity_label(None, TOPO) == "–"
    assert nodes_label(()) == "–"
    assert nodes_label((2, 0)) == "0,2"
    assert nodes_label((0, 1)) == "0,1"
    assert nodes_label((0, 1, 2, 3, 6)) == "0-3,6"
    assert rate(None) == "–" and rate(950.5) == "950.5"
    assert rate(12345.0) == "12.3k" and rate(4.1e6) == "4.1M"
    kworker = frames(1)[0].process(2)
    assert kworker is not None and command_label(kworker) == "[kworker/0:1]"


def test_fit_cuts_visibly_and_counts_cells() -> None:
    assert fit("inference", 8) == "inferen…"
    assert fit("42", 5, right=True) == "   42"
    assert fit("日本語のコマンド", 7) == "日本語…"
    assert fit("a\tb", 4) == "a?b "
    assert fit("abc", 0) == ""
