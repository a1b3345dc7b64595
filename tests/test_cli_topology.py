"""`numaview topology` as a user runs it: a subprocess, real exit codes and stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fakefs import FakeTree, Machine, Shape, build_machine


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "numaview", *args], capture_output=True, text=True, timeout=60
    )


def test_topology_text_on_fake_machine(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(memory_only_nodes={4: 1024**4}))
    r = run("topology", "--root", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "Machine fakehost (Linux 6.1.0-fake) — Fake CPU 9000" in r.stdout
    assert "32 CPUs, 2 packages, 5 nodes, 16 cores, SMT2" in r.stdout
    assert "    Node 1: CPUs 4-7,20-23, 16 GiB" in r.stdout
    assert "Node 4: 1 TiB, memory only" in r.stdout
    assert r.stderr == ""


def test_topology_json_on_real_machine() -> None:
    r = run("topology", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert {"cpus", "nodes", "packages", "cores", "l3"} <= set(d)
    assert len(d["cpus"]) >= 1


def test_root_env_var(tmp_path: Path, monkeypatch) -> None:
    build_machine(tmp_path, Shape(packages=1, nodes_per_package=1, smt=1))
    monkeypatch.setenv("NUMAVIEW_FSROOT", str(tmp_path))
    d = json.loads(run("topology", "--json", "--compact").stdout)
    assert len(d["cpus"]) == 4


def test_bad_root_is_one_line_error(tmp_path: Path) -> None:
    r = run("topology", "--root", str(tmp_path / "nope"))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"numaview: error: --root {tmp_path / 'nope'}: not a directory"
    ]


def test_empty_tree_is_one_line_error(tmp_path: Path) -> None:
    r = run("topology", "--root", str(tmp_path))
    assert r.returncode == 1
    assert len(r.stderr.strip().splitlines()) == 1
    assert "no CPU information" in r.stderr and "Traceback" not in r.stderr


def test_broken_tree_warns_but_succeeds(tmp_path: Path) -> None:
    build_machine(tmp_path, Shape(packages=1, nodes_per_package=2, smt=1))
    t = FakeTree(tmp_path)
    t.write("sys/devices/system/cpu/online", "zz")
    t.write("sys/devices/system/node/node0/cpulist", "\x00\x00garbage")
    t.remove("sys/devices/system/node/node0/cpumap")
    r = run("topology", "--root", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "Warnings:" in r.stdout and "cpu/online: malformed" in r.stdout
    assert "numaview: 3 warning(s) above" in r.stderr
    assert "Traceback" not in r.stderr
    rj = run("topology", "--root", str(tmp_path), "--json")
    assert any("node0/cpulist: malformed" in w for w in json.loads(rj.stdout)["warnings"])


def test_bad_arguments_exit_2() -> None:
    r = run("topology", "--bogus")
    assert r.returncode == 2
    assert "unrecognized arguments" in r.stderr


def test_output_to_closed_pipe_is_quiet(big_machine: Machine) -> None:
    p = subprocess.run(
        f"{sys.executable} -m numaview topology --json --root {big_machine.root} | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.stdout == '{\n "format'
    assert p.stderr == ""
