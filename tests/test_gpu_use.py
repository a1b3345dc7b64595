"""GPU use (issue 16, item 2): NVML through an injected fake library, /proc fds and DRM fdinfo."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from numaview.linux.fsroot import FsRoot
from numaview.linux.gpuprocs import parse_drm_fdinfo, read_gpu_fds
from numaview.linux.sysfs import discover
from numaview.model.frame import Frame
from numaview.sampler.nvml import Nvml, pci_from_nvml
from numaview.sampler.sampler import Sampler
from tests.fakefs import (
    FakeClock,
    FakeGpu,
    FakeProc,
    FakeProcess,
    FakeThread,
    Shape,
    add_pci_devices,
    build_machine,
)

GiB = 1024**3


class FakeNvmlError(Exception):
    pass


def fake_nvml(devices: dict[str, dict[str, Any]], fail_init: bool = False) -> SimpleNamespace:
    """A module object with the calls numaview makes; each device by NVML's bus id."""
    ids = list(devices)

    def dev(h: int) -> dict[str, Any]:
        d = devices[ids[h]]
        if d.get("lost"):
            raise FakeNvmlError("GPU is lost")
        return d

    def init() -> None:
        if fail_init:
            raise FakeNvmlError("Driver Not Loaded")

    return SimpleNamespace(
        NVML_AFFINITY_SCOPE_NODE=0,
        nvmlInit=init,
        nvmlDeviceGetCount=lambda: len(ids),
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetPciInfo=lambda h: SimpleNamespace(busId=ids[h].encode()),
        nvmlDeviceGetName=lambda h: dev(h)["name"],
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=dev(h)["util"], memory=0),
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(
            used=dev(h)["used"], total=dev(h)["total"], free=0
        ),
        nvmlDeviceGetComputeRunningProcesses=lambda h: [
            SimpleNamespace(pid=pid, usedGpuMemory=mem) for pid, mem in dev(h)["procs"]
        ],
        nvmlDeviceGetGraphicsRunningProcesses=lambda h: [],
        nvmlDeviceGetMemoryAffinity=lambda h, n, scope: dev(h).get("mem_affinity", [0] * n),
    )


class Box:
    """A fake 4-node server with GPUs, one process driving them, and a sampler over it."""

    def __init__(self, root: Path, devices: list[FakeGpu], nvml: Any | None) -> None:
        self.m = build_machine(root, Shape())
        add_pci_devices(root, self.m, devices)
        self.root = root
        self.fp = FakeProc(root, self.m.cpus, self.m.node_ids)
        self.server = self.fp.add(
            FakeProcess(pid=4242, name="server", threads=[FakeThread(4242, cpu=0)])
        )
        self.clock = FakeClock()
        self.fp.write()
        self.sampler = Sampler(
            root, discover(root), clock=self.clock, wall=lambda: 1.7e9 + self.clock.now,
            nvml_lib=nvml,
        )  # fmt: skip

    def hold(self, pid: int, fd: int, target: str, fdinfo: str | None = None) -> None:
        base = self.root / f"proc/{pid}"
        (base / "fd").mkdir(parents=True, exist_ok=True)
        link = base / "fd" / str(fd)
        if link.is_symlink():
            link.unlink()
        os.symlink(target, link)
        if fdinfo is not None:
            (base / "fdinfo").mkdir(exist_ok=True)
            (base / "fdinfo" / str(fd)).write_text(fdinfo)

    def tick(self) -> Frame:
        self.clock.advance(1.0)
        self.fp.uptime += 1.0
        self.server.threads[0].ticks += 50
        self.fp.write()
        return self.sampler.sample()


NVIDIA = [
    FakeGpu("0000:17:00.0", nvidia_minor=0),
    FakeGpu("0000:e1:00.0", numa_node="-1", nvidia_minor=1),
]


def test_nvml_gives_each_gpus_load_memory_and_processes(tmp_path: Path) -> None:
    lib = fake_nvml({
        "00000000:17:00.0": {"name": "NVIDIA H100", "util": 87, "used": 30 * GiB,
                             "total": 80 * GiB, "procs": [(4242, 2 * GiB)]},
        "00000000:E1:00.0": {"name": b"NVIDIA H100", "util": 3, "used": GiB, "total": 80 * GiB,
                             "procs": [(4242, None)], "mem_affinity": [1 << 3]},
    })  # fmt: skip
    box = Box(tmp_path, NVIDIA, lib)
    box.tick()
    f = box.tick()
    # sysfs did not place GPU1 (numa_node -1); NVML's memory affinity says node 3.
    g0, g1 = box.sampler.topology.gpus
    assert (g0.name, g0.node, g1.name, g1.node) == ("NVIDIA H100", 0, "NVIDIA H100", 3)
    assert g1.local_cpus == tuple(c for c in box.m.cpus if box.m.node_of[c] == 3)
    assert [(s.index, s.util_pct, s.mem_used_bytes, s.mem_total_bytes) for s in f.gpus] == [
        (0, 87.0, 30 * GiB, 80 * GiB),
        (1, 3.0, GiB, 80 * GiB),
    ]
    row = f.process(4242)
    assert row is not None and row.gpus == (0, 1) and row.gpu_mem_bytes == {0: 2 * GiB}
    assert f.errors == ()
    assert Frame.from_dict(f.to_dict()) == f  # recordings keep it


def test_a_gpu_that_stops_answering_is_unknown_for_that_tick(tmp_path: Path) -> None:
    devices = {
        "00000000:17:00.0": {"name": "A", "util": 50, "used": GiB, "total": 8 * GiB, "procs": []},
        "00000000:E1:00.0": {"name": "B", "util": 9, "used": GiB, "total": 8 * GiB, "procs": []},
    }
    box = Box(tmp_path, NVIDIA, fake_nvml(devices))
    box.tick()
    devices["00000000:E1:00.0"]["lost"] = True
    f = box.tick()
    assert [(s.index, s.util_pct) for s in f.gpus] == [(0, 50.0), (1, None)]


def test_without_nvml_the_device_files_held_open_say_who_uses_which_gpu(tmp_path: Path) -> None:
    box = Box(tmp_path, NVIDIA, fake_nvml({}, fail_init=True))
    box.hold(4242, 3, "/dev/nvidiactl")
    box.hold(4242, 4, "/dev/nvidia-uvm")
    box.hold(4242, 5, "/dev/nvidia1")
    box.hold(4242, 6, "/dev/null")
    f = box.tick()
    assert f.errors == ("no NVML (Driver Not Loaded): GPU use read from /proc",)
    row = f.process(4242)
    assert row is not None and row.gpus == (1,) and row.gpu_mem_bytes is None
    assert [(s.index, s.source, s.util_pct) for s in f.gpus] == [
        (0, "devfs", None),
        (1, "devfs", None),
    ]
    assert box.tick().errors == ()  # said once


def test_nvml_not_installed_is_one_line(tmp_path: Path) -> None:
    def missing() -> Any:
        raise ImportError("No module named 'pynvml'")

    gpus = discover_box_gpus(tmp_path)
    nvml, note = Nvml.open(gpus, loader=missing)
    assert nvml is None and note == "no NVML (pip install numaview[gpu]): GPU use read from /proc"


def discover_box_gpus(root: Path) -> tuple[Any, ...]:
    m = build_machine(root, Shape())
    add_pci_devices(root, m, NVIDIA)
    return discover(root).gpus


AMD_FDINFO = """pos:\t0
flags:\t02100002
drm-driver:\tamdgpu
drm-pdev:\t0000:45:00.0
drm-client-id:\t{client}
drm-engine-gfx:\t{gfx} ns
drm-engine-compute:\t{compute} ns
drm-memory-vram:\t1048576 KiB
drm-memory-gtt:\t2048 KiB
"""


def test_drm_fdinfo_gives_amd_gpu_load_and_memory_per_process(tmp_path: Path) -> None:
    amd = FakeGpu("0000:45:00.0", vendor=0x1002, pci_class=0x120000, numa_node="1")
    box = Box(tmp_path, [amd], None)
    for fd in (7, 8):  # two descriptors of one client: counted once
        box.hold(4242, fd, "/dev/dri/renderD128", AMD_FDINFO.format(client=12, gfx=0, compute=0))
    box.tick()
    for fd in (7, 8):
        box.hold(4242, fd, "/dev/dri/renderD128",
                 AMD_FDINFO.format(client=12, gfx=250_000_000, compute=500_000_000))  # fmt: skip
    f = box.tick()
    (s,) = f.gpus
    assert (s.index, s.source, s.util_pct, s.mem_used_bytes) == (0, "fdinfo", 50.0, GiB)
    row = f.process(4242)
    assert row is not None and row.gpus == (0,) and row.gpu_mem_bytes == {0: GiB}


def test_fdinfo_parsing_follows_drm_usage_stats() -> None:
    c = parse_drm_fdinfo(
        "drm-driver: i915\ndrm-pdev: 0000:00:02.0\ndrm-client-id: 7\n"
        "drm-engine-render: 12345 ns\ndrm-engine-capacity-render: 2\n"
        "drm-total-local0: 3 MiB\ndrm-resident-local0: 2 MiB\ndrm-total-system0: 9 MiB\n"
    )
    assert c is not None and c.pdev == "0000:00:02.0" and c.client_id == "7"
    assert c.engine_ns == {"render": 12345} and c.mem_bytes == 2 * 1024**2
    assert parse_drm_fdinfo("pos: 0\nflags: 02\n") is None  # not a GPU client


def test_nvml_bus_ids_match_sysfs_names() -> None:
    assert pci_from_nvml(b"00000000:8D:00.0") == "0000:8d:00.0"
    assert pci_from_nvml("00000001:0A:00.0") == "0001:0a:00.0"


def test_a_machine_without_gpus_pays_nothing(tmp_path: Path) -> None:
    box = Box(tmp_path, [], None)
    f = box.tick()
    assert f.gpus == () and all(p.gpus == () for p in f.processes)
    assert box.sampler.gpus.nvml is None and box.sampler.gpus.note is None


@pytest.mark.real
def test_real_processes_hold_no_gpu_here_and_the_real_nvml_says_why_it_is_absent(
    tmp_path: Path,
) -> None:
    fds = read_gpu_fds(FsRoot("/"), os.getpid())
    assert fds is not None and fds.nvidia_minors == () and fds.drm == ()
    assert read_gpu_fds(FsRoot("/"), 2**22 + 7) is None  # no such process
    # nvidia-ml-py (the gpu extra, which ./dev installs) is the real library here.
    import pynvml

    nvml, note = Nvml.open(discover_box_gpus(tmp_path), lib=pynvml)
    has_driver = os.path.exists("/proc/driver/nvidia")
    assert (nvml is None) != has_driver
    if not has_driver:
        assert note is not None and note.startswith("no NVML (") and "\n" not in note


def test_other_users_processes_unreadable_without_root_are_said_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = Box(tmp_path, NVIDIA, fake_nvml({}, fail_init=True))
    box.hold(4242, 5, "/dev/nvidia1")
    real = os.listdir
    denied = str(tmp_path / "proc/4242/fd")

    def listdir(path: Any = ".") -> list[str]:
        if str(path) == denied:
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)
    f = box.tick()
    assert f.errors == (
        "no NVML (Driver Not Loaded): GPU use read from /proc",
        "GPU use: other users' processes cannot be read without root; their GPUs are not shown",
    )
    row = f.process(4242)
    assert row is not None and row.gpus == ()  # not guessed
    assert box.tick().errors == ()  # said once
    monkeypatch.setattr(os, "listdir", real)
    for _ in range(11):  # its next turn (every 10 s): now readable
        f = box.tick()
    row = f.process(4242)
    assert row is not None and row.gpus == (1,)
