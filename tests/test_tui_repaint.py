"""What a new frame repaints: only the lines whose content changed, and never the layout.

The dashboard's cost at 1 Hz is mostly Textual's compositor: each line it
repaints costs tens of microseconds and a layout of the whole screen costs
milliseconds. These tests count what the widgets ask Textual to repaint.
"""

from __future__ import annotations

import asyncio
from array import array
from dataclasses import replace
from typing import Any

import pytest
from rich.segment import Segment
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from numaview.model.frame import Frame
from numaview.tui.widgets.charts import ChartPanel
from numaview.tui.widgets.header import HeaderBar
from numaview.tui.widgets.heatmap import Heatmap
from numaview.tui.widgets.lines import changed_runs
from numaview.tui.widgets.nodes import NodePanel
from numaview.tui.widgets.proctable import ProcessTable
from tests.tui_harness import demo_app


def strips(*texts: str) -> list[Strip]:
    return [Strip([Segment(t)]) for t in texts]


def test_changed_runs_groups_consecutive_lines() -> None:
    old = strips("a", "b", "c", "d", "e")
    assert changed_runs(old, strips("a", "b", "c", "d", "e")) == []
    assert changed_runs(old, strips("a", "X", "Y", "d", "Z")) == [(1, 2), (4, 1)]
    assert changed_runs(old, strips("a", "b")) == [(2, 3)]  # lines gone: repainted blank
    assert changed_runs(strips("a"), strips("a", "b", "c")) == [(1, 2)]


def with_cpu_busy(frame: Frame, cpu: int, value: float) -> Frame:
    cols = {k: array("f", v) for k, v in frame.cpus.columns.items()}
    cols["busy_pct"][frame.cpus.ids.index(cpu)] = value
    return replace(frame, cpus=replace(frame.cpus, columns=cols))


class Recorder:
    """Records the regions each widget asks to repaint, and screen layouts."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.regions: list[tuple[str, Region | None, bool]] = []
        self.layouts = 0
        refresh = Widget.refresh
        layout = Screen._refresh_layout

        def recording_refresh(widget: Widget, *regions: Region, **kw: Any) -> Widget:
            name = type(widget).__name__
            for r in regions or (None,):
                self.regions.append((name, r, bool(kw.get("layout"))))
            return refresh(widget, *regions, **kw)

        def recording_layout(screen: Screen[Any], *a: Any, **kw: Any) -> None:
            self.layouts += 1
            layout(screen, *a, **kw)

        monkeypatch.setattr(Widget, "refresh", recording_refresh)
        monkeypatch.setattr(Screen, "_refresh_layout", recording_layout)

    def of(self, name: str) -> list[tuple[Region | None, bool]]:
        return [(r, lay) for n, r, lay in self.regions if n == name]

    def clear(self) -> None:
        self.regions.clear()
        self.layouts = 0


def test_one_cpu_changing_repaints_one_heatmap_line(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        app, source = demo_app()
        async with app.run_test(size=(120, 40)) as pilot:
            source.push(3)
            await pilot.pause()
            heat, nodes, header = (
                app.query_one(Heatmap),
                app.query_one(NodePanel),
                app.query_one(HeaderBar),
            )
            frame = heat.frame
            assert frame is not None
            rec = Recorder(monkeypatch)
            heat.show(frame)
            nodes.show(frame)
            header.show(frame)
            # the same frame again: nothing to repaint, whole widgets included
            assert (
                rec.of("Heatmap") == [] and rec.of("NodePanel") == [] and rec.of("HeaderBar") == []
            )
            cpu = 100  # on node 3: its line, no other
            before = frame.cpus.value(cpu)
            heat.show(with_cpu_busy(frame, cpu, 3.0 if (before or 0) > 50 else 97.0))
            got = rec.of("Heatmap")
            assert len(got) == 1, got
            region, layout = got[0]
            assert region is not None and region.height == 1 and not layout
            cells = [c for _, _, c in heat._lines[region.y]]
            assert cpu in cells  # the repainted line is the one with CPU 100's cell
            await pilot.pause()
            assert rec.layouts == 0

    asyncio.run(main())


def test_a_new_process_count_does_not_relayout_the_screen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def main() -> None:
        app, source = demo_app()
        async with app.run_test(size=(120, 40)) as pilot:
            source.push(3)
            await pilot.pause()
            table = app.query_one(ProcessTable)
            frame = table._frame
            assert frame is not None and len(frame.processes) > table.size.height  # it scrolls
            rec = Recorder(monkeypatch)
            fewer = replace(frame, processes=frame.processes[:-3])
            table.show(fewer)
            await pilot.pause()
            assert table.virtual_size.height == len(fewer.processes) + 1
            assert app.screen._layout_required is False and rec.layouts == 0
            assert not any(layout for _, _, layout in rec.regions)
            bar = table.vertical_scrollbar
            assert bar.window_virtual_size == len(fewer.processes) + 1  # the thumb follows
            # every row still reachable: the last one scrolls into view
            table.action_cursor_to(-1)
            await pilot.pause()
            assert table.selected is fewer.processes[-1] or table.selected in fewer.processes

    asyncio.run(main())


def test_charts_follow_a_resting_cursor_at_their_next_redraw_and_a_moved_one_at_once() -> None:
    async def main() -> None:
        app, source = demo_app(charts=True)
        async with app.run_test(size=(160, 50)) as pilot:
            source.push(4)
            await pilot.pause()
            table, charts = app.query_one(ProcessTable), app.query_one(ChartPanel)
            frame = table._frame
            assert frame is not None and charts.display
            builds = charts.builds
            top, second = table.visible_rows()[:2]
            # the second busiest becomes the busiest: the resting cursor moves with the top row
            faster = replace(second, cpu_pct=(top.cpu_pct or 0.0) + 50.0)
            procs = tuple(faster if p is second else p for p in frame.processes)
            table.show(replace(frame, processes=procs))
            await pilot.pause()
            assert table.selected is faster and charts.subject == ("pid", faster.pid)
            assert charts.builds == builds  # no build for it: the next due redraw shows it
            await pilot.press("down")  # the user chose a process: drawn at once
            await pilot.pause()
            assert table.selected is not None and charts.subject == ("pid", table.selected.pid)
            assert charts.builds == builds + 1

    asyncio.run(main())
