"""The process screen's stacks view on the demo, with the simulated dumper (never real py-spy)."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable, Static

import numaview.stacks.pyspy as pyspy
from numaview.stacks.types import StackDump
from numaview.tui.screens.process import ProcessScreen
from numaview.tui.widgets.heatmap import Heatmap
from numaview.tui.widgets.proctable import ProcessTable
from numaview.tui.widgets.stacks import StacksPanel
from tests.tui_harness import demo_app


@pytest.fixture(autouse=True)
def no_real_pyspy(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(pid: int, timeout_s: float = 5.0) -> StackDump:
        raise AssertionError("the UI tests must not run py-spy")

    monkeypatch.setattr(pyspy, "dump", refuse)


async def _wait_dump(pilot: object, screen: ProcessScreen) -> None:
    for _ in range(50):
        await pilot.pause()  # type: ignore[attr-defined]
        if not screen._dumping:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("dump never came back")


def _open_process(app: object, name: str) -> int:
    table = app.query_one(ProcessTable)  # type: ignore[attr-defined]
    pid = next(p.pid for p in app.frame.processes if p.name == name)  # type: ignore[attr-defined]
    table.set_filter(name)
    return int(pid)


def test_stacks_of_a_python_process_and_a_native_one() -> None:
    async def go() -> None:
        app, source = demo_app()
        async with app.run_test(size=(160, 50)) as pilot:
            source.push(6)
            await pilot.pause()
            pid = _open_process(app, "vllm-a")
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ProcessScreen) and screen.pid == pid
            await pilot.press("s")
            await _wait_dump(pilot, screen)
            panel = screen.query_one(StacksPanel)
            assert panel.display
            table = panel.query_one(DataTable)
            assert table.row_count == 16
            assert screen.stack_dump is not None and screen.stack_error is None
            assert {r.tid for r in panel.rows} == {pid + i for i in range(16)}
            assert all(r.python for r in panel.rows)
            detail = str(panel.query_one("#stacks-detail", Static).render())
            assert "thread" in detail and "(" in detail and ".py:" in detail
            status = str(panel.query_one("#stacks-status", Static).render())
            assert "dump paused the process for 12 ms" in status
            # the heatmap shows the detail view's process
            assert app.frame is not None
            p = app.frame.process(pid)
            assert p is not None
            heat = app.query_one(Heatmap)
            assert heat.running == frozenset(p.last_cpus)
            assert heat.allowed == frozenset(p.affinity or ())
            autos = []
            for _ in range(2):
                await pilot.press("S")
                autos.append(screen.stacks_auto)
            assert autos == [True, False]
            await pilot.press("escape")  # stacks → thread list
            assert not screen.stacks_shown and app.screen is screen
            await pilot.press("escape")
            await pilot.pause()
            assert len(app.screen_stack) == 1

            pid = _open_process(app, "llama-server")
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            screen2 = app.screen
            assert isinstance(screen2, ProcessScreen) and screen2.pid == pid
            await pilot.press("s")
            await _wait_dump(pilot, screen2)
            panel = screen2.query_one(StacksPanel)
            assert screen2.stack_error is not None and screen2.stack_error.reason == "not-python"
            status = str(panel.query_one("#stacks-status", Static).render())
            assert "not a Python process" in status
            assert panel.query_one(DataTable).row_count == 16
            assert not any(r.python for r in panel.rows)

    asyncio.run(go())
