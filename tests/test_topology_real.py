"""Discovery on this machine's real /sys agrees with lscpu and the node directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from numaview.linux.sysfs import discover
from numaview.model.cpuset import parse_cpulist
from numaview.model.topology import Topology

pytestmark = pytest.mark.real


def parse_lscpu(out: str) -> list[dict[str, str]]:
    """lscpu -p rows keyed by header name.

    util-linux writes the caches either as separate columns (``,L1d,L1i,L2,L3``,
    2.38) or as one colon-joined column (``L1d:L1i:L2:L3``, older and newer
    builds); both become keys L1D, L1I, L2, L3.
    """
    header: list[str] = []
    rows = []
    for line in out.splitlines():
        if line.startswith("# CPU,"):
            header = line[2:].upper().split(",")
        elif line.strip() and not line.startswith("#"):
            row: dict[str, str] = {}
            for key, value in zip(header, line.split(","), strict=True):
                if ":" in key:
                    row.update(zip(key.split(":"), value.split(":"), strict=True))
                else:
                    row[key] = value
            rows.append(row)
    assert header and rows, out
    return rows


def lscpu_rows() -> list[dict[str, str]]:
    exe = shutil.which("lscpu")
    assert exe, "lscpu (util-linux) is required; .ci/run installs it"
    out = subprocess.run(
        [exe, "-p=CPU,CORE,SOCKET,NODE,CACHE,ONLINE", "--all"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return parse_lscpu(out)


def groups(rows: list[dict[str, str]], key: str) -> set[frozenset[int]]:
    out: defaultdict[str, set[int]] = defaultdict(set)
    for r in rows:
        if r["ONLINE"] == "Y" and r[key] != "":
            out[r[key]].add(int(r["CPU"]))
    return {frozenset(v) for v in out.values()}


def check_lscpu(topo: Topology, rows: list[dict[str, str]]) -> None:
    assert [c.id for c in topo.cpus] == [int(r["CPU"]) for r in rows]
    assert [c.online for c in topo.cpus] == [r["ONLINE"] == "Y" for r in rows]
    assert {frozenset(k.cpus) for k in topo.cores} == groups(rows, "CORE")
    assert {frozenset(p.cpus) for p in topo.packages} == groups(rows, "SOCKET")
    if any(r["NODE"] for r in rows):
        assert {frozenset(n.cpus) for n in topo.nodes if n.cpus} == groups(rows, "NODE")
    if topo.l3:
        assert {frozenset(c.cpus) for c in topo.l3} == groups(rows, "L3")
    if topo.l2:
        assert {frozenset(c.cpus) for c in topo.l2} == groups(rows, "L2")


def test_agrees_with_lscpu() -> None:
    topo = discover("/")
    check_lscpu(topo, lscpu_rows())
    assert topo.warnings == ()


def test_agrees_with_node_directory() -> None:
    topo = discover("/")
    base = Path("/sys/devices/system/node")
    ids = sorted(int(p.name[4:]) for p in base.glob("node[0-9]*"))
    assert [n.id for n in topo.nodes] == ids
    for n in topo.nodes:
        d = base / f"node{n.id}"
        assert n.cpus == parse_cpulist((d / "cpulist").read_text())
        mem_kb = next(
            int(line.split()[3])
            for line in (d / "meminfo").read_text().splitlines()
            if "MemTotal" in line
        )
        assert n.mem_total_bytes == mem_kb * 1024
        dist = [int(x) for x in (d / "distance").read_text().split()]
        assert n.distances is not None
        assert [n.distances[i] for i in ids] == dist


def test_allowed_matches_this_process() -> None:
    topo = discover("/")
    assert topo.allowed.cpus == tuple(sorted(os.sched_getaffinity(0)))
    assert topo.allowed.mems is not None and 0 in topo.allowed.mems
