"""A real, larger machine kept as a fixture: tests/data/h100-host.

Gathered with tools/gather_tree.py (and frames with tools/capture_frames.py) on a 16-CPU Intel Xeon (Sapphire Rapids
class) KVM guest with an H100, while 4 pinned busy processes ran; its lscpu -p,
numactl -H and numaview's own topology output there were kept beside it.
"""

from __future__ import annotations

import gzip
import json
import tarfile
from pathlib import Path

import pytest

from numaview.linux.sysfs import discover
from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.render.describe import render_tree
from tests.test_topology_real import check_lscpu, parse_lscpu

DATA = Path(__file__).parent / "data" / "h100-host"


@pytest.fixture(scope="module")
def h100_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("h100")
    with tarfile.open(DATA / "h100-host.tar.gz") as tar:
        tar.extractall(root, filter="tar")
    return root


def test_gathered_tree_agrees_with_lscpu_there(h100_root: Path) -> None:
    topo = discover(h100_root)
    check_lscpu(topo, parse_lscpu((DATA / "lscpu.txt").read_text()))
    assert len(topo.cpus) == 16 and topo.smt == 1
    assert topo.l3[0].size_bytes == 300 * 1024**2
    assert {c.size_bytes for c in topo.l2} == {2 * 1024**2}


def test_gathered_tree_gives_what_numaview_said_there(h100_root: Path) -> None:
    there = Topology.from_dict(json.loads((DATA / "topology.json").read_text()))
    here = discover(h100_root)
    for key in ("cpus", "nodes", "packages", "cores", "l3", "l2", "host"):
        assert getattr(here, key) == getattr(there, key), key
    assert here.allowed.cpus == there.allowed.cpus


def test_gathered_tree_renders_like_there(h100_root: Path) -> None:
    there = (DATA / "topology.txt").read_text().splitlines()
    here = render_tree(discover(h100_root)).splitlines()
    assert here[:5] == there[:5]  # machine, summary, package, node, L3 lines


def load_frames() -> tuple[Topology, list[Frame]]:
    with gzip.open(DATA / "h100-frames.jsonl.gz", "rt") as f:
        lines = f.read().splitlines()
    topo = Topology.from_dict(json.loads(lines[0])["topology"])
    return topo, [Frame.from_dict(json.loads(line)) for line in lines[1:]]


def test_frames_recorded_there_read_back_and_show_the_pinned_load() -> None:
    """tools/capture_frames.py --load 4 there: burners pinned to CPUs 0-3 and an 8-thread process."""
    topo, frames = load_frames()
    assert len(topo.cpus) == 16 and len(frames) >= 10
    last = frames[-1]
    for cpu in range(4):
        assert (last.cpus.value(cpu) or 0) >= 90
    burners = [
        p
        for p in last.processes
        if p.name == "python3" and p.affinity is not None and len(p.affinity) == 1
    ]
    assert all((p.cpu_pct or 0) >= 90 for p in burners)
    assert sorted(p.affinity[0] for p in burners) == [0, 1, 2, 3]  # type: ignore[index]
    for p in burners:
        assert p.last_cpus == p.affinity
    threaded = max(last.processes, key=lambda p: p.threads if p.name == "python3" else 0)
    assert threaded.threads == 9 and len(threaded.last_cpus) > 1
    assert all(f.errors == () for f in frames)
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
