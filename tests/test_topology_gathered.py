"""A real, larger machine kept as a fixture: tests/data/h100-host.

Gathered with tools/gather_tree.py on a 16-CPU Intel Xeon (Sapphire Rapids
class) KVM guest with an H100, while 4 pinned busy processes ran; its lscpu -p,
numactl -H and numaview's own topology output there were kept beside it.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from numaview.model.describe import render_tree
from numaview.model.topology import Topology
from numaview.sampler.sysfs import discover
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
