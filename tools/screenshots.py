"""Regenerate screenshots/*.svg (and .png when rsvg-convert is present).

    .venv/bin/python tools/screenshots.py [--out screenshots]

The demo shots use the simulated machine on a fixed clock, so they only change
when the UI does; the live shot shows this machine as it is now.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot

from numaview.demo.machine import SimulatedSampler
from numaview.demo.pinner import SimulatedPinner
from numaview.sampler.sampler import Sampler
from numaview.stream.source import ManualSource
from numaview.tui.app import NumaviewApp, make_app


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def demo() -> tuple[NumaviewApp, ManualSource]:
    clock = Clock()
    sim = SimulatedSampler(seed=7, clock=clock, wall=lambda: 1764200000.0 + clock.now)
    source = ManualSource(sim, kind="simulated", advance=clock.advance)
    app = make_app(source)
    app.pinner = SimulatedPinner(sim)  # the simulation follows pins, as in `numaview demo`
    return app, source


async def shoot(
    out: Path,
    name: str,
    size: tuple[int, int],
    make: Callable[[], tuple[NumaviewApp, ManualSource]],
    steps: Callable[[NumaviewApp, ManualSource, Pilot[int]], Awaitable[None]] | None = None,
    frames: int = 40,
) -> Path:
    app, source = make()
    async with app.run_test(size=size) as pilot:
        source.push(frames)
        await pilot.pause()
        if steps is not None:
            await steps(app, source, pilot)
        await pilot.pause()
        path = out / f"{name}.svg"
        app.save_screenshot(path.name, str(out))
    return path


async def open_detail(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
    await pilot.press("enter")
    await pilot.pause()
    source.push()


async def open_help(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
    await pilot.press("question_mark")


async def pin_and_compare(app: NumaviewApp, source: ManualSource, pilot: Pilot[int]) -> None:
    """llama-server's memory moved to its threads' node (as its finding's dialog does), 36 s on."""
    from numaview.pinning.plan import node_target
    from numaview.stream.bundle import PinRequest

    app.monitor.submit(PinRequest(4121, node_target(source.topology, 1), move_memory=True))
    for _ in range(36):
        source.push()
        await pilot.pause()


_TEXT = re.compile(r"<text([^>]*)>([^<]*)</text>")


def _words(match: re.Match[str]) -> str:
    """One <text> run of a Textual SVG as one element per word, each at its own cell.

    Textual places each run at its first cell and relies on textLength and
    no-break spaces; librsvg honours neither (it drops leading spaces and uses its
    own font's advance), so columns drift and run together in the PNG. Placing
    every word at its cell makes the PNG show what the terminal shows.
    """
    attrs, body = match.groups()
    x = re.search(r' x="([\d.]+)"', attrs)
    length = re.search(r' textLength="([\d.]+)"', attrs)
    text = html.unescape(body)
    if x is None or length is None or not text:
        return match.group(0)
    x0, cell = float(x.group(1)), float(length.group(1)) / len(text)
    out = []
    for word in re.finditer(r"[^\s\xa0]+", text):
        a = attrs.replace(x.group(0), f' x="{x0 + word.start() * cell:.1f}"')
        a = a.replace(length.group(0), f' textLength="{len(word.group()) * cell:.1f}"')
        out.append(f"<text{a}>{html.escape(word.group(), quote=False)}</text>")
    return "".join(out)


def svg_to_png(svg: Path, png: Path, converter: str = "rsvg-convert") -> None:
    """Render a Textual screenshot as a PNG with librsvg, cell-exact (see _words)."""
    fixed = _TEXT.sub(_words, svg.read_text())
    with tempfile.NamedTemporaryFile("w", suffix=".svg") as tmp:
        tmp.write(fixed)
        tmp.flush()
        subprocess.run([converter, tmp.name, "-o", str(png)], check=True)


def live() -> tuple[NumaviewApp, ManualSource]:
    source = ManualSource(Sampler("/"), kind="live")
    source.push()
    time.sleep(1.0)
    return make_app(source), source


async def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return [
        await shoot(out, "demo-main", (160, 48), demo),
        await shoot(out, "demo-main-80x24", (80, 24), demo),
        await shoot(out, "demo-process-detail", (120, 40), demo, open_detail),
        await shoot(out, "help", (100, 36), demo, open_help),
        await shoot(out, "demo-before-after", (140, 44), demo, pin_and_compare),
        await shoot(out, "live-this-machine", (120, 36), live, frames=1),
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("screenshots"))
    args = ap.parse_args()
    paths = asyncio.run(main(args.out))
    converter = shutil.which("rsvg-convert")
    for p in paths:
        if converter:
            svg_to_png(p, p.with_suffix(".png"), converter)
        print(p)
