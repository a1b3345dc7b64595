"""Dividing a fake 2-socket machine between several processes: model/partition.py.

The tree: 2 packages, one node each, two L3 domains per node, 4 cores per L3,
SMT2, 32 CPUs numbered the x86 way (CPU c and c + 16 are siblings):

    node 0: L3 0 = cores 0-3 (CPUs 0-3,16-19), L3 1 = cores 4-7 (CPUs 4-7,20-23)
    node 1: L3 2 = cores 8-11 (CPUs 8-11,24-27), L3 3 = cores 12-15 (CPUs 12-15,28-31)
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from numaview.linux.sysfs import discover
from numaview.model.partition import Member, Partition, PartitionError, partition
from numaview.model.topology import Topology
from numaview.pinning.group import moves_of, refusals
from numaview.render.partition import colour_slots, plan_text
from tests.fakefs import Shape, build_machine

GIB = 1024**3
SHAPE = Shape(packages=2, nodes_per_package=1, l3_per_node=2, cores_per_l3=4, smt=2)
NODE0 = (*range(8), *range(16, 24))
NODE1 = (*range(8, 16), *range(24, 32))


@pytest.fixture(scope="module")
def topo(tmp_path_factory: pytest.TempPathFactory) -> Topology:
    return discover(build_machine(tmp_path_factory.mktemp("2s-4l3"), SHAPE).root)


def replicas(n: int = 4, node: int = 0, gib: Sequence[int] = (4, 3, 2, 1)) -> list[Member]:
    """``n`` busy replicas all on one node, their memory there (the biggest first)."""
    cpus = NODE0 if node == 0 else NODE1
    return [
        Member(100 + i, 10.0, f"replica-{i}", 300.0, 3, {node: gib[i] * GIB}, cpus)
        for i in range(n)
    ]


def check_whole_cores(topo: Topology, part: Partition) -> None:
    """No two processes share a core (or a CPU), and no share is empty."""
    owner: dict[int, int] = {}
    for s in part.shares:
        assert s.cpus
        for c in s.cpus:
            assert c not in owner, f"CPU {c} given twice"
            owner[c] = s.pid
    for core in topo.cores:
        assert len({owner.get(c) for c in core.cpus}) == 1, f"core {core.cpus} split"


def test_the_tree_is_what_the_tests_assume(topo: Topology) -> None:
    assert [n.cpus for n in topo.nodes] == [NODE0, NODE1]
    assert [c.cpus for c in topo.l3][:2] == [
        (*range(4), *range(16, 20)),
        (*range(4, 8), *range(20, 24)),
    ]
    assert topo.smt == 2 and len(topo.cores) == 16


def test_four_replicas_on_one_node_one_per_node_uses_whole_cores(topo: Topology) -> None:
    part = partition(topo, replicas(), "node")
    check_whole_cores(topo, part)
    assert part.ok and len(part.moves) == 4
    on = {s.pid: s.nodes for s in part.shares}
    # the two with the most memory stay where it is (node 0); the two smaller move
    assert on == {100: (0,), 101: (0,), 102: (1,), 103: (1,)}
    assert all(s.n_cores == 4 and len(s.cpus) == 8 for s in part.shares)
    assert {s.label for s in part.shares} == {"4 cores of node 0", "4 cores of node 1"}
    # each half of a node is one L3 domain: the cores split along the domains
    l3 = [set(c.cpus) for c in topo.l3]
    assert all(any(set(s.cpus) == d for d in l3) for s in part.shares)
    # memory stays unless asked: the movers' memory is left remote, and says how much
    assert [s.off_bytes for s in part.shares] == [0, 0, 2 * GIB, 1 * GIB]
    assert not any(s.move_memory for s in part.shares)


def test_four_replicas_one_per_l3_domain(topo: Topology) -> None:
    part = partition(topo, replicas(), "l3", move_memory=True)
    check_whole_cores(topo, part)
    got = {s.pid: s.domain for s in part.shares}
    assert sorted(got.values()) == ["L3 0", "L3 1", "L3 2", "L3 3"]
    assert {got[100], got[101]} == {"L3 0", "L3 1"}  # the big memories stay on node 0
    assert all(s.whole and len(s.cpus) == 8 for s in part.shares)
    assert [m.move_memory for m in moves_of(part)] == [False, False, True, True]
    text = plan_text(part, None, topo)
    assert text.splitlines()[0] == "plan: one L3 domain each, memory moved along"
    assert "moves 2 GiB" in text and "already local" in text


def test_package_and_equal_shares(topo: Topology) -> None:
    by_package = partition(topo, replicas(), "package")
    check_whole_cores(topo, by_package)
    assert {s.domain for s in by_package.shares} == {"package 0", "package 1"}
    equal = partition(topo, replicas(4), "cores")
    check_whole_cores(topo, equal)
    assert [s.n_cores for s in equal.shares] == [4, 4, 4, 4]
    assert all(len(s.nodes) == 1 for s in equal.shares)  # each inside one node
    three = partition(topo, replicas(3), "cores")
    check_whole_cores(topo, three)
    # 16 cores / 3 = 5 each, one left free; two fit in a node, the third cannot
    assert [s.n_cores for s in three.shares] == [5, 5, 5]
    assert sorted(len(s.nodes) for s in three.shares) == [1, 1, 2]


def test_housekeeping_cores_stay_free(topo: Topology) -> None:
    for n, kept in ((1, (0, 16)), (2, (0, 1, 16, 17))):
        part = partition(topo, replicas(), "node", housekeeping=n)
        check_whole_cores(topo, part)
        assert part.housekeeping == kept
        assert not set(kept) & {c for s in part.shares for c in s.cpus}
        assert f"CPUs {','.join(map(str, kept)) if n == 1 else '0-1,16-17'} kept free" in part.label
    part = partition(topo, replicas(2), "cores", housekeeping=2)
    assert [s.n_cores for s in part.shares] == [7, 7]  # 14 cores left, equal


def test_a_cpuset_that_forbids_the_target_refuses_the_plan(topo: Topology) -> None:
    # both may only use node 0: one of them must go to node 1, and may not
    members = [
        Member(m.pid, m.start_time, m.name, m.cpu_pct, 3, m.mem_by_node, m.affinity, NODE0)
        for m in replicas(2)
    ]
    part = partition(topo, members, "node")
    assert not part.ok
    [r] = part.refused
    assert r.pid == 101  # the smaller memory was the one to move
    assert r.reason == (
        "its cgroup cpuset allows CPUs 0-7,16-23 only; node 1 (CPUs 8-15,24-31) is outside it"
    )
    assert refusals(part) == f"pid 101 (replica-1): {r.reason}"
    # one whose cpuset allows both nodes makes room: the confined one chooses first
    members[0] = Member(100, 10.0, "replica-0", 300.0, 3, {0: 4 * GIB}, NODE0, None)
    part = partition(topo, members, "node")
    assert part.ok and part.share(101).nodes == (0,) and part.share(100).nodes == (1,)  # type: ignore[union-attr]


def test_fewer_processes_than_domains_keep_their_memory_node(topo: Topology) -> None:
    a = Member(1, 1.0, "a", 200.0, 2, {1: 8 * GIB}, None)
    b = Member(2, 1.0, "b", 200.0, 2, {0: 1 * GIB}, None)
    part = partition(topo, [a, b], "l3")
    assert part.share(1).nodes == (1,) and part.share(2).nodes == (0,)  # type: ignore[union-attr]
    assert colour_slots(part)[8] == 0 and colour_slots(part)[0] == 1


def test_a_process_already_there_is_not_moved(topo: Topology) -> None:
    l3_0 = tuple(sorted(topo.l3[0].cpus))
    a = Member(1, 1.0, "a", 200.0, 2, {0: 8 * GIB}, l3_0)
    b = Member(2, 1.0, "b", 200.0, 2, {0: 1 * GIB}, l3_0)
    part = partition(topo, [a, b], "l3")
    assert part.share(1).stays and [m.pid for m in moves_of(part)] == [2]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("members", "strategy", "kwargs", "message"),
    [
        (17, "cores", {}, "17 processes and 16 whole cores: each needs one at least"),
        (
            2,
            "cores",
            {"housekeeping": 16},
            "16 housekeeping cores leave none of the 16 cores to share",
        ),
        (2, "nodes", {}, "no strategy 'nodes' (one of: node, l3, package, cores)"),
        (0, "node", {}, "no processes to divide the machine between"),
    ],
)
def test_impossible_partitions_say_why(
    topo: Topology, members: int, strategy: str, kwargs: dict[str, int], message: str
) -> None:
    ms = [Member(i + 1, 1.0, f"p{i}", 100.0) for i in range(members)]
    with pytest.raises(PartitionError) as err:
        partition(topo, ms, strategy, **kwargs)  # type: ignore[arg-type]
    assert str(err.value) == message


def test_no_l3_information_says_so(tmp_path_factory: pytest.TempPathFactory) -> None:
    bare = discover(
        build_machine(tmp_path_factory.mktemp("nocache"), Shape(no_cache_at_all=True)).root
    )
    with pytest.raises(PartitionError, match="no L3 information on this machine"):
        partition(bare, [Member(1, 1.0, "a"), Member(2, 1.0, "b")], "l3")
    assert partition(bare, [Member(1, 1.0, "a"), Member(2, 1.0, "b")], "node").ok
