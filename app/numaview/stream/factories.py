"""The Monitors the commands and the tests run: live, demo, replay, or any given source.

What differs between them (who pins, who dumps stacks, whether the Monitor
runs its own thread) is decided here, in the data layer, so the UI never
asks which kind of source it was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from numaview.stream.monitor import Monitor
from numaview.stream.source import Dumper, FrameSource, ManualSource, SampledSource

if TYPE_CHECKING:  # what only a command that uses it loads (SQLite, HTTP, the sampler)
    from numaview.diagnose.findings import Thresholds
    from numaview.model.topology import Topology
    from numaview.pinning.apply import Pinner
    from numaview.record.reader import Reader
    from numaview.sampler.sampler import SamplerOptions
    from numaview.stacks.types import StackDump
    from numaview.stream.measure import Windows
    from numaview.workload.hub import WorkloadHub


def for_source(
    source: FrameSource,
    *,
    pinner: Pinner | None = None,
    dumper: Dumper | None = None,
    thresholds: Thresholds | None = None,
    threaded: bool | None = None,
    workload: WorkloadHub | None = None,
    windows: Windows | None = None,
) -> Monitor:
    """A Monitor over ``source``; a hand-driven source (tests) is processed inline."""
    if threaded is None:
        threaded = not isinstance(source, ManualSource)
    m = Monitor(
        source,
        pinner=pinner,
        dumper=dumper,
        thresholds=thresholds,
        threaded=threaded,
        workload=workload,
        windows=windows,
    )
    if m.dumper is None:
        m.dumper = _default_dumper(m)
    return m


def _default_dumper(m: Monitor) -> Dumper:
    from numaview.demo import stacks as demo_stacks
    from numaview.demo.machine import SimulatedSampler
    from numaview.record.replay import ReplaySource

    source = m.source
    if isinstance(source, ReplaySource):
        return demo_stacks.unavailable_dumper
    if isinstance(source, (SampledSource, ManualSource)) and isinstance(
        source.sampler, SimulatedSampler
    ):  # the demo's processes do not exist: made-up stacks for them
        return demo_stacks.simulated_dumper(
            lambda pid: m.frame.process(pid) if m.frame is not None else None
        )
    return pyspy_dump


def pyspy_dump(pid: int) -> StackDump:
    """py-spy's dump of ``pid``; the wrapper (subprocess, json) loads on the first ``s``."""
    from numaview.stacks.pyspy import dump

    return dump(pid)


def live(
    root: str,
    topology: Topology,
    options: SamplerOptions,
    interval_s: float,
    workload: WorkloadHub | None = None,
    windows: Windows | None = None,
) -> Monitor:
    """The dashboard on this machine: the real sampler, the real pinner, py-spy."""
    from numaview.pinning.apply import LivePinner
    from numaview.pinning.undo_store import UndoStore
    from numaview.sampler.sampler import Sampler

    source = SampledSource(Sampler(root, topology, options), interval_s, kind="live")
    # The same undo files as `numaview pin`: a pin made here can be undone there.
    pinner = LivePinner(root, store=UndoStore(root=root))
    return Monitor(source, pinner=pinner, dumper=pyspy_dump, workload=workload, windows=windows)


def demo(seed: int, interval_s: float, windows: Windows | None = None) -> Monitor:
    """The simulated machine, its pinner (the simulation follows pins) and made-up stacks."""
    from numaview.demo.machine import SimulatedSampler
    from numaview.demo.pinner import SimulatedPinner

    sim = SimulatedSampler(seed=seed)
    source = SampledSource(sim, interval_s, kind="simulated")
    return for_source(source, pinner=SimulatedPinner(sim), windows=windows)


def replay(reader: Reader, speed: float = 1.0, start: float | None = None) -> Monitor:
    """A recording: the recorded machine, no re-pinning, no stacks."""
    from numaview.record.replay import ReplaySource

    return for_source(ReplaySource(reader, speed=speed, start=start))
