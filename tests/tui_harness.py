"""Helpers for UI tests: a deterministic app on the simulated machine, driven by hand."""

from __future__ import annotations

from numaview.demo.machine import SimulatedSampler
from numaview.demo.pinner import SimulatedPinner
from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.stream.source import ManualSource
from numaview.tui.app import NumaviewApp, make_app
from tests.fakefs import FakeClock

WALL0 = 1764200000.0  # a fixed wall clock: screenshots do not change from run to run


def demo_app(seed: int = 7, charts: bool | None = None) -> tuple[NumaviewApp, ManualSource]:
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=seed, clock=clock, wall=lambda: WALL0 + clock.now)
    source = ManualSource(sim, kind="simulated", advance=clock.advance)
    pinner = SimulatedPinner(sim, clock=lambda: WALL0 + clock.now)
    return make_app(source, charts=charts, pinner=pinner), source


class _Idle:
    """A sampler that never samples: for layout tests of a given topology."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology

    def sample(self) -> Frame:
        raise AssertionError("not sampled in layout tests")

    def reread(self, pid: int) -> None:
        raise AssertionError("not sampled in layout tests")


def topology_app(topology: Topology) -> NumaviewApp:
    return make_app(ManualSource(_Idle(topology), kind="live"))
