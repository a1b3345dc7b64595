"""The pin flow driven with Pilot on the simulated machine: a, the dialog, the result."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Button, Checkbox, Input, OptionList, Static

from numaview.demo.pinner import SimulatedPinner
from numaview.model.cpuset import format_cpulist
from numaview.model.frame import ProcessSample
from numaview.stream.source import ManualSource
from numaview.tui.app import NumaviewApp
from numaview.tui.screens.confirm import ConfirmScreen
from numaview.tui.screens.help import HelpScreen
from numaview.tui.screens.pin import PinScreen
from numaview.tui.widgets.charts import ChartPanel
from numaview.tui.widgets.cpupicker import CpuPicker
from numaview.tui.widgets.findings import FindingsPanel
from numaview.tui.widgets.proctable import ProcessTable
from tests.tui_harness import demo_app

Scenario = Callable[[NumaviewApp, ManualSource, Pilot[int]], Awaitable[None]]
NODE0 = (*range(0, 16), *range(64, 80))
NODE1 = (*range(16, 32), *range(80, 96))


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


async def open_pin(app: NumaviewApp, pilot: Pilot[int]) -> PinScreen:
    await pilot.press("a")
    await pilot.pause()
    assert isinstance(app.screen, PinScreen)
    return app.screen


def text(screen: PinScreen, selector: str) -> str:
    widget = screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""


def llama(app: NumaviewApp) -> ProcessSample:
    assert app.frame is not None
    p = app.frame.process(4121)
    assert p is not None
    return p


def notes(app: NumaviewApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def test_a_pins_the_selected_process_to_node_0_and_the_machine_follows() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_pin(app, pilot)
        assert text(screen, "#pin-title") == "Pin pid 4121 (llama-server)"
        assert "affinity node1 (CPUs 16-31,80-95)" in text(screen, "#pin-now")
        assert screen.choice_id == "node:1"  # starts on where it is: nothing would change
        assert "no thread moves" in text(screen, "#pin-summary")
        picker = screen.query_one(CpuPicker)
        assert picker.running == frozenset(range(16, 32))  # its threads now
        options = screen.query_one(OptionList)
        assert options.get_option("undo").disabled  # nothing pinned yet
        await pilot.press("up")
        await pilot.pause()
        assert screen.choice_id == "node:0"
        assert text(screen, "#pin-summary") == (
            "pin 16 threads of llama-server to node 0 (CPUs 0-15,64-79); memory stays"
        )
        assert picker.allowed == frozenset(NODE0)  # the map previews the target
        assert sim_pinner(app).events == [] and llama(app).affinity == NODE1  # dry run only
        asked: list[int] = []
        source.reread = asked.append  # type: ignore[method-assign,assignment]
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(top(app), PinScreen)
        assert asked == [4121]  # the sampler reads it in full next tick, asleep or not
        [event] = sim_pinner(app).events
        assert event.pid == 4121 and event.cpus == NODE0 and app.pin_events == [event]
        assert any("pid 4121" in n and "node 0" in n for n in notes(app))  # event.summary()
        assert app.query_one(ChartPanel).events[-1][1] == "pin 4121→node 0"
        source.push(3)
        await pilot.pause()
        p = llama(app)
        assert p.affinity == NODE0 and set(p.last_cpus) <= set(NODE0)
        assert p.nodes_running == (0,)

    run(check)


def test_escape_cancels_and_changes_nothing() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await open_pin(app, pilot)
        await pilot.press("up", "m")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(top(app), PinScreen)
        source.push(2)
        await pilot.pause()
        assert sim_pinner(app).events == [] and app.pin_events == []
        assert llama(app).affinity == NODE1
        assert app.query_one(ChartPanel).events == []

    run(check)


def test_memory_switch_is_in_the_summary_and_moves_the_pages() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_pin(app, pilot)
        assert not screen.query_one(Checkbox).value  # off unless a fix says so
        await pilot.press("down", "m")  # node 2, and its memory with it
        await pilot.pause()
        assert screen.query_one(Checkbox).value
        assert text(screen, "#pin-summary").endswith("; memory moves to node 2")
        await pilot.press("enter")
        source.push(8)  # pages migrate at ~8 GiB a tick
        await pilot.pause()
        mem = llama(app).mem_by_node_bytes
        assert mem is not None and max(mem, key=lambda n: mem[n]) == 2

    run(check)


def test_a_typed_cpu_list_is_validated_live_and_applied() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_pin(app, pilot)
        screen.choose("custom")
        await pilot.press("enter")  # on "custom CPU list…": into the box
        await pilot.pause()
        box = screen.query_one("#pin-cpus", Input)
        assert box.has_focus
        assert "type a CPU list" in text(screen, "#pin-cpus-error")
        await pilot.press(*"9999")
        await pilot.pause()
        assert text(screen, "#pin-cpus-error") == "✗ CPUs 9999 do not exist on this machine"
        assert screen.query_one("#pin-apply", Button).disabled
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PinScreen) and sim_pinner(app).events == []
        box.value = ""
        await pilot.press(*"40-47")
        await pilot.pause()
        assert text(screen, "#pin-cpus-error") == ""
        assert "to CPUs 40-47 (CPUs 40-47)" in text(screen, "#pin-summary")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(top(app), PinScreen)
        source.push(2)
        await pilot.pause()
        assert llama(app).affinity == tuple(range(40, 48))

    run(check)


def test_cpus_are_toggled_on_the_map_with_the_keyboard() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_pin(app, pilot)
        picker = screen.query_one(CpuPicker)
        picker.focus()
        await pilot.pause()
        assert picker.cursor_cpu == 0
        await pilot.press("space", "right", "space")  # 0 and its SMT sibling 64
        await pilot.pause()
        box = screen.query_one("#pin-cpus", Input)
        assert box.value == "0,64" and screen.choice_id == "custom"
        assert picker.allowed == frozenset({0, 64})
        await pilot.press("down")
        assert app.topology.cpu(picker.cursor_cpu or 0).node == 1  # type: ignore[union-attr]
        await pilot.press("up", "space")  # 64 again: out of the list
        await pilot.pause()
        assert box.value == "0"
        await pilot.press("enter")
        await pilot.pause()
        assert sim_pinner(app).events[-1].cpus == (0,)

    run(check)


def test_undo_is_offered_only_after_a_pin_and_restores_the_old_affinity() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await open_pin(app, pilot)
        await pilot.press("up", "enter")
        source.push(2)
        await pilot.pause()
        assert llama(app).affinity == NODE0
        screen = await open_pin(app, pilot)
        assert not screen.query_one(OptionList).get_option("undo").disabled
        screen.choose("undo")
        assert text(screen, "#pin-summary").startswith(
            "put 16 threads of llama-server back as before (CPUs 16-31,80-95)"
        )
        await pilot.press("enter")
        await pilot.pause()
        assert sim_pinner(app).events[-1].undo
        assert app.query_one(ChartPanel).events[-1][1] == "undo 4121"
        source.push(2)
        await pilot.pause()
        assert llama(app).affinity == NODE1
        screen = await open_pin(app, pilot)
        assert screen.query_one(OptionList).get_option("undo").disabled  # the stack is empty

    run(check)


def test_another_users_process_needs_a_second_yes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SimulatedPinner, "is_foreign", lambda self, pid: True)

    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await open_pin(app, pilot)
        await pilot.press("up", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "belongs to user inference" in app.screen.question
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(top(app), (ConfirmScreen, PinScreen))
        assert sim_pinner(app).events == []
        await open_pin(app, pilot)
        await pilot.press("up", "enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(top(app), (ConfirmScreen, PinScreen))
        assert sim_pinner(app).events[-1].cpus == NODE0

    run(check)


def test_a_kernel_thread_says_why_it_cannot_be_pinned() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        table = app.query_one(ProcessTable)
        table.move_cursor(next(i for i, r in enumerate(table.visible_rows()) if r.pid == 2))
        screen = await open_pin(app, pilot)
        assert "is a kernel thread" in text(screen, "#pin-error")
        assert screen.query_one("#pin-apply", Button).disabled
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and sim_pinner(app).events == []

    run(check)


def test_a_failed_pin_says_why_in_one_line_and_stays_open() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_pin(app, pilot)
        await pilot.press("up")
        del sim_pinner(app).sim.procs[4121]  # type: ignore[attr-defined]  # it exits meanwhile
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert text(screen, "#pin-error") == "✗ process 4121 is gone"
        assert sim_pinner(app).events == [] and app.pin_events == []

    run(check)


def test_enter_on_a_finding_applies_its_fix_and_the_finding_clears() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        assert "cross-node:4121" in {f.key for f in app.findings}
        await pilot.press("f")
        await pilot.pause()
        finding = app.query_one(FindingsPanel).selected
        assert finding is not None and finding.key == "cross-node:4121"
        assert finding.fix is not None
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PinScreen) and screen.preset == finding.fix
        assert screen.choice_id == "fix"
        assert screen.query_one(Checkbox).value == finding.fix.move_memory
        cpus = format_cpulist(finding.fix.cpus)  # the detector's choice, whichever it is
        assert f"to {finding.fix.target} (CPUs {cpus})" in text(screen, "#pin-summary")
        await pilot.press("enter")
        await pilot.pause()
        assert sim_pinner(app).events[-1].cpus == finding.fix.cpus
        assert app.query_one(ChartPanel).events  # the before/after shows on the charts
        source.push(10)
        await pilot.pause()
        assert "cross-node:4121" not in {f.key for f in app.findings}

    run(check, frames=12)


def test_a_finding_without_a_fix_says_so() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("f")
        panel = app.query_one(FindingsPanel)
        while panel.selected is not None and panel.selected.fix is not None:
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(top(app), PinScreen)
        assert "this finding has no automatic fix" in notes(app)

    run(check, frames=12)


def test_without_a_pinner_a_says_it_is_not_available() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("a")
        await pilot.pause()
        assert not isinstance(top(app), PinScreen)
        assert "re-pinning is not available here" in notes(app)

    run(check, pinner=False)


def test_a_on_a_thread_row_pins_its_process() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        await pilot.press("H")
        await pilot.pause()
        screen = await open_pin(app, pilot)
        assert screen.process.pid == 4121 and screen.process.threads == 16

    run(check)


def test_the_dialog_fits_80x24() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        screen = await open_pin(app, pilot)
        for selector in ("#pin-title", "#pin-map", "#pin-targets", "#pin-summary", "#pin-keys"):
            region = screen.query_one(selector).region
            assert region.height > 0 and region.bottom <= 24, selector

    run(check, size=(80, 24))


def test_help_and_command_palette_offer_the_pin() -> None:
    async def check(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Pin the selected process (htop's a)" in titles
        assert "Apply the selected finding's fix" in titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = dict(app.screen.rows)
        assert rows["a"].startswith("pin the selected process")
        assert any(k == "enter" and "finding's fix" in v for k, v in app.screen.rows)
        await pilot.press("escape")
        await pilot.pause()
        command = next(c for c in app.get_system_commands(app.screen) if c.title.startswith("Pin"))
        command.callback()
        await pilot.pause()
        assert isinstance(app.screen, PinScreen)

    run(check)


def test_summary_names_the_memory_the_live_dry_run_would_move() -> None:
    from numaview.demo.scenario import simulated_topology
    from numaview.pinning.apply import MemoryMove, PinEvent, ThreadChange
    from numaview.tui.screens.pin_choices import marker_label, summary_text

    threads = (ThreadChange(10, NODE1, NODE0), ThreadChange(11, NODE1, NODE0))
    gib = 1024**3
    moving = MemoryMove((1,), (0,), {0: 2 * gib, 1: 36 * gib}, None, None)
    event = PinEvent(0.0, 10, "db", "node 0", NODE0, threads, moving, dry_run=True)
    assert summary_text(event) == (
        "pin 2 threads of db to node 0 (CPUs 0-15,64-79); memory 36G moves from node 1 to node 0"
    )
    there = MemoryMove((), (0,), {0: gib}, {0: gib}, 0)
    event = PinEvent(0.0, 10, "db", "node 0", NODE0, threads, there, dry_run=True)
    assert summary_text(event).endswith("; memory already on node 0")
    assert marker_label(event, simulated_topology()) == "pin 10→node 0"
