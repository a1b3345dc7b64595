"""LivePinner against real processes, with the kernel's own /proc as the judge.

Failures the kernel will not produce on demand (a process exiting between two
threads, EPERM, EINVAL on the third thread) come from a Syscalls that fails
on cue and otherwise makes the real calls, on a real process: so "nothing
changed" is read back from /proc, not taken from the pinner. Several nodes
cannot be had on this machine: those cases run on a fake /proc tree.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from numaview.linux.sysfs import discover
from numaview.model.topology import Topology
from numaview.pinning.apply import LivePinner, Syscalls
from numaview.pinning.plan import PinError, cpus_target, node_target, undo_target
from tests.pin_helpers import (
    MIB,
    PID,
    Child,
    FakeKernel,
    cpus_allowed,
    four_node_machine,
    read_pages,
    start_child,
    thread_masks,
    two_cpus,
)

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(not two_cpus(), reason="needs CPUs 0 and 1"),
]

# (call number, tid, cpus) -> an exception to raise, other CPUs to set instead, or None
Fail = Callable[[int, int, set[int]], BaseException | set[int] | None]


class Cued(Syscalls):
    """The real calls, except where ``fail`` says otherwise; every call is recorded."""

    def __init__(self, fail: Fail | None = None) -> None:
        self.fail = fail
        self.sets: list[tuple[int, set[int]]] = []
        self.migrations: list[tuple[int, set[int], set[int]]] = []

    def setaffinity(self, tid: int, cpus: set[int]) -> None:
        self.sets.append((tid, set(cpus)))
        cue = self.fail(len(self.sets), tid, cpus) if self.fail else None
        if isinstance(cue, BaseException):
            raise cue
        super().setaffinity(tid, cpus if cue is None else cue)

    def migrate_pages(self, pid: int, old_nodes: set[int], new_nodes: set[int]) -> int:
        self.migrations.append((pid, old_nodes, new_nodes))
        return 0


@pytest.fixture(scope="module")
def topo() -> Topology:
    return discover("/")


@pytest.fixture
def child() -> Iterator[Child]:
    c = start_child()
    yield c
    c.stop()


def original(c: Child) -> dict[int, str]:
    return {tid: ("0" if tid == c.own else "0-1") for tid in c.tids}


def comm(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


# -- the pin itself ----------------------------------------------------------------


def test_every_thread_pinned_new_threads_inherit_and_undo_is_exact(
    child: Child, topo: Topology
) -> None:
    assert thread_masks(child.pid) == original(child)
    pinner = LivePinner()
    event = pinner.apply(child.pid, cpus_target(topo, "1"))
    assert thread_masks(child.pid) == dict.fromkeys(child.tids, "1")
    assert sorted(t.tid for t in event.threads) == sorted(child.tids)
    assert {t.tid: t.before for t in event.threads}[child.own] == (0,)
    assert event.summary() == f"moved pid {child.pid} ({comm(child.pid)}), 4 threads, to CPUs 1"

    born = child.spawn()  # created by the (pinned) main thread: they inherit CPU 1
    masks = thread_masks(child.pid)
    assert len(masks) == 6 and all(masks[t] == "1" for t in born)

    assert pinner.can_undo(child.pid)
    undo = pinner.apply(child.pid, undo_target())
    assert undo.undo
    want = original(child) | dict.fromkeys(born, "0-1")  # born later: the main thread's old mask
    assert thread_masks(child.pid) == want
    assert not pinner.can_undo(child.pid)
    assert [e.undo for e in pinner.events] == [False, True]


def test_dry_run_changes_nothing(child: Child, topo: Topology) -> None:
    sys = Cued()
    event = LivePinner(sys=sys).apply(child.pid, cpus_target(topo, "1"), dry_run=True)
    assert event.dry_run and event.summary().startswith("would move")
    assert {t.after for t in event.threads} == {(1,)}
    assert sys.sets == []
    assert thread_masks(child.pid) == original(child)


# -- refused or failed: one clear error, and every thread as it was ----------------


def test_exit_mid_pin_is_gone_and_rolled_back(child: Child, topo: Topology) -> None:
    def exited(n: int, tid: int, cpus: set[int]) -> BaseException | None:
        # The main thread goes last, so by then the other three were set.
        return ProcessLookupError(errno.ESRCH, "No such process") if tid == child.pid else None

    sys = Cued(exited)
    with pytest.raises(PinError) as err:
        LivePinner(sys=sys).apply(child.pid, cpus_target(topo, "1"))
    assert err.value.reason == "gone"
    assert str(err.value) == (
        f"process {child.pid} ({comm(child.pid)}) exited while it was being pinned"
    )
    assert sorted(tid for tid, _ in sys.sets[:3]) == sorted(child.tids[1:])
    assert all(cpus == {1} for _, cpus in sys.sets[:3])
    assert sys.sets[3] == (child.pid, {1})
    assert thread_masks(child.pid) == original(child)  # and each put back


def test_einval_on_the_third_thread_leaves_all_unchanged(child: Child, topo: Topology) -> None:
    def third(n: int, tid: int, cpus: set[int]) -> BaseException | None:
        return OSError(errno.EINVAL, "Invalid argument") if n == 3 else None

    with pytest.raises(PinError) as err:
        LivePinner(sys=Cued(third)).apply(child.pid, cpus_target(topo, "1"))
    assert err.value.reason == "einval"
    assert "CPUs 1 are not allowed" in str(err.value) and "cpuset" in str(err.value)
    assert thread_masks(child.pid) == original(child)


def test_read_back_mismatch_rolls_back_that_thread_too(child: Child, topo: Topology) -> None:
    """A cpuset that allows only part of the target: the kernel sets the part; undo it too."""

    def partial(n: int, tid: int, cpus: set[int]) -> set[int] | None:
        return {0} if n == 1 else None  # what the kernel sets: the intersection

    with pytest.raises(PinError) as err:
        LivePinner(sys=Cued(partial)).apply(child.pid, cpus_target(topo, "1"))
    assert err.value.reason == "einval" and "got CPUs 0 instead of 1" in str(err.value)
    assert thread_masks(child.pid) == original(child)


def test_permission_denied(child: Child, topo: Topology) -> None:
    def denied(n: int, tid: int, cpus: set[int]) -> BaseException | None:
        return PermissionError(errno.EPERM, "Operation not permitted") if n == 2 else None

    with pytest.raises(PinError) as err:
        LivePinner(sys=Cued(denied)).apply(child.pid, cpus_target(topo, "1"))
    assert err.value.reason == "permission"
    assert "CAP_SYS_NICE" in str(err.value)
    assert thread_masks(child.pid) == original(child)


def test_kernel_thread_refused_and_untouched(topo: Topology) -> None:
    with open("/proc/2/stat") as f:
        if "(kthreadd)" not in f.read():
            pytest.skip("pid 2 is not kthreadd here")
    before = cpus_allowed(2)
    sys = Cued()
    with pytest.raises(PinError) as err:
        LivePinner(sys=sys).apply(2, cpus_target(topo, "1"))
    assert err.value.reason == "kernel" and "kernel thread" in str(err.value)
    assert sys.sets == []
    assert cpus_allowed(2) == before


CPUSET_V1 = Path("/sys/fs/cgroup/cpuset")


@pytest.fixture
def cpuset_cpu0(child: Child) -> Iterator[Child]:
    """The child inside a cgroup v1 cpuset of CPU 0 alone: CPU 1 is then really EINVAL."""
    group = CPUSET_V1 / f"numaview-test-{os.getpid()}"
    try:
        group.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot make a cpuset here: {exc}")
    try:
        (group / "cpuset.cpus").write_text("0")
        (group / "cpuset.mems").write_text((CPUSET_V1 / "cpuset.mems").read_text())
        (group / "cgroup.procs").write_text(str(child.pid))
        yield child
    finally:
        child.stop()
        for _ in range(50):  # the cgroup empties once the killed child is reaped
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.05)


def test_real_cpuset_einval_is_clear_and_changes_nothing(
    cpuset_cpu0: Child, topo: Topology
) -> None:
    c = cpuset_cpu0
    before = thread_masks(c.pid)
    assert set(before.values()) == {"0"}  # joining the cpuset narrowed every thread
    with pytest.raises(PinError) as err:
        LivePinner().apply(c.pid, cpus_target(topo, "1"))
    assert err.value.reason == "einval" and "(EINVAL)" in str(err.value)
    assert thread_masks(c.pid) == before
    with pytest.raises(PinError) as err:  # part allowed: the kernel sets CPU 0 only
        LivePinner().apply(c.pid, cpus_target(topo, "0-1"))
    assert err.value.reason == "einval" and "got CPUs 0 instead of 0-1" in str(err.value)
    assert thread_masks(c.pid) == before


# -- memory -------------------------------------------------------------------------


def test_move_memory_on_one_node_is_a_noop(child: Child, topo: Topology) -> None:
    if len(topo.nodes) != 1:
        pytest.skip("this machine has several nodes")
    sys = Cued()
    event = LivePinner(sys=sys).apply(child.pid, node_target(topo, 0), move_memory=True)
    m = event.memory
    assert m is not None
    assert m.from_nodes == () and m.to_nodes == (0,)
    assert m.pages_not_moved == 0 and m.error is None and m.moved_bytes == 0
    assert sys.migrations == []
    assert "memory already on nodes 0" in event.summary()
    assert set(thread_masks(child.pid).values()) == {"0-1"}


def test_migrate_pages_syscall_works_here(child: Child) -> None:
    """The ctypes call itself (not reached by the no-op above): node 0 to node 0 moves nothing."""
    assert Syscalls().migrate_pages(child.pid, {0}, {0}) == 0


@pytest.fixture
def four_nodes(tmp_path: Path) -> tuple[Topology, FakeKernel]:
    return four_node_machine(tmp_path)


def test_memory_moves_between_nodes(four_nodes: tuple[Topology, FakeKernel]) -> None:
    topo, kernel = four_nodes
    pinner = LivePinner(root=str(kernel.root), sys=kernel)
    event = pinner.apply(PID, node_target(topo, 1), move_memory=True)
    assert kernel.masks == {PID: {2, 3}, PID + 1: {2, 3}, PID + 2: {2, 3}}
    assert kernel.migrations == [(PID, {0, 2, 3}, {1})]
    m = event.memory
    assert m is not None
    assert m.from_nodes == (0, 2, 3) and m.to_nodes == (1,)
    assert m.pages_not_moved == 3
    assert m.moved_bytes == 1025 * 2**20
    assert m.bytes_after == {0: 3 * 4096, 1: 1025 * 2**20}
    assert event.summary() == (
        f"moved pid {PID} (fakeapp), 3 threads, to node 1;"
        " 1025 MiB of memory moved to nodes 1, 3 pages could not move"
    )
    d = event.to_dict()["memory"]
    assert d == {
        "from_nodes": [0, 2, 3],
        "to_nodes": [1],
        "moved_bytes": 1025 * 2**20,
        "pages_not_moved": 3,
        "error": None,
    }


def test_memory_dry_run_moves_nothing(four_nodes: tuple[Topology, FakeKernel]) -> None:
    topo, kernel = four_nodes
    masks = {t: set(c) for t, c in kernel.masks.items()}
    event = LivePinner(root=str(kernel.root), sys=kernel).apply(
        PID, node_target(topo, 1), move_memory=True, dry_run=True
    )
    assert kernel.migrations == [] and kernel.masks == masks
    assert event.memory is not None and event.memory.from_nodes == (0, 2, 3)
    assert event.summary().endswith("to node 1; would move memory from nodes 0,2-3")


def test_migrate_pages_failing_is_said_and_the_cpu_pin_stands(
    four_nodes: tuple[Topology, FakeKernel],
) -> None:
    """Not rolled back: the CPU pin is whole and verified, memory is a second, separate step.

    Undoing the CPUs because pages would not move would throw away the half that
    worked; instead the event says so in words, and --undo is one command away.
    """
    topo, kernel = four_nodes
    kernel.error = PermissionError(errno.EPERM, "Operation not permitted")
    pinner = LivePinner(root=str(kernel.root), sys=kernel)
    event = pinner.apply(PID, node_target(topo, 1), move_memory=True)
    assert set(map(frozenset, kernel.masks.values())) == {frozenset({2, 3})}
    assert event.memory is not None and event.memory.error == "Operation not permitted"
    assert event.memory.pages_not_moved is None and event.memory.moved_bytes is None
    assert event.summary() == (
        f"moved pid {PID} (fakeapp), 3 threads, to node 1; memory not moved: Operation not permitted"
    )
    assert event.to_dict()["memory"]["error"] == "Operation not permitted"
    assert read_pages(kernel.root, PID) == {0: 1024 * MIB + 3, 2: MIB}
    assert pinner.can_undo(PID)
    pinner.apply(PID, undo_target())
    assert kernel.masks == {PID: {0, 1}, PID + 1: {0, 1}, PID + 2: {0}}
