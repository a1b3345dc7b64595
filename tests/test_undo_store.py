"""UndoStore, and LivePinner's undo across two pinners (two CLI runs), on a fake /proc."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from numaview.linux.sysfs import discover
from numaview.pinning.apply import LivePinner
from numaview.pinning.plan import PinError, cpus_target, undo_target
from numaview.pinning.undo_store import UndoStore, default_directory
from tests.fakefs import FakeProc, FakeProcess, FakeThread, Shape, build_machine
from tests.pin_helpers import FakeKernel

PID = 4242
START = "1000"  # FakeProcess's default starttime


@pytest.fixture
def fake(tmp_path: Path) -> tuple[Path, FakeKernel]:
    root = tmp_path / "root"
    m = build_machine(root, Shape(packages=1, nodes_per_package=2, cores_per_l3=2, smt=1))
    fp = FakeProc(root, m.cpus, m.node_ids)
    fp.add(FakeProcess(PID, name="app", threads=[FakeThread(PID), FakeThread(PID + 1)]))
    fp.write()
    (root / "proc/sys/kernel/random").mkdir(parents=True)
    (root / "proc/sys/kernel/random/boot_id").write_text("boot-a\n")
    return root, FakeKernel(root, {PID: {0, 1, 2, 3}, PID + 1: {1}})


def test_push_load_pop_file_mode_and_removal(fake: tuple[Path, FakeKernel], tmp_path: Path) -> None:
    store = UndoStore(str(tmp_path / "undo"), root=str(fake[0]))
    assert store.load(PID, START) == []
    store.push(PID, START, "app", {PID: (0, 1), PID + 1: (1,)})
    store.push(PID, START, "app", {PID: (2,), PID + 1: (2,)})
    path = Path(store.path(PID, START))
    assert path.name == f"undo-{PID}-{START}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.load(PID, START) == [{PID: (0, 1), PID + 1: (1,)}, {PID: (2,), PID + 1: (2,)}]
    assert store.load(PID, "999") == []  # another process that had the same pid
    store.pop(PID, START, "app")
    assert store.load(PID, START) == [{PID: (0, 1), PID + 1: (1,)}]
    store.pop(PID, START, "app")
    assert not path.exists() and os.listdir(path.parent) == []


def test_file_from_before_a_reboot_is_ignored(
    fake: tuple[Path, FakeKernel], tmp_path: Path
) -> None:
    root, _ = fake
    store = UndoStore(str(tmp_path / "undo"), root=str(root))
    store.push(PID, START, "app", {PID: (0,)})
    (root / "proc/sys/kernel/random/boot_id").write_text("boot-b\n")
    assert store.load(PID, START) == []
    assert not Path(store.path(PID, START)).exists()


def test_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    store = UndoStore(str(tmp_path), root=str(tmp_path))
    Path(store.path(PID, START)).write_text('{"format": 1, "pid": ')
    with pytest.raises(PinError, match=r"is damaged .*remove it to start over"):
        store.load(PID, START)
    Path(store.path(PID, START)).write_text(
        json.dumps({"format": 1, "pid": 7, "starttime": START, "stack": []})
    )
    with pytest.raises(PinError, match="another process"):
        store.load(PID, START)


def test_a_shared_directory_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "undo"
    d.mkdir(mode=0o777)
    d.chmod(0o777)
    with pytest.raises(PinError, match="not private"):
        UndoStore(str(d), root=str(tmp_path)).push(PID, START, "app", {PID: (0,)})
    assert os.listdir(d) == []


def test_files_of_gone_processes_are_pruned(fake: tuple[Path, FakeKernel], tmp_path: Path) -> None:
    root, _ = fake
    store = UndoStore(str(tmp_path / "undo"), root=str(root))
    store.push(PID, START, "app", {PID: (0,)})
    stale = [Path(store.path(999, "5")), Path(store.path(PID, "77"))]  # gone; pid reused
    for p in stale:
        p.write_text("{}")
    store.push(PID, START, "app", {PID: (1,)})
    assert sorted(os.listdir(store.directory)) == [f"undo-{PID}-{START}.json"]


def test_default_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert default_directory() == str(tmp_path / "numaview")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_directory() == str(tmp_path / "home/.cache/numaview")


def test_undo_from_a_second_pinner(fake: tuple[Path, FakeKernel], tmp_path: Path) -> None:
    """What `numaview pin PID --cpus 2` then `numaview pin PID --undo` do: two processes."""
    root, kernel = fake
    topo = discover(str(root))
    store_dir = str(tmp_path / "undo")
    first = LivePinner(str(root), sys=kernel, store=UndoStore(store_dir, str(root)))
    first.apply(PID, cpus_target(topo, "2"))
    assert kernel.masks == {PID: {2}, PID + 1: {2}}
    assert first._undo == {}  # the store holds it, not the memory of this process
    second = LivePinner(str(root), sys=kernel, store=UndoStore(store_dir, str(root)))
    assert second.can_undo(PID)
    event = second.apply(PID, undo_target())
    assert event.undo
    assert kernel.masks == {PID: {0, 1, 2, 3}, PID + 1: {1}}
    assert not second.can_undo(PID) and os.listdir(store_dir) == []
    with pytest.raises(PinError, match="nothing to undo") as err:
        second.apply(PID, undo_target())
    assert err.value.reason == "bad-target"


def test_dry_run_saves_nothing(fake: tuple[Path, FakeKernel], tmp_path: Path) -> None:
    root, kernel = fake
    store = UndoStore(str(tmp_path / "undo"), str(root))
    LivePinner(str(root), sys=kernel, store=store).apply(
        PID, cpus_target(discover(str(root)), "2"), dry_run=True
    )
    assert store.load(PID, START) == [] and kernel.masks[PID] == {0, 1, 2, 3}


def test_a_pin_that_cannot_be_saved_is_rolled_back(
    fake: tuple[Path, FakeKernel], tmp_path: Path
) -> None:
    root, kernel = fake
    blocker = tmp_path / "undo"
    blocker.write_text("a file where the directory should be")
    pinner = LivePinner(str(root), sys=kernel, store=UndoStore(str(blocker), str(root)))
    with pytest.raises(PinError, match="the pin was rolled back") as err:
        pinner.apply(PID, cpus_target(discover(str(root)), "2"))
    assert err.value.reason == "failed"
    assert kernel.masks == {PID: {0, 1, 2, 3}, PID + 1: {1}}
    assert pinner.events == []


def test_a_file_written_by_an_earlier_version_still_undoes(
    fake: tuple[Path, FakeKernel], tmp_path: Path
) -> None:
    """The key is stat's start time in clock ticks, as text: a file from before stays valid."""
    root, kernel = fake
    undo = tmp_path / "undo"
    undo.mkdir(mode=0o700)
    earlier = {
        "format": 1,
        "pid": PID,
        "starttime": START,
        "name": "app",
        "boot_id": "boot-a",
        "saved": 1764200000.0,
        "stack": [{"masks": {str(PID): "0-1", str(PID + 1): "1"}}],
    }
    (undo / f"undo-{PID}-{START}.json").write_text(json.dumps(earlier))
    kernel.masks.update({PID: {3}, PID + 1: {3}})
    pinner = LivePinner(str(root), sys=kernel, store=UndoStore(str(undo), str(root)))
    assert pinner.identity(PID)[0] == START
    assert pinner.can_undo(PID)
    pinner.apply(PID, undo_target())
    assert kernel.masks == {PID: {0, 1}, PID + 1: {1}}
