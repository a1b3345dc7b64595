"""SVG snapshots of the main screens at three terminal sizes, on the simulated machine.

The simulation runs on a fixed clock and seed, so the pictures only change
when the UI does. After a deliberate UI change: ``./dev test tests/test_tui_snapshots.py
--snapshot-update``, then look at the new SVGs before committing them (a browser
shows them as a terminal would; for a PNG use ``tools/screenshots.py``'s
``svg_to_png``: plain rsvg-convert drops the SVG's spaces and misaligns columns).

The demo's table has the values that once broke alignment (llama-server at
1482.6 % CPU, 5-digit PIDs next to 3-digit ones, unknown MEM/NODE): every
column must start at one cell on every line, at every size.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.tui_harness import demo_app


@pytest.mark.parametrize(
    "size", [(80, 24), (120, 40), (200, 60)], ids=["80x24", "120x40", "200x60"]
)
def test_main_screen(snap_compare, size: tuple[int, int]) -> None:
    app, source = demo_app(charts=size[0] >= 150)

    async def before(pilot: Pilot[int]) -> None:
        source.push(40)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=before)


def test_process_detail(snap_compare) -> None:
    app, source = demo_app()

    async def before(pilot: Pilot[int]) -> None:
        source.push(10)
        await pilot.pause()
        await pilot.press("enter")
        source.push()
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=before)


def test_thread_rows(snap_compare) -> None:
    """htop's H: one row per thread, in the same columns."""
    app, source = demo_app()

    async def before(pilot: Pilot[int]) -> None:
        source.push(10)
        await pilot.pause()
        await pilot.press("H")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=before)


def test_help(snap_compare) -> None:
    app, source = demo_app()

    async def before(pilot: Pilot[int]) -> None:
        source.push(2)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 36), run_before=before)
