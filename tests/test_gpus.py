"""GPUs on the topology (issue 16, item 1): found in sysfs, placed on their node, numbered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from numaview.linux.sysfs import discover
from numaview.model.topology import Topology
from numaview.render.describe import render_tree
from tests.fakefs import FakeGpu, Machine, Shape, add_pci_devices, build_machine

H100 = 0x2330


def server(root: Path, devices: list[FakeGpu], **shape: object) -> Machine:
    m = build_machine(root, Shape(**shape))  # type: ignore[arg-type]
    add_pci_devices(root, m, devices)
    return m


def mixed() -> list[FakeGpu]:
    return [
        FakeGpu("0000:00:02.0", vendor=0x8086, pci_class=0x030000, device=0x4680, drm_card="card0"),
        FakeGpu("0000:03:00.0", vendor=0x1A03, pci_class=0x030000, device=0x2000),  # BMC VGA
        FakeGpu("0000:17:00.0", nvidia_minor=0, drm_card="card1"),
        FakeGpu("0000:17:00.1", pci_class=0x040300, device=0x22A3),  # its HDMI audio
        FakeGpu("0000:45:00.0", vendor=0x1002, pci_class=0x120000, device=0x74A1, numa_node="1"),
        FakeGpu("0000:ca:00.0", numa_node="2", nvidia_minor=1),
        FakeGpu("0000:e1:00.0", numa_node="-1", nvidia_minor=2),  # firmware said nothing
        FakeGpu("0000:e5:00.0", vendor=0x10DE, pci_class=0x068000, device=0x22A3),  # NVSwitch
    ]


def test_gpus_are_numbered_nvidia_first_and_placed_on_their_nodes(tmp_path: Path) -> None:
    m = server(tmp_path, mixed())
    topo = discover(tmp_path)
    got = [(g.label, g.vendor, g.pci, g.node) for g in topo.gpus]
    assert got == [
        ("GPU0", "nvidia", "0000:17:00.0", 0),
        ("GPU1", "nvidia", "0000:ca:00.0", 2),
        ("GPU2", "nvidia", "0000:e1:00.0", None),
        ("GPU3", "amd", "0000:45:00.0", 1),
        ("GPU4", "intel", "0000:00:02.0", 0),
    ]
    g0, g1, g2, amd, intel = topo.gpus
    assert g0.local_cpus == tuple(sorted(c for c in m.cpus if m.node_of[c] == 0))
    assert g1.local_cpus == tuple(sorted(c for c in m.cpus if m.node_of[c] == 2))
    # numa_node -1: the kernel lists every CPU as local; that is not shown as local.
    assert g2.local_cpus == () and g2.node is None
    assert (g0.minor, g1.minor, g2.minor, amd.minor) == (0, 1, 2, None)
    assert (g0.drm, intel.drm, amd.drm) == ("card1", "card0", None)
    assert (amd.pci_class, amd.device_id) == (0x120000, 0x74A1)
    assert topo.warnings == ()


def test_gpu_memory_nodes_are_tied_to_their_gpu(tmp_path: Path) -> None:
    devices = [
        FakeGpu("0000:17:00.0", nvidia_minor=0, numa_status_node=4),
        FakeGpu("0000:ca:00.0", numa_node="2", nvidia_minor=1, numa_status_node=5),
        FakeGpu("0000:cb:00.0", numa_node="2", nvidia_minor=2, numa_status_node=1),  # a CPU node
    ]
    server(tmp_path, devices, memory_only_nodes={4: 96 * 1024**3, 5: 96 * 1024**3})
    topo = discover(tmp_path)
    assert [g.memory_nodes for g in topo.gpus] == [(4,), (5,), ()]
    text = render_tree(topo)
    assert "Node 4: 96 GiB, memory only: the memory of GPU0" in text
    assert "Node 5: 96 GiB, memory only: the memory of GPU1" in text
    assert "GPU0 nvidia 0000:17:00.0 (10de:2330, 3D controller), /dev/nvidia0, near CPUs" in text
    assert ", its memory is node 4" in text


def test_tree_lists_each_gpu_under_its_node_and_unknown_ones_apart(tmp_path: Path) -> None:
    server(tmp_path, mixed())
    lines = render_tree(discover(tmp_path)).splitlines()
    node2 = next(i for i, line in enumerate(lines) if line.startswith("    Node 2:"))
    assert any(
        line.strip().startswith("GPU1 nvidia 0000:ca:00.0") for line in lines[node2 : node2 + 3]
    )
    unknown = lines.index("  GPUs on no known node (the firmware gives no numa_node):")
    assert lines[unknown + 1].strip().startswith("GPU2 nvidia 0000:e1:00.0")
    assert lines[unknown + 1].endswith("node unknown")
    assert "GPU3 amd 0000:45:00.0 (1002:74a1, accelerator)" in "\n".join(lines)
    assert not any("1a03" in line or "0000:17:00.1" in line for line in lines)


def test_junk_in_gpu_files_is_unknown_with_a_warning(tmp_path: Path) -> None:
    devices = [
        FakeGpu("0000:17:00.0", numa_node="banana"),
        FakeGpu("0000:18:00.0", numa_node="9"),  # no such node
        FakeGpu("0000:19:00.0", numa_node="1", local_cpulist="zz-top"),
        FakeGpu("0000:1a:00.0", nvidia_minor=3, numa_status_node=None),
    ]
    server(tmp_path, devices)
    (tmp_path / "sys/bus/pci/devices/0000:1b:00.0").mkdir()  # a device without class/vendor
    (tmp_path / "proc/driver/nvidia/gpus/0000:1a:00.0/numa_status").write_text("Node: x\n")
    topo = discover(tmp_path)
    assert [(g.pci, g.node, g.local_cpus) for g in topo.gpus] == [
        ("0000:17:00.0", None, ()),
        ("0000:18:00.0", None, ()),
        ("0000:19:00.0", 1, ()),
        ("0000:1a:00.0", 0, topo.gpus[3].local_cpus),
    ]
    assert topo.gpus[3].local_cpus and topo.gpus[3].memory_nodes == ()
    warned = "\n".join(topo.warnings)
    assert "GPU 0000:17:00.0: numa_node holds 'banana', not a number" in warned
    assert "GPU 0000:18:00.0: numa_node 9 is not a node of this machine" in warned
    assert "GPU 0000:19:00.0: local_cpulist 'zz-top' is not a CPU list" in warned
    assert "GPU 0000:1a:00.0: numa_status says Node 'x'" in warned


def test_no_pci_bus_means_no_gpus_and_no_warning(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape())
    topo = discover(tmp_path)
    assert topo.gpus == () and topo.warnings == ()
    assert "GPU" not in render_tree(topo)


def test_gpus_survive_json_and_older_topologies_have_none(tmp_path: Path) -> None:
    server(tmp_path, mixed(), memory_only_nodes={4: 1024**3})
    topo = discover(tmp_path)
    back = Topology.from_dict(json.loads(json.dumps(topo.to_dict())))
    assert back == topo and len(back.gpus) == 5
    old = topo.to_dict()
    del old["gpus"]
    assert Topology.from_dict(old).gpus == ()


def test_cli_topology_shows_gpus_in_text_and_json(tmp_path: Path) -> None:
    server(tmp_path, mixed())
    run = [sys.executable, "-m", "numaview", "topology", "--root", str(tmp_path)]
    text = subprocess.run(run, capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and text.stderr == ""
    assert (
        "GPU1 nvidia 0000:ca:00.0 (10de:2330, 3D controller), /dev/nvidia1, near CPUs"
        in text.stdout
    )
    js = subprocess.run([*run, "--json"], capture_output=True, text=True, timeout=60)
    gpus = json.loads(js.stdout)["gpus"]
    assert [(g["label"], g["node"], g["class"]) for g in gpus] == [
        ("GPU0", 0, "0x030200"),
        ("GPU1", 2, "0x030200"),
        ("GPU2", None, "0x030200"),
        ("GPU3", 1, "0x120000"),
        ("GPU4", 0, "0x030000"),
    ]
    assert gpus[2]["local_cpus"] == [] and gpus[0]["local_cpulist"] == "0-3,16-19"


def test_this_machines_gpus_are_the_pci_display_and_accelerator_functions() -> None:
    """On the real /sys: every GPU-class function of the three vendors is listed, on its node."""
    base = Path("/sys/bus/pci/devices")
    want = {}
    for dev in sorted(base.iterdir()) if base.is_dir() else []:
        try:
            cls = int((dev / "class").read_text(), 16)
            vendor = int((dev / "vendor").read_text(), 16)
            node = int((dev / "numa_node").read_text()) if (dev / "numa_node").exists() else -1
        except (OSError, ValueError):
            continue
        if cls >> 16 in (0x03, 0x12) and vendor in (0x10DE, 0x1002, 0x8086):
            want[dev.name] = node if node >= 0 else None
    topo = discover("/")
    assert {g.pci: g.node for g in topo.gpus} == want
    assert os.path.exists("/sys/bus/pci/devices") or topo.gpus == ()


def test_a_recording_carries_the_gpus_to_another_machine(tmp_path: Path) -> None:
    from numaview.record.reader import Reader
    from numaview.record.writer import Writer
    from numaview.sampler.sampler import Sampler

    server(tmp_path / "tree", mixed())
    topo = discover(tmp_path / "tree")
    frame = Sampler(tmp_path / "tree", topo).sample()
    with Writer(tmp_path / "r.nvr", topo, 1.0) as w:
        w.add_frame(frame)
    with Reader(tmp_path / "r.nvr") as r:
        assert r.topology.gpus == topo.gpus and len(r.topology.gpus) == 5


def test_the_simulated_machine_has_eight_gpus_and_a_server_far_from_two(tmp_path: Path) -> None:
    from numaview.demo.machine import SimulatedSampler

    clock = iter(range(100))
    s = SimulatedSampler(clock=lambda: float(next(clock)), wall=lambda: 0.0)
    for _ in range(7):  # past the 5 s ramp
        f = s.sample()
    assert [(g.label, g.node) for g in s.topology.gpus] == [(f"GPU{k}", k // 2) for k in range(8)]
    assert [g.index for g in f.gpus] == list(range(8))
    trt = f.process(5600)
    assert trt is not None and trt.gpus == (4, 5) and trt.nodes_running == (3,)
    busy = {g.index: g.util_pct for g in f.gpus}
    assert all(busy[k] is not None and busy[k] > 50 for k in (4, 5))  # type: ignore[operator]
    assert all(busy[k] is not None and busy[k] < 5 for k in (0, 1, 2, 3, 6, 7))  # type: ignore[operator]


def test_process_detail_lines_put_each_gpus_node_beside_threads_and_memory(tmp_path: Path) -> None:
    import dataclasses

    from numaview.model.frame import ProcessSample
    from numaview.render.gpus import gpu_lines

    server(tmp_path, mixed())
    topo = discover(tmp_path)
    base = ProcessSample(
        pid=9, start_time=1.0, ppid=1, user="u", name="srv", cmdline="srv", state="R",
        cpu_pct=300.0, threads=8, affinity=None, last_cpus=(0,), nodes_running=(0,),
        rss_bytes=GIB_, mem_by_node_bytes={0: 3 * GIB_, 2: GIB_},
    )  # fmt: skip
    near = dataclasses.replace(base, gpus=(0,), gpu_mem_bytes={0: 2 * GIB_})
    assert gpu_lines(near, topo) == [
        "  GPU0 nvidia, node 0, 2G of GPU memory; threads on node 0, memory 75 % on node 0"
    ]
    far = dataclasses.replace(base, gpus=(1, 2), nodes_running=(0, 1))
    lines = gpu_lines(far, topo)
    assert lines[0].endswith("← threads and memory off its node")  # GPU1 is on node 2
    assert "nodes 0,1" in lines[0]
    assert lines[1].endswith("(its node is unknown)")  # GPU2: numa_node -1
    assert gpu_lines(base, topo) == []


GIB_ = 1024**3


def test_near_gpu_is_a_pin_target_in_the_dialog_and_on_the_command_line(tmp_path: Path) -> None:
    import dataclasses

    from numaview.demo.machine import SimulatedSampler
    from numaview.pinning.plan import PinError, gpu_target
    from numaview.tui.screens.pin_choices import choices

    m = server(tmp_path, mixed())
    topo = discover(tmp_path)
    t = gpu_target(topo, 1)
    node2 = tuple(sorted(c for c in m.cpus if m.node_of[c] == 2))
    assert (t.kind, t.label, t.cpus, t.nodes) == ("gpu", "near GPU1 (node 2)", node2, (2,))
    with pytest.raises(PinError, match="GPU2's NUMA node is unknown"):
        gpu_target(topo, 2)
    with pytest.raises(PinError, match=r"no GPU 9 \(GPUs: 0,1,2,3,4\)"):
        gpu_target(topo, 9)
    # The dialog offers the GPUs the process drives first, then the others.
    clock = iter(range(10))
    sim = SimulatedSampler(clock=lambda: float(next(clock)), wall=lambda: 0.0)
    frame = sim.sample()
    trt = frame.process(5600)
    assert trt is not None
    ids = [c.id for c in choices(sim.topology, frame, trt, None, False) if c.id.startswith("gpu:")]
    assert ids == ["gpu:4", "gpu:5", "gpu:0", "gpu:1", "gpu:2", "gpu:3", "gpu:6", "gpu:7"]
    labels = [c.text for c in choices(sim.topology, frame, trt, None, False)]
    assert any(
        lab.startswith("near GPU4 (node 2)") and "it drives this GPU" in lab for lab in labels
    )
    other = dataclasses.replace(trt, gpus=())
    assert [c.id for c in choices(sim.topology, frame, other, None, False)].count("gpu:4") == 1


def test_pin_gpu_on_a_machine_without_that_gpu_is_one_line_exit_2() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        r = subprocess.run(
            [sys.executable, "-m", "numaview", "pin", str(sleeper.pid), "--gpu", "0", "--dry-run"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        sleeper.kill()
        sleeper.wait()
    gpus = discover("/").gpus
    if not gpus:  # this machine: no GPU at all
        assert r.returncode == 2 and r.stderr.strip() == "numaview: error: no GPU on this machine"
    else:
        assert r.returncode in (0, 2) and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 1
