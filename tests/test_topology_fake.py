"""Topology discovery on fake trees of every shape and quirk real servers show."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

from numaview.linux.sysfs import TopologyError, discover
from numaview.model.topology import Topology
from numaview.render.describe import render_tree
from tests.fakefs import FakeTree, Machine, Shape, build_machine


def partition(mapping: dict[int, int], only: list[int]) -> set[frozenset[int]]:
    groups: defaultdict[int, set[int]] = defaultdict(set)
    for cpu in only:
        groups[mapping[cpu]].add(cpu)
    return {frozenset(g) for g in groups.values()}


def check_against(m: Machine, topo: Topology) -> None:
    """Everything discovery says must agree with the shape the builder wrote."""
    assert [c.id for c in topo.cpus] == m.cpus
    assert list(topo.online_cpus) == m.online
    online = set(m.online)
    by_id = {c.id: c for c in topo.cpus}
    for cpu in m.online:
        c = by_id[cpu]
        assert c.online
        assert c.package == m.package_of[cpu]
        assert c.node == m.node_of[cpu]
        assert list(c.siblings) == [s for s in m.siblings_of[cpu] if s in online]
    for cpu in set(m.cpus) - online:
        c = by_id[cpu]
        assert not c.online
        assert c.core is None and c.l3 is None and c.siblings == ()
        assert c.node == m.node_of[cpu]  # from the cpuN/nodeM link
    # groupings: cores by siblings, L3 domains, packages, nodes (online CPUs only)
    assert {frozenset(k.cpus) for k in topo.cores} == partition(m.core_of, m.online)
    assert {frozenset(c.cpus) for c in topo.packages} == partition(m.package_of, m.online)
    if not m.shape.no_cache_at_all:
        assert {frozenset(c.cpus) for c in topo.l3} == partition(m.l3_of, m.online)
        for cache in topo.l3:
            assert cache.size_bytes == m.shape.l3_size
            assert all(by_id[x].l3 == cache.id for x in cache.cpus)
    node_cpus = {n.id: set(n.cpus) for n in topo.nodes}
    assert sorted(node_cpus) == m.node_ids
    for n in m.node_ids:
        assert node_cpus[n] == {c for c in m.online if m.node_of[c] == n}
    # every online CPU in exactly one core, and cores ordered by first CPU
    firsts = [k.cpus[0] for k in topo.cores]
    assert firsts == sorted(firsts)
    assert sum(len(k.cpus) for k in topo.cores) == len(m.online)


SHAPES = {
    "laptop-1x1x4xSMT2": Shape(packages=1, nodes_per_package=1, cores_per_l3=4, smt=2),
    "2s-4n-SMT2": Shape(),
    "smt1": Shape(smt=1),
    "smt4-power": Shape(packages=1, nodes_per_package=2, cores_per_l3=2, smt=4),
    "smt8-power": Shape(packages=2, nodes_per_package=1, cores_per_l3=2, smt=8),
    "adjacent-siblings": Shape(sibling_layout="adjacent"),
    "amd-nps4-many-l3": Shape(packages=2, nodes_per_package=4, l3_per_node=2, cores_per_l3=8),
    "intel-snc-l3-spans-nodes": Shape(packages=2, nodes_per_package=2, l3_per_package=True),
    "sparse-node-ids": Shape(packages=2, nodes_per_package=3, node_ids=[0, 1, 2, 5, 6, 7]),
    "hbm-cxl-memory-nodes": Shape(memory_only_nodes={4: 64 * 1024**3, 5: 256 * 1024**3}),
    "offline-cpu0-and-more": Shape(offline={0, 3, 17}),
    "whole-node-offline": Shape(offline=set(range(4, 8)) | set(range(20, 24))),
    "offline-keeps-topology": Shape(offline={5}, offline_keeps_topology=True),
    "masks-only-old-kernel": Shape(
        masks_only=True, packages=2, nodes_per_package=1, cores_per_l3=20
    ),
    "junk-and-nuls": Shape(junk=True),
    "core-id-repeats": Shape(core_id_repeats=True),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shapes(tmp_path: Path, name: str) -> None:
    m = build_machine(tmp_path, SHAPES[name])
    topo = discover(tmp_path)
    check_against(m, topo)
    assert topo.warnings == (), topo.warnings


def test_core_identity_is_the_sibling_set_not_core_id(tmp_path: Path) -> None:
    m = build_machine(tmp_path, Shape(packages=2, core_id_repeats=True))
    topo = discover(tmp_path)
    # core_id repeats across packages (0..7 in each), yet cores stay distinct
    assert len({c.core_id for c in topo.cores}) == m.total_cores // 2
    assert len(topo.cores) == m.total_cores


def test_siblings_that_disagree_with_core_id_win(tmp_path: Path) -> None:
    m = build_machine(tmp_path, Shape(packages=1, nodes_per_package=1, smt=2, cores_per_l3=4))
    t = FakeTree(tmp_path)
    # CPUs 0 and 1 claim the same core_id yet are not siblings: core_id must not merge them.
    t.write("sys/devices/system/cpu/cpu1/topology/core_id", "0")
    topo = discover(tmp_path)
    check_against(m, topo)


def test_asymmetric_sibling_lists_are_merged_with_a_warning(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(packages=1, nodes_per_package=1, smt=1, cores_per_l3=4))
    t = FakeTree(tmp_path)
    t.write("sys/devices/system/cpu/cpu0/topology/core_cpus_list", "0-1")
    topo = discover(tmp_path)
    assert topo.cpu(0) is not None and topo.cpu(0).siblings == (0, 1)  # type: ignore[union-attr]
    assert topo.cpu(1).siblings == (0, 1)  # type: ignore[union-attr]
    assert len(topo.cores) == 3
    assert any("disagree" in w and "0-1" in w for w in topo.warnings)


def test_distances_follow_sparse_node_ids(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(packages=2, nodes_per_package=3, node_ids=[0, 1, 2, 5, 6, 7]))
    topo = discover(tmp_path)
    n5 = topo.node(5)
    assert n5 is not None and n5.distances is not None
    assert sorted(n5.distances) == [0, 1, 2, 5, 6, 7]
    assert n5.distances[5] == 10
    assert n5.distances[6] == 12  # same package
    assert n5.distances[0] == 32  # other package
    d = topo.to_dict()
    assert d["nodes"][3]["distances"] == {"0": 32, "1": 32, "2": 32, "5": 10, "6": 12, "7": 12}


def test_memory_only_nodes(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(memory_only_nodes={4: 64 * 1024**3}))
    topo = discover(tmp_path)
    hbm = topo.node(4)
    assert hbm is not None and hbm.memory_only and hbm.cpus == ()
    assert hbm.mem_total_bytes == 64 * 1024**3
    assert all(c.node != 4 for c in topo.cpus)
    assert "Node 4: 64 GiB, memory only" in render_tree(topo)


def test_whole_offline_node_is_not_memory_only(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(offline=set(range(4, 8)) | set(range(20, 24))))
    topo = discover(tmp_path)
    node1 = topo.node(1)
    assert node1 is not None
    assert node1.cpus == () and node1.offline_cpus == (4, 5, 6, 7, 20, 21, 22, 23)
    assert not node1.memory_only
    assert "all CPUs offline (4-7,20-23)" in render_tree(topo)


def test_offline_cpus_only_in_cpus_list(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(offline={0, 9}))
    d = discover(tmp_path).to_dict()
    offline = [c for c in d["cpus"] if not c["online"]]
    assert [c["id"] for c in offline] == [0, 9]
    for key in ("nodes", "packages", "cores", "l3", "l2"):
        for item in d[key]:
            assert 0 not in item["cpus"] and 9 not in item["cpus"], key


def test_json_has_the_documented_keys_and_shapes(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape())
    d = json.loads(json.dumps(discover(tmp_path).to_dict()))
    cpu = d["cpus"][0]
    assert {"id", "online", "package", "core", "node", "l3", "siblings"} <= set(cpu)
    assert cpu == {**cpu, "id": 0, "online": True, "package": 0, "node": 0, "l3": 0}
    assert cpu["siblings"] == [0, 16]
    node = d["nodes"][0]
    assert {"id", "cpus", "mem_total_bytes", "distances"} <= set(node)
    assert node["mem_total_bytes"] == 16 * 1024**3
    assert node["distances"] == {"0": 10, "1": 12, "2": 32, "3": 32}
    assert d["packages"][1]["cpus"] == [*range(8, 16), *range(24, 32)]
    assert d["cores"][0] == {**d["cores"][0], "id": 0, "package": 0, "cpus": [0, 16]}
    assert d["l3"][0]["size_bytes"] == 32 * 1024**2
    assert d["warnings"] == []


def test_round_trip_through_dict(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(memory_only_nodes={9: 1024**3}, offline={3}))
    topo = discover(tmp_path)
    again = Topology.from_dict(json.loads(json.dumps(topo.to_dict())))
    assert again == topo


def test_from_dict_refuses_newer_format() -> None:
    with pytest.raises(ValueError, match="newer"):
        Topology.from_dict(
            {"format": 99, "cpus": [], "nodes": [], "packages": [], "cores": [], "l3": []}
        )
    with pytest.raises(ValueError, match="malformed"):
        Topology.from_dict({"cpus": [{"no": "id"}]})


def test_hybrid_kinds_from_intel_pmus(tmp_path: Path) -> None:
    kinds = {c: "core" for c in range(0, 4)} | {c: "core" for c in range(8, 12)}
    kinds |= {c: "atom" for c in (4, 5, 6, 7)}
    build_machine(
        tmp_path, Shape(packages=1, nodes_per_package=1, cores_per_l3=8, smt=1, kinds=kinds)
    )
    topo = discover(tmp_path)
    assert topo.cpu(0).kind == "performance"  # type: ignore[union-attr]
    assert topo.cpu(5).kind == "efficiency"  # type: ignore[union-attr]
    assert topo.cores[5].kind == "efficiency"
    assert "4 efficiency + 4 performance" in render_tree(topo)


def test_arm_capacity_gives_kinds(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(packages=1, nodes_per_package=1, cores_per_l3=4, smt=1))
    t = FakeTree(tmp_path)
    for c, cap in enumerate([1024, 1024, 446, 446]):
        t.write(f"sys/devices/system/cpu/cpu{c}/cpu_capacity", str(cap))
    topo = discover(tmp_path)
    assert [c.kind for c in topo.cpus] == ["performance", "performance", "efficiency", "efficiency"]
    assert [c.capacity for c in topo.cpus] == [1024, 1024, 446, 446]


def test_missing_cache_dirs_on_some_cpus(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(no_cache={2, 18}, sibling_layout="adjacent", packages=1, smt=1))
    topo = discover(tmp_path)
    # CPU 2 has no cache dir but shares CPU 0's L3, whose shared_cpu_list names it
    assert topo.cpu(2).l3 == topo.cpu(0).l3  # type: ignore[union-attr]
    assert topo.cpu(2).l2 is None  # type: ignore[union-attr]
    assert any(w.startswith("CPU 2:") and "no cache directory" in w for w in topo.warnings), (
        topo.warnings
    )


def test_no_cache_dirs_at_all(tmp_path: Path) -> None:
    m = build_machine(tmp_path, Shape(no_cache_at_all=True))
    topo = discover(tmp_path)
    check_against(m, topo)
    assert topo.l3 == () and topo.l2 == ()
    assert all(c.l3 is None for c in topo.cpus)
    assert topo.warnings == ("no cache information in sysfs (cpu*/cache missing): L2/L3 unknown",)
    assert topo.to_dict()["cpus"][0]["l3"] is None


def test_malformed_files_degrade_to_null_with_warnings(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(packages=1, nodes_per_package=2, smt=1))
    t = FakeTree(tmp_path)
    cpu = "sys/devices/system/cpu"
    node = "sys/devices/system/node"
    t.write(f"{cpu}/cpu1/topology/physical_package_id", "garbage")
    t.write(f"{cpu}/cpu2/topology/core_cpus_list", "2-x")
    t.remove(f"{cpu}/cpu2/topology/thread_siblings_list")
    t.remove(f"{cpu}/cpu2/topology/thread_siblings")
    t.write(f"{node}/node1/distance", "10 20 30")
    t.remove(f"{node}/node0/meminfo")
    t.write(f"{cpu}/cpu0/cache/index3/shared_cpu_list", "@@")
    topo = discover(tmp_path)
    assert topo.cpu(1).package is None  # type: ignore[union-attr]
    assert topo.cpu(2).siblings == (2,)  # type: ignore[union-attr]
    assert topo.node(1).distances is None  # type: ignore[union-attr]
    assert topo.node(0).mem_total_bytes is None  # type: ignore[union-attr]
    joined = "\n".join(topo.warnings)
    assert "CPU 1: malformed topology/physical_package_id ('garbage')" in joined
    assert "CPU 2: malformed core_cpus_list" in joined
    assert "node1/distance: 3 values for 2 nodes" in joined
    assert "node0/meminfo: missing" in joined
    assert "CPU 0: malformed cache/index3/shared_cpu_list" in joined
    # CPU 1's list names CPU 0, so CPU 0 still lands in the right L3 domain
    assert topo.cpu(0).l3 == topo.cpu(1).l3 == 0  # type: ignore[union-attr]
    render_tree(topo)  # renders with unknowns, no exception


def test_per_cpu_warnings_fold_into_one_line(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(packages=2, nodes_per_package=2, cores_per_l3=16))
    for c in range(0, 128):
        (tmp_path / f"sys/devices/system/cpu/cpu{c}/topology/core_id").unlink()
    topo = discover(tmp_path)
    assert topo.warnings == ("CPUs 0-127: no topology/core_id file",)


def test_no_numa_in_sysfs_gives_one_node(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(packages=1, nodes_per_package=1, smt=1))
    FakeTree(tmp_path).remove("sys/devices/system/node")
    topo = discover(tmp_path)
    assert [n.id for n in topo.nodes] == [0]
    assert topo.nodes[0].cpus == topo.online_cpus
    assert topo.nodes[0].mem_total_bytes == 16 * 1024**3
    assert any("treating the machine as one node" in w for w in topo.warnings)


def test_no_cpu_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="no CPU information"):
        discover(tmp_path)


def test_empty_cpu_dir_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "sys/devices/system/cpu").mkdir(parents=True)
    with pytest.raises(TopologyError, match="no CPUs found"):
        discover(tmp_path)


@pytest.mark.parametrize("version", [1, 2])
def test_cgroup_cpuset(tmp_path: Path, version: int) -> None:
    build_machine(
        tmp_path,
        Shape(
            cgroup="/kubepods/pod1",
            cgroup_version=version,
            cgroup_cpus=[2, 3, 18, 19],
            cpus_allowed=[2, 3],
        ),
    )
    a = discover(tmp_path).allowed
    assert a.cgroup == "/kubepods/pod1"
    assert a.cgroup_cpus == (2, 3, 18, 19)
    assert a.cpus == (2, 3)
    assert a.mems == (0, 1, 2, 3)


def test_cgroup_v2_walks_up_to_the_nearest_cpuset(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(cgroup="/", cgroup_cpus=[0, 1]))
    FakeTree(tmp_path).write("proc/self/cgroup", "0::/user.slice/session-1.scope\n")
    a = discover(tmp_path).allowed
    assert a.cgroup == "/user.slice/session-1.scope"
    assert a.cgroup_cpus == (0, 1)


def test_tree_is_compact_on_1024_cpus(big_machine: Machine) -> None:
    m = big_machine
    assert len(m.cpus) == 1024
    topo = discover(m.root)
    check_against(m, topo)
    assert len(topo.nodes) == 16 and len(topo.l3) == 64
    text = render_tree(topo)
    lines = text.splitlines()
    assert len(lines) < 8 + 16 + 64 + 40  # packages + nodes + L3 + header/distances
    assert "  Package 7: CPUs 448-511,960-1023" in lines
    assert any(line.strip().startswith("L3 63 (32 MiB): CPUs 504-511,1016-1023") for line in lines)
    assert max(len(line) for line in lines) < 160


def test_tree_shows_l3_shared_across_snc_nodes(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(packages=1, nodes_per_package=2, l3_per_package=True, smt=1))
    text = render_tree(discover(tmp_path))
    assert "L3 0 (32 MiB) shared with node 1: CPUs 0-3" in text
    assert "L3 0 (32 MiB) shared with node 0: CPUs 4-7" in text
