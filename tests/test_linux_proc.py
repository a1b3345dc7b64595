"""linux/proc.py and linux/errors.py on fake trees: each reader, a vanished process, denied reads.

Being root here, a mode-000 file is still readable, so "permission denied" is
injected (os.open fails with EACCES/EPERM for one path) and must come out as
AccessDenied, and in pinning as the reason "permission" with its old message.
The real-machine half is in test_linux_proc_real.py.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest

from numaview.linux import proc
from numaview.linux.errors import AccessDenied, ProcError, ProcessGone, wrap_exceptions
from numaview.linux.fsroot import FsRoot
from numaview.linux.sysfs import discover
from numaview.pinning.apply import LivePinner
from numaview.pinning.plan import PinError, node_target
from numaview.pinning.undo_store import UndoStore
from tests.fakefs import FakeProc, FakeProcess, FakeThread, Shape, build_machine
from tests.pin_helpers import FakeKernel

PID = 4242


@pytest.fixture
def tree(tmp_path: Path) -> tuple[FsRoot, FakeProc]:
    m = build_machine(tmp_path, Shape(packages=1, nodes_per_package=2, cores_per_l3=2, smt=1))
    fp = FakeProc(tmp_path, m.cpus, m.node_ids)
    fp.add(
        FakeProcess(
            PID,
            name="my (odd) app",
            cmdline=["/usr/bin/app", "--serve"],
            uid=1000,
            starttime=98765,
            mems_allowed=[0, 1],
            threads=[FakeThread(PID), FakeThread(PID + 1), FakeThread(PID + 7)],
            numa_pages={0: 256, 1: 512},
        )
    )
    fp.add(FakeProcess(2, name="kthreadd", kernel=True))
    fp.write()
    (tmp_path / "proc/sys/kernel/random").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/random/boot_id").write_text("b00t-1d\n")
    return FsRoot(tmp_path), fp


def deny(
    monkeypatch: pytest.MonkeyPatch, path_end: str, err: int = errno.EACCES
) -> Callable[..., Any]:
    """Make os.open of any path ending in ``path_end`` fail with ``err``, as for a non-root user."""
    real = os.open

    def fake_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if os.fspath(path).endswith(path_end):
            raise PermissionError(err, os.strerror(err), os.fspath(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    return fake_open


# -- each reader on the fake tree --------------------------------------------------


def test_readers_on_a_fake_tree(tree: tuple[FsRoot, FakeProc]) -> None:
    fs, _ = tree
    assert not fs.live
    st = proc.pid_stat(fs, PID)
    assert (st.pid, st.comm, st.starttime, st.num_threads) == (PID, "my (odd) app", 98765, 3)
    assert proc.start_text(st) == "98765"  # the undo key: ticks as text, not seconds
    status = proc.pid_status(fs, PID)
    assert status.mems_allowed == (0, 1) and status.kthread is False
    assert proc.owner_uid(fs, PID) == 1000  # the status file's, not the tree's file owner
    assert proc.task_ids(fs, PID) == [PID, PID + 1, PID + 7]
    by_node, policy = proc.numa_maps(fs, PID)
    assert by_node == {0: (10 + 256 + 2) * 4096, 1: 512 * 4096} and policy == "default"
    assert proc.cmdline(fs, PID) == "/usr/bin/app --serve"
    assert proc.cmdline(fs, 2) is None  # a kernel thread has none
    assert proc.pid_exists(fs, PID) and not proc.pid_exists(fs, 9999)
    assert not proc.pid_exists(fs, 0) and not proc.pid_exists(fs, -1)
    assert proc.sysctl(fs, "kernel/random/boot_id") == "b00t-1d"
    assert proc.sysctl(fs, "kernel/yama/ptrace_scope") is None


def test_malformed_stat_is_a_proc_error_not_a_traceback(tree: tuple[FsRoot, FakeProc]) -> None:
    fs, _ = tree
    Path(fs.path(f"proc/{PID}/stat")).write_text(f"{PID} (app) S 1\n")
    with pytest.raises(ProcError) as err:
        proc.pid_stat(fs, PID)
    assert type(err.value) is ProcError and str(err.value) == (
        f"cannot read /proc/{PID}/stat: malformed"
    )


# -- a process that vanished -----------------------------------------------------


def test_vanished_process_is_gone_for_every_reader(tree: tuple[FsRoot, FakeProc]) -> None:
    fs, fp = tree
    fp.remove(PID)
    fp.write()
    assert not Path(fs.path(f"proc/{PID}")).exists()
    readers: list[Callable[[FsRoot, int], object]] = [
        proc.pid_stat,
        proc.pid_status,
        proc.owner_uid,
        proc.task_ids,
        proc.numa_maps,
        proc.cmdline,
    ]
    for read in readers:
        with pytest.raises(ProcessGone) as err:
            read(fs, PID)
        assert err.value.pid == PID and str(err.value) == f"process {PID} is gone"
    assert not proc.pid_exists(fs, PID)


def test_vanished_process_in_pinning_and_undo(
    tree: tuple[FsRoot, FakeProc], tmp_path: Path
) -> None:
    fs, fp = tree
    store = UndoStore(str(tmp_path / "undo"), root=fs.root)
    store.push(PID, "98765", "app", {PID: (0,)})
    fp.remove(PID)
    fp.write()
    pinner = LivePinner(fs.root, sys=FakeKernel(Path(fs.root), {}))
    with pytest.raises(PinError) as err:
        pinner.identity(PID)
    assert (str(err.value), err.value.reason) == (f"process {PID} is gone", "gone")
    with pytest.raises(PinError) as err:
        pinner.threads(PID)
    assert err.value.reason == "gone"
    assert not pinner.can_undo(PID)
    store.prune()
    assert os.listdir(store.directory) == []  # its file went with it


# -- permission denied (injected: root reads mode 000 files) ----------------------


@pytest.mark.parametrize("err", [errno.EACCES, errno.EPERM])
def test_denied_read_is_access_denied(
    tree: tuple[FsRoot, FakeProc], monkeypatch: pytest.MonkeyPatch, err: int
) -> None:
    fs, _ = tree
    deny(monkeypatch, f"/proc/{PID}/numa_maps", err)
    with pytest.raises(AccessDenied) as exc:
        proc.numa_maps(fs, PID)
    assert (exc.value.pid, exc.value.what) == (PID, "numa_maps")
    assert str(exc.value) == f"cannot read /proc/{PID}/numa_maps: permission denied"
    assert proc.pid_stat(fs, PID).pid == PID  # only that file is refused


def test_denied_stat_maps_to_permission_in_pinning_and_keeps_undo(
    tree: tuple[FsRoot, FakeProc], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fs, _ = tree
    store = UndoStore(str(tmp_path / "undo"), root=fs.root)
    store.push(PID, "98765", "app", {PID: (0,)})
    deny(monkeypatch, f"/proc/{PID}/stat")
    pinner = LivePinner(fs.root, sys=FakeKernel(Path(fs.root), {}))
    with pytest.raises(PinError) as err:
        pinner.identity(PID)
    assert err.value.reason == "permission"
    assert str(err.value) == f"cannot read /proc/{PID}/stat: permission denied"
    store.prune()  # cannot tell whether it still runs: the file stays
    assert os.listdir(store.directory) == [f"undo-{PID}-98765.json"]
    assert proc.pid_exists(fs, PID)  # there, though unreadable


def test_denied_numa_maps_while_moving_memory_is_size_unknown(
    tree: tuple[FsRoot, FakeProc], monkeypatch: pytest.MonkeyPatch
) -> None:
    fs, _ = tree
    kernel = FakeKernel(Path(fs.root), {PID: {0}, PID + 1: {0}, PID + 7: {0}})
    deny(monkeypatch, f"/proc/{PID}/numa_maps")
    event = LivePinner(fs.root, sys=kernel).apply(
        PID, node_target(discover(fs.root), 1), move_memory=True, dry_run=True
    )
    move = event.memory
    assert move is not None and move.bytes_before is None  # unknown, not an error
    assert move.from_nodes == (0,) and move.to_nodes == (1,)  # from Mems_allowed_list 0-1


def test_other_os_errors_are_one_line_proc_errors() -> None:
    with pytest.raises(ProcError) as err, wrap_exceptions(7, "stat"):
        raise OSError(errno.EIO, "Input/output error")
    assert type(err.value) is ProcError
    assert str(err.value) == "cannot read /proc/7/stat: Input/output error"


@pytest.mark.parametrize(
    ("raised", "want"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), ProcessGone),
        (ProcessLookupError(errno.ESRCH, "No such process"), ProcessGone),  # a kept descriptor
        (PermissionError(errno.EACCES, "Permission denied"), AccessDenied),
        (PermissionError(errno.EPERM, "Operation not permitted"), AccessDenied),
        (psutil.NoSuchProcess(7), ProcessGone),
        (psutil.ZombieProcess(7), ProcessGone),
        (psutil.AccessDenied(7), AccessDenied),
    ],
)
def test_wrap_exceptions_maps_os_and_psutil_errors(
    raised: Exception, want: type[ProcError]
) -> None:
    with pytest.raises(want) as err, wrap_exceptions(7, "status"):
        raise raised
    assert type(err.value) is want and err.value.pid == 7 and err.value.what == "status"


def test_wrap_exceptions_lets_other_errors_through() -> None:
    with pytest.raises(KeyError), wrap_exceptions(7, "status"):
        raise KeyError("not about /proc")


# -- FsRoot.read_or_raise ------------------------------------------------------------


def test_read_or_raise_says_why_where_read_says_none(tmp_path: Path) -> None:
    fs = FsRoot(tmp_path)
    assert fs.read("nothing/here") is None
    with pytest.raises(FileNotFoundError):
        fs.read_or_raise("nothing/here")
    with pytest.raises(FileNotFoundError):
        fs.listdir_or_raise("nothing")
    big = "x" * 200_000
    (tmp_path / "big").write_text(big)
    assert fs.read_or_raise("big", limit=1 << 20) == big  # past one 64 KiB read
    assert fs.read_or_raise("big", limit=70_000) == big[:70_000]
    assert fs.read("big", limit=1 << 20) == big  # the same text either way
