"""The simulated machine: deterministic, shaped as documented, responsive to re-pins."""

from __future__ import annotations

from numaview.demo.machine import SimulatedSampler
from numaview.model.frame import Frame
from tests.fakefs import FakeClock


def run(seconds: int, seed: int = 7) -> tuple[SimulatedSampler, list[Frame]]:
    clock = FakeClock(0.0)
    sim = SimulatedSampler(seed=seed, clock=clock, wall=lambda: 1764200000.0 + clock.now)
    frames = []
    for _ in range(seconds):
        frames.append(sim.sample())
        clock.advance(1.0)
    return sim, frames


def test_topology_is_2_packages_4_nodes_128_cpus_smt2() -> None:
    topo = SimulatedSampler().topology
    assert len(topo.cpus) == 128 and len(topo.nodes) == 4 and len(topo.packages) == 2
    assert topo.smt == 2 and len(topo.l3) == 8
    assert topo.cpu(0).siblings == (0, 64)  # type: ignore[union-attr]
    assert topo.node(1).cpus == (*range(16, 32), *range(80, 96))  # type: ignore[union-attr]


def test_same_seed_same_frames() -> None:
    _, a = run(6)
    _, b = run(6)
    assert [f.to_dict() for f in a] == [f.to_dict() for f in b]
    _, c = run(6, seed=8)
    assert [f.to_dict() for f in a] != [f.to_dict() for f in c]


def test_scenario_leaks_are_visible_in_frames() -> None:
    _, frames = run(8)
    f = frames[-1]
    llama = f.process(4121)
    assert llama is not None and llama.nodes_running == (1,)
    assert llama.mem_by_node_bytes is not None
    assert llama.mem_by_node_bytes[0] > 9 * llama.mem_by_node_bytes[1]  # memory on node 0
    a, b = f.process(5200), f.process(5300)
    assert a is not None and b is not None and a.affinity == b.affinity
    assert (a.ctx_involuntary_per_s or 0) > 1000  # oversubscribed
    n3 = f.node(3)
    assert n3 is not None and (n3.busy_pct or 0) < 10  # the idle node
    n0 = f.node(0)
    assert n0 is not None and (n0.mem_free_bytes or 0) < 0.05 * (n0.mem_total_bytes or 1)
    assert frames[0].cpus.value(16) is None  # first frame: no rates yet


def test_repin_moves_threads_and_memory() -> None:
    sim, _ = run(3)
    node0 = sim.topology.node(0).cpus  # type: ignore[union-attr]
    sim.set_affinity(4121, node0, move_memory=False)
    f = sim.sample()
    p = f.process(4121)
    assert p is not None and p.nodes_running == (0,) and p.affinity == node0
    node1 = sim.topology.node(1).cpus  # type: ignore[union-attr]
    sim.set_affinity(4121, node1, move_memory=True)
    for _ in range(8):
        f = sim.sample()
    p = f.process(4121)
    assert p is not None and p.mem_by_node_bytes is not None
    assert p.mem_by_node_bytes.get(1, 0) > 0.9 * (p.rss_bytes or 1)
