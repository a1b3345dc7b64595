"""`numaview pin` as a user runs it: a subprocess on a real process, checked in /proc."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pin_helpers import (
    PID,
    cpus_allowed,
    four_node_machine,
    start_child,
    thread_masks,
    two_cpus,
)

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(not two_cpus(), reason="needs CPUs 0 and 1"),
]


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The undo files go under tmp_path: XDG_RUNTIME_DIR says where."""
    env = os.environ | {"XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("NUMAVIEW_FSROOT", None)
    return subprocess.run(
        [sys.executable, "-m", "numaview", "pin", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture
def sleeper() -> Iterator[int]:
    p = subprocess.Popen(["sleep", "60"])
    yield p.pid
    p.kill()
    p.wait()


def undo_files(tmp_path: Path) -> list[Path]:
    d = tmp_path / "numaview"
    return sorted(d.iterdir()) if d.exists() else []


def test_pin_then_undo(tmp_path: Path, sleeper: int) -> None:
    pid = str(sleeper)
    r = run(tmp_path, pid, "--cpus", "1")
    assert r.returncode == 0, r.stderr
    assert cpus_allowed(sleeper) == "1"
    assert r.stdout.splitlines() == [
        f"moved pid {pid} (sleep), 1 thread, to CPUs 1",
        f"  thread {pid}: 0-1 → 1",
    ]
    assert r.stderr == ""
    [undo] = undo_files(tmp_path)
    assert undo.name.startswith(f"undo-{pid}-") and undo.suffix == ".json"
    assert stat.S_IMODE(undo.stat().st_mode) == 0o600
    assert stat.S_IMODE(undo.parent.stat().st_mode) == 0o700

    r = run(tmp_path, pid, "--undo")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"restored pid {pid} (sleep)")
    assert cpus_allowed(sleeper) == "0-1"
    assert undo_files(tmp_path) == []

    r = run(tmp_path, pid, "--undo")
    assert r.returncode == 2
    assert r.stderr.splitlines() == [f"numaview: error: nothing to undo for pid {pid} (sleep)"]


def test_undo_across_runs_restores_each_threads_own_mask(tmp_path: Path) -> None:
    child = start_child()
    try:
        before = thread_masks(child.pid)
        assert before[child.own] == "0" and len(set(before.values())) == 2
        r = run(tmp_path, str(child.pid), "--cpus", "1")
        assert r.returncode == 0, r.stderr
        assert set(thread_masks(child.pid).values()) == {"1"}
        lines = r.stdout.splitlines()
        assert lines[0].endswith("4 threads, to CPUs 1")
        assert f"  thread {child.own}: 0 → 1" in lines
        assert any(line.startswith("  threads ") and line.endswith(": 0-1 → 1") for line in lines)
        r = run(tmp_path, str(child.pid), "--undo")
        assert r.returncode == 0, r.stderr
        assert thread_masks(child.pid) == before
    finally:
        child.stop()


def test_dry_run_changes_nothing(tmp_path: Path, sleeper: int) -> None:
    r = run(tmp_path, str(sleeper), "--cpus", "1", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"would move pid {sleeper} (sleep), 1 thread, to CPUs 1")
    assert cpus_allowed(sleeper) == "0-1"
    assert undo_files(tmp_path) == []


def test_json(tmp_path: Path, sleeper: int) -> None:
    r = run(tmp_path, str(sleeper), "--node", "0", "--move-memory", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert {
        k: d[k] for k in ("pid", "name", "target", "cpulist", "threads", "undo", "dry_run")
    } == {
        "pid": sleeper,
        "name": "sleep",
        "target": "node 0",
        "cpulist": "0-1",
        "threads": 1,
        "undo": False,
        "dry_run": False,
    }
    assert d["thread_changes"] == [{"tid": sleeper, "before": "0-1", "after": "0-1"}]
    assert d["memory"]["to_nodes"] == [0] and d["memory"]["error"] is None
    assert isinstance(d["time"], float) and d["before"] == ["0-1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--node", "7"), "no NUMA node 7 (nodes: "),
        (("--cpus", "4095"), "CPUs 4095 do not exist on this machine"),
        (("--cpus", "1-x"), "bad item '1-x' in cpu list '1-x'"),
        (("--l3", "99"), "no L3 domain 99 ("),
        (("--package", "99"), "no package 99"),
    ],
)
def test_target_not_on_this_machine_is_exit_2(
    tmp_path: Path, sleeper: int, args: tuple[str, ...], message: str
) -> None:
    r = run(tmp_path, str(sleeper), *args)
    assert r.returncode == 2
    assert len(r.stderr.splitlines()) == 1
    assert r.stderr.startswith(f"numaview: error: {message}")
    assert cpus_allowed(sleeper) == "0-1" and undo_files(tmp_path) == []


def test_no_target_or_two_targets_is_exit_2(tmp_path: Path, sleeper: int) -> None:
    r = run(tmp_path, str(sleeper))
    assert r.returncode == 2
    assert (
        "one of the arguments --node --l3 --package --gpu --cpus --spread --undo is required"
        in (r.stderr)
    )
    r = run(tmp_path, str(sleeper), "--node", "0", "--spread")
    assert r.returncode == 2 and "not allowed with argument" in r.stderr
    r = run(tmp_path, "0", "--spread")
    assert r.returncode == 2 and r.stderr.splitlines() == [
        "numaview: error: PID 0: must be a process id (1 or more)"
    ]


def test_vanished_pid_is_exit_1(tmp_path: Path) -> None:
    p = subprocess.Popen(["true"])
    p.wait()
    r = run(tmp_path, str(p.pid), "--cpus", "1")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"numaview: error: process {p.pid} is gone"]


def test_kernel_thread_is_exit_1(tmp_path: Path) -> None:
    if "(kthreadd)" not in Path("/proc/2/stat").read_text():
        pytest.skip("pid 2 is not kthreadd here")
    before = cpus_allowed(2)
    r = run(tmp_path, "2", "--cpus", "1")
    assert r.returncode == 1
    assert r.stderr.splitlines() == [
        "numaview: error: pid 2 (kthreadd) is a kernel thread;"
        " numaview does not move kernel threads"
    ]
    assert cpus_allowed(2) == before and undo_files(tmp_path) == []


def test_thread_lines_group_by_masks_and_cut_long_lists() -> None:
    from numaview.cli.pin import thread_lines
    from numaview.pinning.apply import PinEvent, ThreadChange

    many = tuple(ThreadChange(109 - i, (0, 1), (1,)) for i in range(10))
    event = PinEvent(0.0, 99, "x", "CPUs 1", (1,), (*many, ThreadChange(99, (0,), (1,))))
    assert thread_lines(event) == [
        "  thread 99: 0 → 1",
        "  threads 100,101,102,103,104,105,106,107 (+2 more): 0-1 → 1",
    ]


def test_memory_not_moved_is_exit_1_with_the_pin_standing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In-process on a fake 4-node tree (this machine has one node) with a fake kernel."""
    from numaview.cli import main
    from numaview.pinning.apply import Syscalls

    _, kernel = four_node_machine(tmp_path / "root")
    kernel.error = PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(Syscalls, "getaffinity", lambda self, tid: kernel.getaffinity(tid))
    monkeypatch.setattr(Syscalls, "setaffinity", lambda self, tid, c: kernel.setaffinity(tid, c))
    monkeypatch.setattr(Syscalls, "migrate_pages", lambda self, *a: kernel.migrate_pages(*a))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    code = main(["pin", str(PID), "--node", "1", "--move-memory", "--root", str(kernel.root)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.splitlines()[0] == (
        f"moved pid {PID} (fakeapp), 3 threads, to node 1; memory not moved: Operation not permitted"
    )
    assert err.splitlines() == [
        f"numaview: error: pid {PID}: CPUs pinned, but memory not moved: Operation not"
        f" permitted (`numaview pin {PID} --undo` puts the CPUs back)"
    ]
    assert set(map(frozenset, kernel.masks.values())) == {frozenset({2, 3})}
    assert main(["pin", str(PID), "--undo", "--root", str(kernel.root)]) == 0
    assert kernel.masks == {PID: {0, 1}, PID + 1: {0, 1}, PID + 2: {0}}
