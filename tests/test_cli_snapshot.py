"""`numaview snapshot`: the real command in a subprocess, and its text on known frames.

A subprocess cannot move fake counters between its two readings, so numbers
that must come out right (90 % busy, 150 % CPU) are checked by sampling a fake
tree with a FakeClock here and calling render_snapshot directly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

import pytest

from numaview.linux.sysfs import discover
from numaview.model.frame import CPU_METRICS, CpuTable, Frame, NodeSample, ProcessSample
from numaview.model.frame import SystemSample as System
from numaview.model.topology import Topology
from numaview.render.labels import affinity_label as affinity_text
from numaview.render.snapshot_text import render_snapshot
from numaview.render.units import size
from numaview.sampler.sampler import CLK_TCK, Sampler, SamplerOptions
from tests.fakefs import (
    FakeClock,
    FakeProc,
    FakeProcess,
    FakeThread,
    FakeTree,
    Machine,
    Shape,
    build_machine,
)

FRAME_KEYS = {"version", "time", "interval_s", "cpus", "nodes", "system", "processes", "errors"}
NODE1 = [4, 5, 6, 7, 20, 21, 22, 23]  # Shape(): CPU = thread * 16 + core, 4 cores a node
NOT_A_NODE = [0, 1, 2, 3, 20, 21, 22, 23]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "numaview", "snapshot", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@dataclass
class Fake:
    machine: Machine
    proc: FakeProc
    topo: Topology


def fake_2s(root: Path) -> Fake:
    """Shape(): 2 packages, 4 nodes, 32 CPUs; four processes with chosen affinities."""
    m = build_machine(root, Shape())
    FakeTree(root).write("etc/passwd", "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n")
    fp = FakeProc(root, m.cpus, m.node_ids)
    fp.psi = None  # a kernel without PSI: no PSI item, rather than zeros
    fp.add(
        FakeProcess(
            pid=100,
            name="solver",
            cmdline=["./solver", "--threads", "2"],
            uid=1000,
            affinity=list(m.cpus),
            rss_pages=400_000,
            threads=[FakeThread(100, "solver", cpu=3), FakeThread(101, "solver-w", cpu=20)],
            numa_pages={0: 314_573 - 12, 1: 7680},  # +12 pages of text and stack on N0
        )
    )
    fp.add(FakeProcess(pid=200, name="pinned", cmdline=["pinned"], affinity=NODE1))
    fp.add(FakeProcess(pid=300, name="odd", cmdline=["odd"], affinity=NOT_A_NODE))
    fp.add(FakeProcess(pid=400, name="kworker/0:1", kernel=True, affinity=list(m.cpus)))
    fp.write()
    return Fake(m, fp, discover(root))


def sampled(fake: Fake) -> Frame:
    """Two ticks one fake second apart: CPU 3 90 % busy, pid 100 at 150 % CPU."""
    clock = FakeClock()
    options = SamplerOptions(refresh_every=1)  # as `numaview snapshot` sets it
    s = Sampler(fake.machine.root, fake.topo, options, clock=clock, wall=lambda: 1.7e9)
    s.sample()
    fp = fake.proc
    fp.cpus[3]["user"] += 90
    fp.cpus[3]["idle"] += 10
    solver = fp.processes[100]
    solver.threads[0].ticks += int(1.5 * CLK_TCK)
    solver.involuntary += 50
    fp.uptime += 1.0
    clock.advance(1.0)
    fp.write()
    return s.sample()


def row_of(text: str, pid: int) -> str:
    rows = [line for line in text.splitlines() if line.split()[:1] == [str(pid)]]
    assert len(rows) == 1, text
    return rows[0]


def section(text: str, title: str) -> list[str]:
    """The lines from ``title`` up to the next blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


# -- known answers ---------------------------------------------------------------


def test_render_known_values(tmp_path: Path) -> None:
    frame = sampled(fake_2s(tmp_path))
    topo = discover(tmp_path)
    text = render_snapshot(frame, topo, 20)
    assert frame.errors == ()
    assert text.splitlines()[0].startswith("host fakehost  ")
    assert "interval 1.00 s" in text.splitlines()[0]

    solver = row_of(text, 100).split()
    # PID USER CPU% THR RSS AFFINITY NODES INVOL/s MEM/NODE(2 words) COMMAND...
    assert solver[:5] == ["100", "alice", "150.0", "2", size(400_000 * 4096, short=True)]
    assert solver[5:8] == ["all", "0,1", "50.0"]  # NODES as the TUI writes them
    assert solver[8:10] == ["0:1.2G", "1:30M"]
    assert solver[10:] == ["./solver", "--threads", "2"]
    assert row_of(text, 200).split()[7] == "0.0"  # idle, yet its rate is known
    kworker = row_of(text, 400).split()
    assert kworker[2] == "0.0" and kworker[-1] == "[kworker/0:1]"
    assert kworker[-2] == "–"  # numa_maps of a kernel thread: unknown, not 0

    cpus = section(text, "CPUs")
    assert "  node 0: CPUs 0-3,16-19, mean 11.2" in cpus
    assert "     0:  0.0     1:  0.0     2:  0.0     3: 90.0" in cpus[2]
    assert "  node 1: CPUs 4-7,20-23, mean 0.0" in cpus

    nodes = section(text, "Nodes")
    header = "NODE BUSY% USED FREE TOTAL FILE ANON HIT/s MISS/s LOCAL/s OTHER/s CPUS"
    assert nodes[1].split() == header.split(" ")
    node0 = nodes[2].split()
    assert node0[0:2] == ["0", "11.2"]
    assert " ".join(node0[2:12]) == "8 GiB 8 GiB 16 GiB 1 GiB 2 GiB"
    assert node0[-1] == "0-3,16-19"

    system = " ".join(section(text, "System"))
    assert "load 0.50 0.40 0.30" in system and "procs 1 running, 0 blocked" in system
    assert "ctx switches 0.0/s" in system and "PSI" not in system
    assert "Processes (all 4, by CPU):" in text


def test_affinity_column(tmp_path: Path) -> None:
    text = render_snapshot(sampled(fake_2s(tmp_path)), discover(tmp_path), 0)
    assert row_of(text, 100).split()[5] == "all"
    assert row_of(text, 200).split()[5] == "node1"
    assert row_of(text, 300).split()[5] == "0-3,20-23"


def test_affinity_text_rules(tmp_path: Path) -> None:
    topo = build_and_discover(tmp_path, Shape(offline={5}))
    online = list(topo.online_cpus)
    assert affinity_text(online, topo) == "all"
    assert affinity_text(range(32), topo) == "all"  # offline CPU 5 in the mask too
    assert affinity_text([4, 6, 7, 20, 21, 22, 23], topo) == "node1"  # its online CPUs
    assert affinity_text(NODE1, topo) == "node1"  # and with the offline one
    assert affinity_text([0, 1, 2, 3, 16, 17, 18, 19], topo) == "node0"
    assert affinity_text([0, 1, 2, 3], topo) == "0-3"
    assert affinity_text(None, topo) == "–"


def build_and_discover(root: Path, shape: Shape) -> Topology:
    build_machine(root, shape)
    return discover(root)


def test_rows_cut_to_limit_say_how_many_more(tmp_path: Path) -> None:
    text = render_snapshot(sampled(fake_2s(tmp_path)), discover(tmp_path), 2)
    lines = text.splitlines()
    assert "Processes (top 2 of 4, by CPU):" in lines
    assert lines[-1] == "… 2 more processes (use --top N or --json)"
    assert row_of(text, 100)  # the busiest survives the cut


def test_first_frame_prints_unknown_not_zero(tmp_path: Path) -> None:
    fake = fake_2s(tmp_path)
    frame = Sampler(tmp_path, fake.topo, clock=FakeClock()).sample()  # nothing to compare yet
    text = render_snapshot(frame, fake.topo, 20)
    assert "     0:    –     1:    –" in section(text, "CPUs")[2]
    assert row_of(text, 100).split()[2] == "–"
    assert section(text, "Nodes")[2].split()[1] == "–"


# -- the command -----------------------------------------------------------------


def test_json_on_fake_machine(tmp_path: Path) -> None:
    fake_2s(tmp_path)
    r = run("--root", str(tmp_path), "--json", "--interval", "0.1")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) >= FRAME_KEYS
    assert len(d["cpus"]) == 32 and len(d["nodes"]) == 4
    assert d["errors"] == []
    assert {p["pid"] for p in d["processes"]} == {100, 200, 300, 400}
    assert Frame.from_dict(d).interval_s == pytest.approx(0.1, abs=0.05)


def test_text_on_fake_machine(tmp_path: Path) -> None:
    fake_2s(tmp_path)
    r = run("--root", str(tmp_path), "--interval", "0.1", "--top", "3")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert "Nodes:" in r.stdout and "CPUs (busy %):" in r.stdout
    assert r.stdout.rstrip().endswith("… 1 more process (use --top N or --json)")
    assert row_of(r.stdout, 200).split()[7] == "0.0"  # statuses re-read on the 2nd tick
    assert "\x1b" not in r.stdout  # plain text: no colour codes


def test_top_is_passed_to_the_sampler(tmp_path: Path) -> None:
    fake_2s(tmp_path)
    r = run("--root", str(tmp_path), "--interval", "0.1", "--top", "2", "--json")
    d = json.loads(r.stdout)
    assert len(d["processes"]) == 2 and d["system"]["processes_total"] == 4


def test_tree_without_proc_still_prints_a_frame(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape())
    FakeTree(tmp_path).remove("proc")
    r = run("--root", str(tmp_path), "--interval", "0.1")
    assert r.returncode == 0, r.stderr
    assert "Errors:" in r.stdout and "processes: cannot list" in r.stdout
    assert "Processes: none read" in r.stdout
    node0 = section(r.stdout, "Nodes")[2].split()
    assert node0[1] == "–" and node0[-1] == "0-3,16-19"  # busy unknown, not 0
    rj = run("--root", str(tmp_path), "--interval", "0.1", "--json")
    assert rj.returncode == 0, rj.stderr
    d = json.loads(rj.stdout)
    assert any("proc/stat" in e for e in d["errors"]) and d["processes"] == []


def test_bad_root_is_one_line_error(tmp_path: Path) -> None:
    r = run("--root", str(tmp_path / "nope"))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"numaview: error: --root {tmp_path / 'nope'}: not a directory"
    ]
    r = run("--root", str(tmp_path))  # a directory without sys/
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.mark.parametrize("value", ["0", "0.05", "61", "-1", "nan", "inf", "abc"])
def test_interval_out_of_range_exits_2(value: str) -> None:
    r = run("--interval", value)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"numaview: error: --interval {value}: must be a number of seconds from 0.1 to 60"
    ]
    assert r.stdout == ""


def test_negative_top_exits_2() -> None:
    r = run("--top", "-1", "--interval", "0.1")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


# -- 1024 CPUs ---------------------------------------------------------------------


def test_1024_cpus_fit_in_100_columns(big_machine: Machine) -> None:
    r = run("--root", str(big_machine.root), "--interval", "0.1")
    assert r.returncode == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 100
    assert len(section(r.stdout, "CPUs")) < 200


def test_1024_cpus_busy_frame_fits(big_machine: Machine) -> None:
    """Widest values everywhere: 100.0 on every CPU, 16-node memory maps, odd affinities."""
    topo = discover(big_machine.root)
    ids = [c.id for c in topo.cpus]
    table = CpuTable(
        tuple(ids), (True,) * len(ids), {m: array("f", [100.0] * len(ids)) for m in CPU_METRICS}
    )
    procs = tuple(
        ProcessSample(
            pid=4_000_000 + i,
            start_time=1.0,
            ppid=1,
            user="a-very-long-user-name",
            name="x",
            cmdline="/opt/app/bin/server " + "--flag " * 30,
            state="R",
            cpu_pct=102400.0,
            threads=100_000,
            affinity=tuple(range(0, 1024, 3)),
            last_cpus=tuple(range(0, 1024, 7)),
            nodes_running=tuple(range(0, 16, 2)),
            rss_bytes=5 * 1024**5,
            ctx_involuntary_per_s=123_456_789.0,
            mem_by_node_bytes={n: 3 * 1024**3 for n in range(16)},
        )
        for i in range(30)
    )
    nodes = tuple(
        NodeSample(n, 100.0, 1024**5, 1024**5 - 1, 1023 * 1024**4, 1000 * 1024**4, 9 * 10**12)
        for n in range(16)
    )
    frame = Frame(1.7e9, 1.0, 1.0, table, nodes, System(processes_total=10**6), procs)
    text = render_snapshot(frame, topo, 0)
    assert max(len(line) for line in text.splitlines()) <= 100, text
    cpus = section(text, "CPUs")
    assert len(cpus) < 200
    assert cpus[2].split()[:2] == ["0:100.0", "1:100.0"]
    assert "512:100.0" in " ".join(cpus).split()


# -- this machine ------------------------------------------------------------------


@pytest.mark.real
def test_text_on_real_machine() -> None:
    r = run("--interval", "0.1", "--top", "0")
    assert r.returncode == 0, r.stderr
    assert "Nodes:" in r.stdout and "Processes (all" in r.stdout
    assert row_of(r.stdout, os.getpid())  # pytest: the snapshot's parent
    assert max(len(line) for line in r.stdout.splitlines()) <= 100


@pytest.mark.real
def test_json_on_real_machine() -> None:
    r = run("--json", "--interval", "0.2")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) >= FRAME_KEYS
    assert abs(d["interval_s"] - 0.2) < 0.05
    assert len(d["cpus"]) >= 1


def test_snapshot_does_not_load_textual(tmp_path: Path) -> None:
    fake_2s(tmp_path)
    code = (
        "import sys, contextlib, io\n"
        "from numaview.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['snapshot', '--root', {str(tmp_path)!r}, '--interval', '0.1']) == 0\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'plotext')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
