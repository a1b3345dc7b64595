"""The header and the node panel as drawn: whole fields, separated values, aligned bars."""

from __future__ import annotations

import asyncio
import re

import pytest
from textual.pilot import Pilot

from numaview.tui.app import NumaviewApp
from numaview.tui.widgets.header import SEP, Field, HeaderBar, fit_fields
from numaview.tui.widgets.nodes import NodePanel
from tests.tui_harness import demo_app

BADGES = [Field((" numaview ",), (), badge=True), Field((" ● LIVE ",), (), badge=True)]
INFO = [
    Field(("db1.example.com", "db1"), (12, 20)),
    Field(("Linux 6.8.0-31-generic",), (10,)),
    Field(("128 CPUs",), (40,)),
    Field(("4 nodes",), (35,)),
    Field(("SMT2",), (15,)),
    Field(("every 1s",), (80,)),
    Field(("numaview 0.3% CPU", "self 0.3%"), (60, 70)),
]


def joined(parts: list[tuple[Field, str]]) -> str:
    out, after_badge = "", True
    for f, text in parts:
        out += text if f.badge else (" " if after_badge else SEP) + text
        after_badge = f.badge
    return out


def test_fields_go_least_important_first_and_whole() -> None:
    full = joined(fit_fields(BADGES + INFO, 200))
    assert "Linux 6.8.0-31-generic" in full and "db1.example.com" in full
    assert len(full) == 118
    # one cell short: the kernel goes, nothing else
    text = joined(fit_fields(BADGES + INFO, 117))
    assert "Linux" not in text and "db1.example.com" in text and "SMT2" in text
    # then the host's domain, SMT, the host, nodes, CPUs
    assert "db1 · 128 CPUs · 4 nodes · every" in joined(fit_fields(BADGES + INFO, 80))
    widths_and_gone = [(80, "SMT2"), (70, "db1"), (60, "4 nodes"), (52, "128 CPUs")]
    for width, gone in widths_and_gone:
        text = joined(fit_fields(BADGES + INFO, width))
        assert gone not in text and len(text) <= width, (width, text)
        assert "every 1s" in text and "numaview 0.3% CPU" in text, (width, text)
    # the last resorts: numaview's CPU in its short form; the interval stays longest
    assert joined(fit_fields(BADGES + INFO, 45)).endswith(" every 1s · self 0.3%")
    assert joined(fit_fields(BADGES + INFO, 38)).endswith("LIVE  every 1s")
    assert joined(fit_fields(BADGES + INFO, 20)) == " numaview  ● LIVE "  # badges stay


@pytest.mark.parametrize("width", [20, 38, 52, 64, 80, 104, 200])
def test_no_field_is_ever_cut(width: int) -> None:
    text = joined(fit_fields(BADGES + INFO, width))
    pieces = text[len(" numaview  ● LIVE ") :].strip().split(SEP) if len(text) > 18 else []
    forms = {form for f in INFO for form in f.forms}
    assert all(p in forms for p in pieces if p), (width, text)


def run(check: object, size: tuple[int, int], frames: int = 6) -> None:
    async def main() -> None:
        app, source = demo_app()
        async with app.run_test(size=size) as pilot:
            source.push(frames)
            await pilot.pause()
            await check(app, pilot)  # type: ignore[operator]

    asyncio.run(main())


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
def test_header_keeps_interval_and_own_cpu(size: tuple[int, int]) -> None:
    async def check(app: NumaviewApp, pilot: Pilot[int]) -> None:
        header = app.query_one(HeaderBar)
        text = header.render_line(0).text.rstrip()
        assert len(text) <= size[0]
        assert "every 1s" in text and "numaview 0.3% CPU" in text, text
        assert "SIMULATED" in text and "LIVE" in text
        assert ("Linux 6.8.0-simulated" in text) == (size[0] >= 150), text
        assert not text.endswith(("·", " ")), text
        header.set_note("● REC run.nvrec 12 s")
        await pilot.pause()
        assert header.render_line(0).text.rstrip().endswith("· ● REC run.nvrec 12 s")

    run(check, size)


RATE = re.compile(r"/s(\S)")


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
def test_node_lines_keep_their_spaces_and_bars_line_up(size: tuple[int, int]) -> None:
    async def check(app: NumaviewApp, pilot: Pilot[int]) -> None:
        panel = app.query_one(NodePanel)
        lines = [panel.render_line(y).text for y in range(panel.size.height)]
        assert lines and all(RATE.search(line) is None for line in lines), lines
        memory = [line for line in lines if line.startswith("N")]
        assert len(memory) == 4
        # every node's numbers start at the same cell, so the bars have one length
        assert len({line.index("/") for line in memory}) == 1, memory
        assert len({line.index(" free ") for line in memory}) == 1, memory
        if panel.compact:
            assert len({line.index(" miss ") for line in memory}) == 1, memory
            assert all(re.search(r"rem +\S+/s miss +\S+/s$", line.rstrip()) for line in memory)
        else:
            rates = [line for line in lines if "local" in line]
            assert len({line.index(" remote ") for line in rates}) == 1, rates
            assert len({line.index(" miss ") for line in rates}) == 1, rates

    run(check, size)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_footer_drops_the_palette_hint_when_narrow(size: tuple[int, int]) -> None:
    """Docked right, the hint covered the last keys at 80 columns (and read "palett e")."""

    async def check(app: NumaviewApp, pilot: Pilot[int]) -> None:
        hints = list(app.screen.query("FooterKey.-command-palette"))
        assert len(hints) == 1
        assert hints[0].styles.display == ("none" if size[0] < 110 else "block")
        keys = [k for k in app.screen.query("FooterKey") if k not in hints]
        assert keys and all(k.region.width > 0 for k in keys[:6])
        assert keys[0].region.x == 0 and (size[0] >= 110 or keys[0].region.width == 6)

    run(check, size)
