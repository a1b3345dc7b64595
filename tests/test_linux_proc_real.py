"""linux/proc.py on this machine's /proc: real processes that exit, psutil against the tree path.

On the live root the owner and "does it exist" come from psutil; on a fake
tree from the status file. Forcing the tree path on "/" (``live = False``)
shows the two agree on every process here, so the fake-tree tests exercise
the same answers the dashboard gets.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import pytest

from numaview.linux import proc
from numaview.linux.errors import ProcError, ProcessGone, wrap_exceptions
from numaview.linux.fsroot import FsRoot
from numaview.linux.users import UserNames
from numaview.pinning.apply import LivePinner
from numaview.sampler.process_state import CLK_TCK

pytestmark = pytest.mark.real

LIVE = FsRoot("/")


def tree_path() -> FsRoot:
    """This machine's /proc read the way a fake tree is: no psutil."""
    fs = FsRoot("/")
    fs.live = False
    return fs


@pytest.fixture
def child() -> Iterator[subprocess.Popen[str]]:
    p = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, text=True
    )
    yield p
    p.kill()
    p.wait()


def exited_pid() -> int:
    """A real process that ran and exited (reaped); skip in the unlikely case its pid was reused."""
    p = subprocess.Popen(["true"])
    p.wait()
    if os.path.exists(f"/proc/{p.pid}"):
        pytest.skip("the pid was reused already")
    return p.pid


def test_live_root_is_live_and_a_tree_is_not(tmp_path: Path) -> None:
    assert LIVE.live and FsRoot("/proc/..").live
    assert not FsRoot(tmp_path).live


def test_identity_of_a_real_subprocess(child: subprocess.Popen[str]) -> None:
    raw = Path(f"/proc/{child.pid}/stat").read_text()
    start_field = raw[raw.rfind(")") + 2 :].split()[19]
    comm = Path(f"/proc/{child.pid}/comm").read_text().strip()
    start, name, uid, kernel = LivePinner().identity(child.pid)
    assert (start, name, uid, kernel) == (start_field, comm, os.geteuid(), False)
    # The same process as psutil sees it: its create_time is our start ticks + boot time.
    p = psutil.Process(child.pid)
    assert p.uids().effective == uid
    assert abs(p.create_time() - (psutil.boot_time() + int(start) / CLK_TCK)) < 0.05
    assert not LivePinner().is_foreign(child.pid)


def test_kernel_thread_identity() -> None:
    if "(kthreadd)" not in Path("/proc/2/stat").read_text():
        pytest.skip("pid 2 is not kthreadd here")
    _, name, uid, kernel = LivePinner().identity(2)
    assert (name, uid, kernel) == ("kthreadd", 0, True)


def test_psutil_and_the_tree_path_agree_on_every_process_here() -> None:
    tree = tree_path()
    compared = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            live_uid, tree_uid = proc.owner_uid(LIVE, pid), proc.owner_uid(tree, pid)
            live_there, tree_there = proc.pid_exists(LIVE, pid), proc.pid_exists(tree, pid)
        except ProcessGone:
            continue  # exited between the two
        assert live_uid == tree_uid, pid
        assert live_there and tree_there, pid
        compared += 1
    assert compared >= 5


def test_a_process_that_exited_is_gone_on_both_paths() -> None:
    pid = exited_pid()
    for fs in (LIVE, tree_path()):
        assert not proc.pid_exists(fs, pid)
        for read in (proc.pid_stat, proc.owner_uid, proc.task_ids, proc.numa_maps):
            with pytest.raises(ProcessGone):
                read(fs, pid)


def test_a_kept_descriptor_of_an_exited_process_is_gone(child: subprocess.Popen[str]) -> None:
    """ESRCH, not ENOENT: what a descriptor opened before the exit says (keptfiles.py)."""
    fd = os.open(f"/proc/{child.pid}/stat", os.O_RDONLY)
    try:
        child.kill()
        child.wait()
        with pytest.raises(ProcessGone) as err, wrap_exceptions(child.pid, "stat"):
            os.pread(fd, 4096, 0)
        assert str(err.value) == f"process {child.pid} is gone"
    finally:
        os.close(fd)


def test_a_thread_id_is_not_a_process() -> None:
    """psutil refuses a thread id; kill(tid, 0), the old check, accepts it."""
    ready, stop = threading.Event(), threading.Event()
    tids: list[int] = []

    def run() -> None:
        tids.append(threading.get_native_id())
        ready.set()
        stop.wait()

    t = threading.Thread(target=run)
    t.start()
    try:
        ready.wait()
        os.kill(tids[0], 0)  # would have said "alive"
        assert not proc.pid_exists(LIVE, tids[0])
        assert proc.pid_exists(LIVE, os.getpid())
    finally:
        stop.set()
        t.join()


def test_task_ids_of_this_process_include_a_new_thread() -> None:
    ready, stop = threading.Event(), threading.Event()
    tids: list[int] = []

    def run() -> None:
        tids.append(threading.get_native_id())
        ready.set()
        stop.wait()

    t = threading.Thread(target=run)
    t.start()
    try:
        ready.wait()
        got = proc.task_ids(LIVE, os.getpid())
        assert os.getpid() in got and tids[0] in got and got == sorted(got)
    finally:
        stop.set()
        t.join()


def test_numa_maps_of_this_process_counts_its_memory() -> None:
    try:
        by_node, policy = proc.numa_maps(LIVE, os.getpid())
    except ProcError as exc:
        pytest.skip(f"no numa_maps here: {exc}")
    assert sum(by_node.values()) > 1 << 20 and policy is not None


def test_user_names_on_the_live_machine() -> None:
    names = UserNames(LIVE, live=True)
    assert names(0) == "root"
    assert names(4_012_345) == "4012345"  # nobody: the number, never an error
    assert names.names == {0: "root", 4_012_345: "4012345"}  # asked once each


def test_fsroot_read_reads_a_seq_file_past_its_first_short_page() -> None:
    """/proc/self/maps hands out whole lines: the first read stops short of 4096 bytes."""
    from numaview.linux.fsroot import FsRoot

    with open("/proc/self/maps") as f:
        direct = f.read()
    assert len(direct) > 8192  # a Python process maps dozens of libraries
    got = FsRoot("/").read("proc/self/maps", limit=1 << 20)
    assert got is not None
    assert got.count("\n") >= direct.count("\n") - 5  # a page or two may (un)map meanwhile
