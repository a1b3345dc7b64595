"""The dashboard driven with Textual's Pilot on the simulated machine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace

from textual.pilot import Pilot

from numaview.model.topology import Topology
from numaview.stream.source import ManualSource
from numaview.tui.app import NumaviewApp
from numaview.tui.screens.help import HelpScreen
from numaview.tui.screens.process import ProcessScreen
from numaview.tui.widgets.findings import FindingsPanel
from numaview.tui.widgets.header import HeaderBar
from numaview.tui.widgets.heatmap import Heatmap
from numaview.tui.widgets.nodes import NodePanel
from numaview.tui.widgets.proctable import ProcessTable
from tests.tui_harness import demo_app

Scenario = Callable[[NumaviewApp, ManualSource, Pilot[int]], Awaitable[None]]


def run(scenario: Scenario, size: tuple[int, int] = (120, 40), frames: int = 6) -> None:
    async def main() -> None:
        app, source = demo_app()
        async with app.run_test(size=size) as pilot:
            source.push(frames)
            await pilot.pause()
            await scenario(app, source, pilot)

    asyncio.run(main())


def lines(widget: Heatmap | NodePanel) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


def test_header_says_simulated_live_and_overhead() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        text = app.query_one(HeaderBar).text()
        assert "sim-2s-128" in text and "128 CPUs" in text and "4 nodes" in text
        assert "SIMULATED" in text and "LIVE" in text and "numaview 0.3% CPU" in text
        assert "every 1s" in text

    run(check)


def test_heatmap_shows_every_node_and_busy_cpus() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        heat = app.query_one(Heatmap)
        text = lines(heat)
        labels = [t[:2] for t in text[:-1] if t[:2].strip()]
        assert labels == ["N0", "N1", "N2", "N3"]
        assert heat.cell_w >= 3 and len(text) == 9  # 40 rows: two lines a node, ids readable
        assert "100%" in text[-1] or "100%" in "".join(text)
        busy = heat.frame.cpus.value(16)  # type: ignore[union-attr]
        assert busy is not None and busy > 90  # llama-server's core

    run(check)


def test_selecting_a_process_highlights_its_cpus_and_nodes() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        table = app.query_one(ProcessTable)
        assert table.selected is not None and table.selected.pid == 4121  # busiest first
        heat = app.query_one(Heatmap)
        node1 = app.topology.node(1).cpus  # type: ignore[union-attr]
        assert heat.allowed == frozenset(node1)
        assert heat.running == frozenset(range(16, 32))
        assert app.query_one(NodePanel).highlight == frozenset({0, 1})  # memory on 0, runs on 1
        assert "threads now" in lines(heat)[-1]

    run(check)


def test_pause_freezes_the_view_not_the_sampler() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        shown = app.frame
        await pilot.press("Z")  # htop's freeze key (space tags a process)
        assert "PAUSED" in app.query_one(HeaderBar).text()
        source.push(3)
        await pilot.pause()
        assert app.frame is shown and app.latest is not shown
        assert len(source.ring) == 9  # the sampler kept going
        await pilot.press("Z")
        await pilot.pause()
        assert app.frame is app.latest

    run(check)


def test_plus_minus_change_the_interval() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("minus")
        assert source.interval_s == 2.0
        await pilot.press("plus", "plus", "plus")
        assert source.interval_s == 0.2
        assert "every 0.2s" in app.query_one(HeaderBar).text()

    run(check)


def test_filter_and_sort_keys() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("slash")
        await pilot.press(*"vllm")
        await pilot.press("enter")
        await pilot.pause()
        table = app.query_one(ProcessTable)
        assert {p.pid for p in table.visible_rows()} == {5200, 5300}
        await pilot.press("escape")
        await pilot.press("f6")
        assert table.sort_key == "mem"
        await pilot.press("greater_than_sign")
        assert table.sort_key == "threads"

    run(check)


def test_enter_opens_process_detail_and_escape_closes_it() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProcessScreen)
        source.push()
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ProcessScreen)

    run(check)


def test_help_lists_every_key() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = {k for k, _ in app.screen.rows}
        every = ("q", "f10", "?", "f1", "/", "f6", ">", "Z", "space", "U", "P", "+", "-", "H")
        for key in (*every, "c", "enter"):
            assert key in keys, key
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)

    run(check)


def test_sampler_errors_show_as_a_message() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        frame = replace(source.push(), errors=("CPU usage: cannot read /proc/stat",))
        app.monitor.feed(frame)
        await pilot.pause()
        assert "1 read error" in app.query_one(HeaderBar).text()
        assert any("cannot read /proc/stat" in str(n.message) for n in app._notifications)

    run(check)


def test_resizes_down_to_20x10_and_back() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        for size in ((80, 24), (40, 12), (20, 10), (30, 8), (200, 60), (80, 24)):
            await pilot.resize_terminal(*size)
            source.push()
            await pilot.pause()
            small = size[0] < 40 or size[1] < 12
            assert app.screen.has_class("too-small") == small
        app.save_screenshot("/dev/null")

    run(check)


def test_q_exits_zero() -> None:
    async def main() -> int | None:
        app, source = demo_app()
        async with app.run_test(size=(80, 24)) as pilot:
            source.push(2)
            await pilot.press("q")
            await pilot.pause()
        return app.return_value

    assert asyncio.run(main()) == 0


def test_cursor_stays_on_top_row_until_the_user_moves_it() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        table = app.query_one(ProcessTable)
        assert table.selected is not None and table.selected.pid == 4121
        await pilot.press("down")
        chosen = table.selected
        assert chosen is not None and chosen.pid != 4121
        source.push(3)
        await pilot.pause()
        assert table.selected is not None and table.selected.pid == chosen.pid  # follows it now

    run(check)


def test_H_lists_threads_and_highlights_the_selected_thread() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("H")
        await pilot.pause()
        table = app.query_one(ProcessTable)
        rows = table.visible_rows()
        assert app.frame is not None
        assert len(rows) == sum(p.threads for p in app.frame.processes)  # every thread
        assert {r.pid for r in rows} >= {4121, 4122, 4136}  # llama-server's 16 threads
        first = table.selected
        assert first is not None and first.threads == 1 and len(first.last_cpus) == 1
        heat = app.query_one(Heatmap)
        assert heat.running == frozenset(first.last_cpus)
        await pilot.press("slash", *"worker-3", "enter")
        await pilot.pause()
        assert any(r.pid == 4124 for r in table.visible_rows())
        await pilot.press("escape")
        table.move_cursor(next(i for i, r in enumerate(table.visible_rows()) if r.pid == 4124))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ProcessScreen) and app.screen.pid == 4121  # its process

    run(check)


def test_command_palette_offers_the_actions() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Pause / resume the view" in titles and "Threads as rows (htop's H)" in titles
        command = next(
            c for c in app.get_system_commands(app.screen) if c.title.startswith("Pause")
        )
        command.callback()
        await pilot.pause()
        assert app.paused

    run(check)


def test_dense_heatmap_keeps_256_and_1024_cpus_visible_at_80x24(tmp_path) -> None:
    from numaview.linux.sysfs import discover
    from tests.fakefs import Shape, build_machine
    from tests.tui_harness import topology_app

    for i, shape in enumerate(
        (
            Shape(packages=2, nodes_per_package=4, l3_per_node=2, cores_per_l3=8, smt=2),
            Shape(packages=8, nodes_per_package=2, l3_per_node=4, cores_per_l3=8, smt=2),
        )
    ):
        topo = discover(build_machine(tmp_path / str(i), shape).root)

        async def main(topo: Topology) -> None:
            app = topology_app(topo)
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                heat = app.query_one(Heatmap)
                cells = [cpu for line in heat._lines for (_, _, cpu) in line if cpu is not None]
                assert sorted(cells) == [c.id for c in topo.cpus]  # every CPU has a cell
                assert heat.size.height == len(topo.nodes) + 1  # one line a node + legend
                assert heat.region.bottom <= 24

        asyncio.run(main(topo))


def test_findings_panel_lists_leaks_and_highlights_the_selected_one() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        panel = app.query_one(FindingsPanel)
        kinds = {f.kind for f in panel.findings}
        assert {"cross-node", "oversubscription"} <= kinds
        # one finding per cause: the other detectors' evidence is merged into it
        symptoms = {s.kind for f in panel.findings for s in f.symptoms}
        assert {"overlapping-affinity", "smt-contention"} <= symptoms
        severities = [f.severity for f in panel.findings]
        assert severities == sorted(severities, key=["critical", "warning", "info"].index)
        await pilot.press("f")
        await pilot.pause()
        assert panel.has_focus and app.selected_finding is panel.findings[0]
        first = panel.findings[0]
        heat = app.query_one(Heatmap)
        assert heat.allowed == (frozenset(first.cpus) if first.cpus else None)
        assert app.query_one(NodePanel).highlight == frozenset(first.nodes)
        assert app.query_one(ProcessTable)._marked == frozenset(first.pids)
        await pilot.press("down")
        await pilot.pause()
        assert app.selected_finding is panel.findings[1]
        text = [panel.render_line(y).text for y in range(panel.size.height)]
        assert any("fix:" in line for line in text)
        await pilot.press("escape")
        await pilot.pause()
        assert getattr(app, "selected_finding") is None  # noqa: B009 (mypy narrowed it)
        assert app.query_one(ProcessTable).has_focus

    run(check, frames=12)


def test_resize_under_a_dialog_reaches_the_dashboard() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        dashboard = app.screen_stack[0]
        assert dashboard.has_class("narrow") and dashboard.has_class("short")
        assert not app.screen.has_class("narrow")  # the help screen is not the dashboard

    run(check)


def test_gpus_show_on_their_node_rows_where_there_is_room_and_in_the_node_panel() -> None:
    async def wide(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        heat = app.query_one(Heatmap)
        assert heat.cell_w >= 3  # no CPU cell gives way to a GPU
        panel = lines(app.query_one(NodePanel))
        n2 = next(line for line in panel if line.startswith("N2"))
        assert "G4" in n2 and "G5" in n2 and "%" in n2.split("G4")[1]  # with utilisation

    async def narrow(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        text = lines(app.query_one(Heatmap))
        rows = {t[:2]: t for t in text if t[:2] in ("N0", "N1", "N2", "N3")}
        assert [rows[f"N{n}"].rstrip().endswith(f"G{2 * n} G{2 * n + 1}") for n in range(4)] == [
            True
        ] * 4
        heat = app.query_one(Heatmap)
        y = text.index(rows["N2"])
        assert heat.cpu_at(len(rows["N2"].rstrip()) - 1, y) is None  # a GPU is no CPU
        assert heat.cpu_at(heat.label_w + 1, y) is not None

    run(wide)
    run(narrow, size=(80, 24))
