"""Tagging (space, U), the plan dialog (P) and its results, driven with Pilot on the simulation.

The simulated machine: 4 nodes of 16 cores (SMT 2, two L3 domains each);
llama-server (4121) runs on node 1 with its memory on node 0, vllm-a (5200)
on L3 4 of node 2 with its memory there. The Monitor runs inline, so a
plan's checks (cpusets, owners) and its request are answered at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Input, OptionList, Static

from numaview.demo.pinner import SimulatedPinner
from numaview.diagnose.findings import Finding, PinPlan, Symptom
from numaview.linux.sysfs import discover
from numaview.model.frame import ProcessSample
from numaview.stream.source import ManualSource
from numaview.tui.app import NumaviewApp
from numaview.tui.planning import NOTHING_TAGGED
from numaview.tui.screens.confirm import ConfirmScreen
from numaview.tui.screens.plan import BAD_HOUSEKEEPING, PlanScreen
from numaview.tui.screens.plan_choices import FIX, default_strategy
from numaview.tui.widgets.charts import ChartPanel
from numaview.tui.widgets.findings import FindingsPanel, fix_text
from numaview.tui.widgets.header import HeaderBar
from numaview.tui.widgets.planmap import PlanMap
from numaview.tui.widgets.proctable import TAG, ProcessTable
from tests.fakefs import Shape, build_machine
from tests.tui_harness import demo_app

Scenario = Callable[[NumaviewApp, ManualSource, Pilot[int]], Awaitable[None]]
NODE0 = (*range(0, 16), *range(64, 80))
NODE1 = (*range(16, 32), *range(80, 96))
NODE2 = (*range(32, 48), *range(96, 112))
L3_4 = (*range(32, 40), *range(96, 104))


def run(
    scenario: Scenario, size: tuple[int, int] = (120, 40), frames: int = 6, pinner: bool = True
) -> None:
    async def main() -> None:
        app, source = demo_app()
        if not pinner:
            app.pinner = None
        async with app.run_test(size=size) as pilot:
            source.push(frames)
            await pilot.pause()
            await scenario(app, source, pilot)

    asyncio.run(main())


def top(app: NumaviewApp) -> Screen[Any]:
    """The screen on top, unnarrowed: the same expression changes between asserts."""
    return app.screen


def sim_pinner(app: NumaviewApp) -> SimulatedPinner:
    assert isinstance(app.pinner, SimulatedPinner)
    return app.pinner


def paused(app: NumaviewApp) -> bool:
    return app.paused  # a call: mypy does not narrow it between presses


def notes(app: NumaviewApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def proc(app: NumaviewApp, pid: int) -> ProcessSample:
    assert app.frame is not None
    p = app.frame.process(pid)
    assert p is not None
    return p


def text(screen: Screen[Any], selector: str) -> str:
    widget = screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""


def gutter(table: ProcessTable) -> dict[int, str]:
    """pid -> the first cell of its row as drawn (● when tagged), for the rows on screen."""
    rows, top = table.visible_rows(), round(table.scroll_y)
    on_screen = range(1, min(table.size.height, len(rows) - top + 1))
    return {rows[top + y - 1].pid: table.render_line(y).text[0] for y in on_screen}


async def tag(app: NumaviewApp, pilot: Pilot[int], *pids: int) -> None:
    table = app.query_one(ProcessTable)
    for pid in pids:
        table.move_cursor(next(i for i, r in enumerate(table.visible_rows()) if r.pid == pid))
        await pilot.press("space")
    await pilot.pause()


async def open_plan(app: NumaviewApp, pilot: Pilot[int], *pids: int) -> PlanScreen:
    await tag(app, pilot, *pids)
    await pilot.press("P")
    await pilot.pause()
    assert isinstance(app.screen, PlanScreen)
    return app.screen


# -- tagging -------------------------------------------------------------------------


def test_space_tags_rows_that_survive_frames_and_sorting_and_U_clears_them() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        table = app.query_one(ProcessTable)
        assert [r.pid for r in table.visible_rows()[:3]] == [4121, 5200, 5300]
        await pilot.press("space", "space")  # htop: tags the row, the cursor moves down
        await pilot.pause()
        assert [k[0] for k in table.tagged] == [4121, 5200]
        assert table.tagged[0] == proc(app, 4121).key  # (pid, start time)
        assert table.selected is not None and table.selected.pid == 5300
        marks = gutter(table)
        assert marks[4121] == marks[5200] == TAG and marks[5300] == " "
        style = table.get_component_rich_style("proctable--tagged", partial=True)
        assert any(seg.style and seg.style.color == style.color for seg in table.render_line(1))
        source.push(2)  # new frames: new row objects, the same tags
        await pilot.pause()
        assert [k[0] for k in table.tagged] == [4121, 5200]
        await pilot.press("f6", "f6", "f6", "f6")  # sorted by pid now
        await pilot.pause()
        assert table.sort_key == "pid"
        rows = [r.pid for r in table.visible_rows()]
        table.move_cursor(rows.index(4121))
        await pilot.pause()
        marks = gutter(table)
        assert marks[4121] == marks[5200] == TAG and marks[5300] == " "
        assert sum(m == TAG for m in marks.values()) == 2
        await pilot.press("space")  # untags a tagged row too
        await pilot.pause()
        assert [k[0] for k in table.tagged] == [5200]
        await pilot.press("U")
        await pilot.pause()
        assert table.tagged == () and TAG not in gutter(table).values()
        assert "1 untagged" in notes(app)

    run(check)


def test_Z_pauses_and_space_no_longer_does() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("space")
        assert not paused(app)
        await pilot.press("Z")
        assert paused(app) and "PAUSED" in app.query_one(HeaderBar).text()
        await pilot.press("Z")
        assert not paused(app)

    run(check)


def test_a_tagged_process_that_exits_loses_its_tag() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await tag(app, pilot, 4121, 6100)
        table = app.query_one(ProcessTable)
        assert {k[0] for k in table.tagged} == {4121, 6100}
        del sim_pinner(app).sim.procs[6100]  # type: ignore[attr-defined]  # batch-etl exits
        source.push(2)
        await pilot.pause()
        assert [k[0] for k in table.tagged] == [4121]

    run(check)


def test_a_thread_row_tags_its_process() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("H")
        await pilot.pause()
        table = app.query_one(ProcessTable)
        row = table.selected
        assert row is not None
        parent = table.parent_pid(row.pid)
        await pilot.press("space")
        await pilot.pause()
        assert table.tagged == (proc(app, parent).key,)
        siblings = [r.pid for r in table.visible_rows() if table.parent_pid(r.pid) == parent]
        marks = gutter(table)
        assert len(siblings) > 1 and all(marks[tid] == TAG for tid in siblings)
        await pilot.press("H")  # back to processes: the process row is tagged
        await pilot.pause()
        assert gutter(table)[parent] == TAG

    run(check)


# -- the dialog ----------------------------------------------------------------------


def test_P_opens_the_plan_for_the_tagged_processes_one_node_each() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_plan(app, pilot, 4121, 5200)
        assert text(screen, "#plan-title") == "Plan: divide the machine between 2 processes"
        assert screen.strategy == "node"  # 4 nodes with CPUs
        assert screen.query_one(OptionList).highlighted == 0
        part = screen.part
        assert part is not None and part.strategy == "node"
        llama, vllm = part.share(4121), part.share(5200)
        assert llama is not None and llama.cpus == NODE0  # where its memory is
        assert vllm is not None and vllm.cpus == NODE2
        table = text(screen, "#plan-table")
        assert table.splitlines()[0].split()[:3] == ["PID", "NAME", "CPU%"]
        assert "node 0" in table and "node 2" in table and "0-15,64-79" in table
        pmap = screen.query_one(PlanMap)
        assert pmap.slot_class(0) == "planmap--p0" and pmap.slot_class(32) == "planmap--p1"
        assert pmap.slot_class(16) == "planmap--free"
        p0, p1 = (pmap.get_component_rich_style(f"planmap--p{i}").bgcolor for i in (0, 1))
        assert p0 is not None and p1 is not None and p0 != p1  # the palette is in app.tcss
        n0, n2 = list(pmap.render_line(0)), list(pmap.render_line(2))  # rows N0 and N2
        assert any(seg.style and seg.style.bgcolor == p0 for seg in n0)
        assert any(seg.style and seg.style.bgcolor == p1 for seg in n2)
        assert not any(seg.style and seg.style.bgcolor == p1 for seg in n0)
        assert pmap.render_line(len(pmap.rows)).text.startswith(
            "■ pid 4121 llama-server  ■ pid 5200 vllm-a  ■ not used"
        )
        assert screen.ready() and not screen.query_one("#plan-apply", Button).disabled
        assert screen.query_one("#plan-undo", Button).disabled  # no plan applied yet
        assert sim_pinner(app).events == []  # nothing moves before Apply

    run(check)


def test_strategies_and_housekeeping_change_the_plan() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_plan(app, pilot, 4121, 5200)
        node_table = text(screen, "#plan-table")
        await pilot.press("down", "down", "down")  # l3, package, cores
        await pilot.pause()
        assert screen.strategy == "cores"
        part = screen.part
        assert part is not None and part.strategy == "cores"
        shares = [part.share(4121), part.share(5200)]
        assert all(s is not None and s.n_cores == 32 and len(s.cpus) == 64 for s in shares)
        cores_table = text(screen, "#plan-table")
        assert cores_table != node_table and "32 cores" in cores_table
        screen.choose("node")
        box = screen.query_one("#plan-housekeeping", Input)
        box.focus()
        await pilot.press("backspace", "1")
        await pilot.pause()
        part = screen.part
        assert part is not None and part.housekeeping == (0, 64)  # CPU 0's core
        assert all(0 not in s.cpus and 64 not in s.cpus for s in part.shares)
        table = text(screen, "#plan-table")
        assert "1-15,65-79" in table and "0-15,64-79" not in table
        assert screen.query_one(PlanMap).slot_class(0) == "planmap--house"
        assert "kept free" in screen.query_one(PlanMap).render_line(4).text
        assert screen.ready()
        await pilot.press("backspace", "x")
        await pilot.pause()
        assert screen.part is None and text(screen, "#plan-error") == f"✗ {BAD_HOUSEKEEPING}"
        assert screen.query_one("#plan-apply", Button).disabled and not screen.ready()
        box.value = "64"  # every core: a PartitionError, one line
        await pilot.pause()
        assert "leave none of the 64 cores" in text(screen, "#plan-error")
        assert screen.query_one("#plan-apply", Button).disabled

    run(check)


def test_apply_asks_then_moves_every_process_as_one_plan() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await open_plan(app, pilot, 4121, 5200)
        asked: list[int] = []
        source.reread = asked.append  # type: ignore[method-assign,assignment]
        await pilot.press("enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen)
        assert confirm.question == (
            "Apply plan: move 2 processes (pid 4121 llama-server → node 0,"
            " pid 5200 vllm-a → node 2)? (y/n)"
        )
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(top(app), (PlanScreen, ConfirmScreen))
        events = sim_pinner(app).events
        assert [(e.pid, e.cpus) for e in events] == [(4121, NODE0), (5200, NODE2)]
        assert sorted(asked) == [4121, 5200]  # both read in full at the next tick
        assert app.bundle is not None and app.bundle.plans == ("one NUMA node each",)
        assert app.query_one(ChartPanel).events[-1][1] == "plan 2 procs"
        assert any(n.startswith("plan (one NUMA node each): moved 2 processes") for n in notes(app))
        source.push(3)
        await pilot.pause()
        assert proc(app, 4121).affinity == NODE0 and proc(app, 5200).affinity == NODE2

    run(check)


def test_no_at_the_confirmation_moves_nothing_and_keeps_the_dialog() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_plan(app, pilot, 4121, 5200)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await pilot.pause()
        assert top(app) is screen
        assert text(screen, "#plan-error") == "✗ not applied: nothing moved"
        assert sim_pinner(app).events == []
        assert app.query_one(ChartPanel).events == []
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(top(app), PlanScreen)
        source.push(2)
        await pilot.pause()
        assert proc(app, 4121).affinity == NODE1 and proc(app, 5200).affinity == L3_4

    run(check)


def test_another_users_process_needs_a_second_yes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SimulatedPinner, "is_foreign", lambda self, pid: pid == 5200)

    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_plan(app, pilot, 4121, 5200)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        second = app.screen
        assert isinstance(second, ConfirmScreen)
        assert second.question == (
            "pid 5200 (vllm-a) belongs to user inference, not to you.\nReally move it? (y/n)"
        )
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and sim_pinner(app).events == []
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(top(app), (PlanScreen, ConfirmScreen))
        assert [e.pid for e in sim_pinner(app).events] == [4121, 5200]

    run(check)


def test_a_cgroup_cpuset_refusal_shows_and_apply_is_disabled() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        sim_pinner(app).cpusets[4121] = tuple(range(0, 8))  # its container: CPUs 0-7
        screen = await open_plan(app, pilot, 4121, 5200)
        assert screen.checks is not None and screen.checks.cpusets[4121] == tuple(range(8))
        error = text(screen, "#plan-error")
        assert error.startswith("✗ pid 4121 (llama-server): its cgroup cpuset allows CPUs 0-7")
        assert "refused" in text(screen, "#plan-table")
        assert screen.query_one("#plan-apply", Button).disabled and not screen.ready()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and sim_pinner(app).events == []

    run(check)


def test_a_failed_plan_keeps_the_dialog_open_with_the_reason() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_plan(app, pilot, 4121, 5200)
        del sim_pinner(app).sim.procs[5200]  # type: ignore[attr-defined]  # it exits meanwhile
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert app.screen is screen
        error = text(screen, "#plan-error")
        assert error.startswith("✗ pid 5200 (vllm-a): process 5200 is gone")
        assert "rolled back pid 4121" in error
        assert app.bundle is not None and app.bundle.plans == ()
        source.push(2)
        await pilot.pause()
        assert proc(app, 4121).affinity == NODE1  # put back

    run(check)


def test_undo_restores_every_process_of_the_last_plan() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await open_plan(app, pilot, 4121, 5200)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        source.push(2)
        await pilot.pause()
        assert proc(app, 4121).affinity == NODE0
        await pilot.press("P")  # the tags are still there
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        assert not screen.query_one("#plan-undo", Button).disabled
        await pilot.press("u")
        await pilot.pause()
        assert not isinstance(top(app), PlanScreen)
        undone = sim_pinner(app).events[-2:]
        assert all(e.undo for e in undone) and {e.pid for e in undone} == {4121, 5200}
        assert app.bundle is not None and app.bundle.plans == ()
        assert app.query_one(ChartPanel).events[-1][1] == "undo plan"
        assert (
            "plan undone (one NUMA node each): pid 4121 (llama-server) back on CPUs"
            " 16-31,80-95; pid 5200 (vllm-a) back on CPUs 32-39,96-103"
        ) in notes(app)
        source.push(2)
        await pilot.pause()
        assert proc(app, 4121).affinity == NODE1 and proc(app, 5200).affinity == L3_4
        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert app.screen.query_one("#plan-undo", Button).disabled  # nothing left to undo

    run(check)


def test_memory_switch_moves_the_memory_along() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_plan(app, pilot, 4121, 6100)
        await pilot.press("m")
        await pilot.pause()
        assert screen.part is not None and screen.part.move_memory
        assert "moves" in text(screen, "#plan-table")
        assert any(mv.move_memory for mv in screen.moves)
        await pilot.press("enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, ConfirmScreen) and "with its memory" in confirm.question

    run(check)


def test_one_tagged_process_is_allowed_and_the_dialog_says_so() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_plan(app, pilot, 4121)
        assert text(screen, "#plan-title") == "Plan: divide the machine between 1 process"
        assert "one process" in text(screen, "#plan-note")
        assert screen.ready()

    run(check)


def test_P_with_nothing_tagged_says_what_to_do() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("P")
        await pilot.pause()
        assert not isinstance(top(app), PlanScreen)
        assert NOTHING_TAGGED in notes(app)

    run(check)


def test_P_on_the_focused_findings_panel_plans_the_findings_processes() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("f")
        await pilot.pause()
        finding = app.query_one(FindingsPanel).selected
        assert finding is not None and finding.pids
        await pilot.press("P")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        assert [p.pid for p in screen.procs] == list(finding.pids)

    run(check, frames=12)


def test_without_a_pinner_P_says_it_is_not_available() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await tag(app, pilot, 4121, 5200)
        await pilot.press("P")
        await pilot.pause()
        assert not isinstance(top(app), PlanScreen)
        assert "re-pinning is not available here" in notes(app)

    run(check, pinner=False)


# -- a finding whose fix is a plan ----------------------------------------------------


def plan_finding(app: NumaviewApp) -> Finding:
    llama, vllm = proc(app, 4121), proc(app, 6100)
    return Finding(
        kind="cache-contention",
        severity="warning",
        key="cache-contention:4121,6100",
        evidence="llama-server and batch-etl share node 1's L3",
        explanation="two busy processes evict each other's cache lines",
        pids=(4121, 6100),
        plan=(
            PinPlan(4121, llama.start_time, NODE0, True, "node 0"),
            PinPlan(6100, vllm.start_time, NODE2, False, "node 2"),
        ),
        symptoms=(
            Symptom("oversubscription", "warning", "o:1", "48 busy threads on 32 CPUs"),
            Symptom("cross-node", "warning", "x:4121", "92 % of its memory on node 0"),
        ),
    )


async def show_finding(app: NumaviewApp, pilot: Pilot[int], finding: Finding) -> None:
    app.findings = (finding,)
    app.query_one(FindingsPanel).show(app.findings)
    await pilot.press("f")
    await pilot.pause()


def test_a_finding_with_a_plan_shows_its_symptoms_and_plan_in_the_panel() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        finding = plan_finding(app)
        await show_finding(app, pilot, finding)
        panel = app.query_one(FindingsPanel)
        lines = [panel.render_line(y).text.rstrip() for y in range(6)]
        assert lines[2] == "   · oversubscription: 48 busy threads on 32 CPUs"
        assert lines[3] == "   · cross-node: 92 % of its memory on node 0"
        assert lines[5].startswith("   fix: plan, 2 processes (pid 4121 → node 0;")
        assert fix_text(finding).startswith("fix: plan, 2 processes")

    run(check)


def test_enter_on_a_finding_with_a_plan_opens_the_plan_dialog_preset() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await show_finding(app, pilot, plan_finding(app))
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanScreen) and screen.preset is not None
        assert screen.strategy == FIX
        options = screen.query_one(OptionList)
        assert options.get_option_at_index(0).id == FIX and options.highlighted == 0
        assert str(options.get_option_at_index(0).prompt) == "the finding's fix"
        assert screen.query_one("#plan-housekeeping", Input).disabled
        part = screen.part
        assert part is not None
        assert [(s.pid, s.cpus) for s in part.shares] == [(4121, NODE0), (6100, NODE2)]
        table = text(screen, "#plan-table")
        assert "node 0" in table and "node 2" in table
        assert [(m.pid, m.target.cpus, m.move_memory) for m in screen.moves] == [
            (4121, NODE0, True),
            (6100, NODE2, True),  # the switch is on (the fix moves memory): both move it
        ]
        await pilot.press("m")  # memory off: the fix's CPUs only
        await pilot.pause()
        assert not any(m.move_memory for m in screen.moves)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(top(app), PlanScreen)
        assert [(e.pid, e.cpus) for e in sim_pinner(app).events] == [(4121, NODE0), (6100, NODE2)]
        assert app.bundle is not None and app.bundle.plans == ("cache-contention fix",)

    run(check)


def test_a_finding_with_a_plan_can_switch_to_a_strategy() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await show_finding(app, pilot, plan_finding(app))
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PlanScreen)
        await pilot.press("down", "down")  # node, l3
        await pilot.pause()
        assert screen.strategy == "l3" and not screen.query_one("#plan-housekeeping").disabled
        assert screen.part is not None and {s.pid for s in screen.part.shares} == {4121, 6100}
        assert all(s.domain.startswith("L3") for s in screen.part.shares)

    run(check)


def test_a_single_pin_fix_still_opens_the_pin_dialog() -> None:
    from numaview.tui.screens.pin import PinScreen

    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        llama = proc(app, 4121)
        fix = PinPlan(4121, llama.start_time, NODE0, True, "node 0")
        finding = Finding("cross-node", "warning", "cross-node:4121", "e", "x", (4121,), fix=fix)
        await show_finding(app, pilot, finding)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PinScreen) and app.screen.preset == fix

    run(check)


# -- size, help, the strategy a machine starts on -------------------------------------


@pytest.mark.parametrize("preset", [False, True], ids=["tagged", "finding"])
def test_the_plan_dialog_fits_80x24(preset: bool) -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen: Screen[Any]
        if preset:
            await show_finding(app, pilot, plan_finding(app))
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, PlanScreen)
        else:
            sim_pinner(app).cpusets[5200] = (0, 1)  # a refusal line too
            screen = await open_plan(app, pilot, 4121, 5200, 6100)
            assert text(screen, "#plan-error")
        for selector in (
            "#plan-title",
            "#plan-strategies",
            "#plan-map",
            "#plan-table-box",
            "#plan-buttons",
            "#plan-keys",
        ):
            region = screen.query_one(selector).region
            assert region.height > 0 and region.bottom <= 24, selector
        await pilot.press("down", "down", "down")
        await pilot.pause()
        assert screen.query_one("#plan-keys").region.bottom <= 24

    run(check, size=(80, 24))


def test_help_and_command_palette_offer_tags_and_plans() -> None:
    from numaview.tui.screens.help import HelpScreen

    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Plan: divide the machine between the tagged processes" in titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = dict(app.screen.rows)
        assert rows["space"].startswith("tag / untag the selected process")
        assert rows["Z"].startswith("pause the view")
        assert rows["U"] == "untag every process"
        assert rows["P"].startswith("plan: divide the machine")

    run(check)


def test_default_strategy_follows_the_topology(tmp_path: Path) -> None:
    numa = discover(str(build_machine(tmp_path / "numa", Shape()).root))
    assert default_strategy(numa) == "node"
    one = Shape(packages=1, nodes_per_package=1, l3_per_node=2)
    assert default_strategy(discover(str(build_machine(tmp_path / "l3", one).root))) == "l3"
    flat = Shape(packages=1, nodes_per_package=1)
    assert default_strategy(discover(str(build_machine(tmp_path / "flat", flat).root))) == "cores"


def test_in_replay_space_plays_and_pauses_and_nothing_is_tagged(tmp_path: Path) -> None:
    from numaview.demo.machine import SimulatedSampler
    from numaview.record.reader import Reader
    from numaview.record.replay import ReplaySource
    from numaview.record.writer import Writer
    from numaview.tui.app import make_app
    from tests.fakefs import FakeClock
    from tests.tui_harness import WALL0

    path = tmp_path / "sim.nvrec"
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=7, clock=clock, wall=lambda: WALL0 + clock.now)
    with Writer(path, sim.topology, 1.0) as w:
        for _ in range(5):
            clock.advance(1.0)
            w.add_frame(sim.sample())

    async def main() -> None:
        src = ReplaySource(Reader(path), clock=FakeClock(0.0), threaded=False)
        app = make_app(src)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            table = app.query_one(ProcessTable)

            def playing() -> bool:  # a call: mypy would narrow the attribute between presses
                return src.playing

            assert playing()
            await pilot.press("space")
            assert not playing() and table.tagged == ()
            await pilot.press("Z")
            assert playing()
            await pilot.press("P")
            await pilot.pause()
            assert not isinstance(app.screen, PlanScreen)
            assert "re-pinning is disabled in replay (this is a recording)" in notes(app)
            rows = app._help_rows()
            assert ("space", "play / pause the recording") in rows
            assert not any("tag / untag" in what for _, what in rows)

    asyncio.run(main())
