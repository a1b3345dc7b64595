"""Plans on this machine: real multi-thread processes divided between CPU 0 and CPU 1.

Every thread's mask is read back from /proc (the kernel's word, not the
pinner's), a failure is injected half-way through a plan, and undo must give
each thread its exact previous mask back (one thread of each child has a mask
of its own). ``numaview plan`` runs as a user would run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from numaview.linux.sysfs import discover
from numaview.model.partition import Member, partition
from numaview.model.topology import Topology
from numaview.pinning.apply import LivePinner
from numaview.pinning.group import Move, PlanError, apply_moves, members_of, moves_of, undo_plan
from numaview.pinning.plan import Target
from tests.pin_helpers import Child, start_child, thread_masks
from tests.test_pinning_real import CPUSET_V1, Cued

pytestmark = pytest.mark.real
APP = str(Path(__file__).resolve().parents[1] / "app")


@pytest.fixture(scope="module")
def topo() -> Topology:
    return discover("/")


@pytest.fixture
def pair() -> Iterator[tuple[Child, Child]]:
    a, b = start_child(), start_child()
    yield a, b
    a.stop()
    b.stop()


def original(c: Child) -> dict[int, str]:
    return {tid: ("0" if tid == c.own else "0-1") for tid in c.tids}


def plan_for(topo: Topology, a: Child, b: Child) -> list[Move]:
    members = [Member(c.pid, 1.0, f"child-{c.pid}", affinity=(0, 1)) for c in (a, b)]
    part = partition(topo, members, "cores")
    assert part.ok and sorted(s.cpus for s in part.shares) == [(0,), (1,)]
    return moves_of(part)


def numaview(*args: str, runtime: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": APP, "XDG_RUNTIME_DIR": str(runtime)}
    return subprocess.run(
        [sys.executable, "-m", "numaview", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_two_processes_planned_onto_cpu_0_and_cpu_1_every_thread_then_undone(
    pair: tuple[Child, Child], topo: Topology
) -> None:
    a, b = pair
    assert thread_masks(a.pid) == original(a) and thread_masks(b.pid) == original(b)
    pinner = LivePinner()
    event = apply_moves(pinner, plan_for(topo, a, b), "equal shares of whole cores")
    got_a, got_b = set(thread_masks(a.pid).values()), set(thread_masks(b.pid).values())
    assert len(got_a) == 1 and len(got_b) == 1 and got_a | got_b == {"0", "1"}  # every thread
    assert [len(p.threads) for p in event.pins] == [4, 4]
    back = undo_plan(pinner, event.label, members_of(event))
    assert back.undo and thread_masks(a.pid) == original(a) and thread_masks(b.pid) == original(b)


def test_a_failure_half_way_rolls_back_both(pair: tuple[Child, Child], topo: Topology) -> None:
    a, b = pair
    moves = plan_for(topo, a, b)
    second = moves[1].pid
    victim = next(c for c in (a, b) if c.pid == second).tids[2]  # a thread of the second process

    def fail(n: int, tid: int, cpus: set[int]) -> BaseException | None:
        return PermissionError(1, "Operation not permitted") if tid == victim else None

    kernel = Cued(fail)
    with pytest.raises(PlanError) as err:
        apply_moves(LivePinner(sys=kernel), moves, "plan")
    assert err.value.reason == "permission"
    assert str(err.value).startswith(f"pid {second} (child-{second}): permission denied")
    assert f"rolled back pid {moves[0].pid} to their previous CPUs" in str(err.value)
    assert thread_masks(a.pid) == original(a) and thread_masks(b.pid) == original(b)
    assert len(kernel.sets) > 4  # the first process really had moved, and was put back


def test_numaview_plan_apply_then_undo_from_a_later_run(
    pair: tuple[Child, Child], tmp_path: Path
) -> None:
    a, b = pair
    pids = f"{a.pid},{b.pid}"
    shown = numaview("plan", "--pids", pids, "--interval", "0.3", runtime=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == "plan: equal shares of whole cores"  # one node here
    assert thread_masks(a.pid) == original(a)  # printed only
    done = numaview(
        "plan", "--pids", pids, "--apply", "--json", "--interval", "0.3", runtime=tmp_path
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["plan"]["ok"] and [s["pid"] for s in out["plan"]["shares"]] == [a.pid, b.pid]
    assert [p["threads"] for p in out["result"]["pins"]] == [4, 4]
    masks = {c.pid: set(thread_masks(c.pid).values()) for c in (a, b)}
    assert sorted(map(sorted, masks.values())) == [["0"], ["1"]]
    assert [p.name for p in tmp_path.joinpath("numaview").iterdir() if p.name.startswith("plan-")]
    undone = numaview("plan", "--undo", runtime=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.splitlines()[0] == "restored 2 processes to their previous CPUs"
    assert thread_masks(a.pid) == original(a) and thread_masks(b.pid) == original(b)
    again = numaview("plan", "--undo", runtime=tmp_path)
    assert (again.returncode, again.stderr) == (2, "numaview: error: no plan to undo\n")


def test_numaview_plan_says_why_in_one_line(pair: tuple[Child, Child], tmp_path: Path) -> None:
    a, b = pair
    third = start_child()
    try:
        r = numaview(
            "plan", "--pids", f"{a.pid},{b.pid},{third.pid}", "--interval", "0.2", runtime=tmp_path
        )
        assert r.returncode == 2
        assert (
            r.stderr == "numaview: error: 3 processes and 2 whole cores: each needs one at least\n"
        )
    finally:
        third.stop()
    r = numaview("plan", "--name", "no-such-process-xyz", "--interval", "0.2", runtime=tmp_path)
    assert (r.returncode, r.stderr) == (
        1,
        "numaview: error: no process matches 'no-such-process-xyz'\n",
    )
    r = numaview("plan", "--pids", "999999999", "--interval", "0.2", runtime=tmp_path)
    assert r.returncode == 1 and r.stderr.startswith("numaview: error: no process 999999999")
    r = numaview(
        "plan",
        "--pids",
        f"{a.pid},{b.pid}",
        "--strategy",
        "l3",
        "--interval",
        "0.2",
        runtime=tmp_path,
    )
    assert r.returncode in (0, 2) and "Traceback" not in r.stderr
    r = numaview("plan", runtime=tmp_path)
    assert r.returncode == 2 and "choose the processes" in r.stderr


@pytest.fixture
def confined(pair: tuple[Child, Child]) -> Iterator[tuple[Child, Child]]:
    """The second child inside a cgroup v1 cpuset of CPU 0 alone."""
    a, b = pair
    group = CPUSET_V1 / f"numaview-plan-{os.getpid()}"
    group.mkdir()
    try:
        (group / "cpuset.cpus").write_text("0")
        (group / "cpuset.mems").write_text((CPUSET_V1 / "cpuset.mems").read_text())
        (group / "cgroup.procs").write_text(str(b.pid))
        yield a, b
    finally:
        b.stop()
        for _ in range(50):
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.05)


def test_a_cpuset_that_forbids_the_share_refuses_the_whole_plan(
    confined: tuple[Child, Child], topo: Topology, tmp_path: Path
) -> None:
    a, b = confined
    pinner = LivePinner()
    assert pinner.cpuset(b.pid) == (0,) and pinner.cpuset(a.pid) != (0,)
    before_a, before_b = thread_masks(a.pid), thread_masks(b.pid)
    # b may only have CPU 0: the plan gives it CPU 0 and a CPU 1
    members = [
        Member(c.pid, 1.0, f"c{c.pid}", affinity=(0, 1), allowed=pinner.cpuset(c.pid))
        for c in (a, b)
    ]
    part = partition(topo, members, "cores")
    assert part.ok and part.share(b.pid).cpus == (0,)  # type: ignore[union-attr]
    # forced the other way round, it is refused before anything moves
    wrong = [
        Move(a.pid, "a", Target("cpus", "CPU 0", (0,), (0,))),
        Move(b.pid, "b", Target("cpus", "CPU 1", (1,), (0,))),
    ]
    with pytest.raises(PlanError) as err:
        apply_moves(pinner, wrong, "plan")
    assert "its cgroup cpuset allows CPUs 0 only" in str(
        err.value
    ) and "nothing was changed" in str(err.value)
    assert thread_masks(a.pid) == before_a and thread_masks(b.pid) == before_b
    # numaview plan sees the cpuset too: b keeps CPU 0, a gets CPU 1
    r = numaview(
        "plan",
        "--pids",
        f"{a.pid},{b.pid}",
        "--apply",
        "--json",
        "--interval",
        "0.2",
        runtime=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert set(thread_masks(b.pid).values()) == {"0"} and set(thread_masks(a.pid).values()) == {"1"}
