"""`numaview diagnose`: the real command in a subprocess, and its report on made-up runs.

The exit status is the interface scripts use (0 clean, 1 findings or error,
2 bad arguments), so it is checked on the command itself; what a cleared
finding looks like is checked on RunLog directly, since neither the
simulation nor a static fake tree ever clears one.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from numaview.demo.scenario import simulated_topology
from numaview.diagnose.findings import KINDS, SEVERITIES, Finding, PinPlan
from numaview.model.frame import CPU_METRICS, CpuTable, Frame, ProcessSample, SystemSample
from numaview.render.report import RunLog, fix_text, render_text, ticks, to_json
from tests.fakefs import FakeProc, FakeProcess, Shape, build_machine

RUN_KEYS = {"findings", "duration_s", "frames", "host", "errors", "workload"}
FINDING_KEYS = {
    "kind",
    "plan",
    "symptoms",
    "severity",
    "pids",
    "cpus",
    "nodes",
    "evidence",
    "explanation",
    "fix",
    "since",
}
FIX_KEYS = {"pid", "start_time", "cpus", "cpulist", "move_memory", "target"}


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "numaview", "diagnose", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def static_tree(root: Path) -> None:
    """Shape()'s 4 nodes with /proc written once: no counter moves, so nothing can leak."""
    m = build_machine(root, Shape())
    fp = FakeProc(root, m.cpus, m.node_ids)
    fp.add(FakeProcess(pid=100, name="idle", cmdline=["idle"], affinity=list(m.cpus)))
    fp.write()


def check_shape(d: dict[str, object]) -> None:
    assert set(d) == RUN_KEYS
    assert isinstance(d["frames"], int) and isinstance(d["duration_s"], float)
    assert isinstance(d["errors"], list) and isinstance(d["findings"], list)
    for f in d["findings"]:
        assert set(f) == FINDING_KEYS
        assert f["kind"] in KINDS and f["severity"] in SEVERITIES
        assert f["fix"] is None or set(f["fix"]) == FIX_KEYS
        assert all(set(p) == FIX_KEYS for p in f["plan"])
        assert f["fix"] is None or not f["plan"]  # one fix: a pin or a plan, never both
        for sym in f["symptoms"]:  # merged: each detector's evidence keeps its kind
            assert set(sym) == {"kind", "severity", "key", "evidence"} and sym["kind"] in KINDS


# -- the simulated machine ----------------------------------------------------------


def test_simulated_text_has_all_seven_kinds_fast() -> None:
    t0 = time.monotonic()
    r = run("--simulated", "--duration", "12")
    assert time.monotonic() - t0 < 5
    assert r.returncode == 1, r.stderr
    assert r.stderr == ""
    out = r.stdout
    lines = out.splitlines()
    assert lines[0] == "host sim-2s-128 (simulated): 12 s, 13 frames"
    n = len([line for line in lines if line.startswith("[")])
    assert re.fullmatch(rf"{n} findings: \d+ critical, .*; {n} still raised at the end", lines[1])
    heads = [line for line in lines if line.startswith("[")]
    also = [line.split()[1].rstrip(":") for line in lines if line.startswith("  also ")]
    assert {h.split()[1] for h in heads} | set(also) == set(KINDS)  # merged: one per cause
    assert heads[0].startswith(
        "[critical] cross-node  pid 4121 llama-server [llamacpp :8080]: 16 threads on node 1"
    )
    order = [SEVERITIES.index(h[1 : h.index("]")]) for h in heads]
    assert order == sorted(order, reverse=True)  # most severe first
    # its threads on node 1, its memory filling node 0: one fix for both, node 3 has room
    assert (
        "  fix: move pid 4121 (llama-server) to node 3 (CPUs 48-63,112-127), memory moves with it"
        in lines
    )
    assert "  fix: none" in lines  # node-level cross-node: nothing to re-pin
    assert "  raised at 4 s, still raised at the end" in lines
    assert sum(line.startswith("  fix: ") for line in lines) == len(heads)
    assert max(len(line) for line in lines) <= 100
    assert "\x1b" not in out


def test_simulated_json() -> None:
    t0 = time.monotonic()
    r = run("--simulated", "--duration", "12", "--json")
    assert time.monotonic() - t0 < 5
    assert r.returncode == 1, r.stderr
    d = json.loads(r.stdout)
    check_shape(d)
    assert d["frames"] == 13 and d["duration_s"] == 12.0
    assert d["host"] == "sim-2s-128" and d["errors"] == []
    # the simulated load test's three servers, with their figures over the run
    assert {w["pid"] for w in d["workload"]} == {4121, 5200, 5300}
    assert all(w["figures"]["out_tok_s"] > 0 for w in d["workload"])
    found = d["findings"]
    kinds = {f["kind"] for f in found} | {s["kind"] for f in found for s in f["symptoms"]}
    assert kinds == set(KINDS)
    vllm = next(f for f in found if f["pids"] == [5200, 5300])  # one finding, one fix
    assert {s["kind"] for s in vllm["symptoms"]} >= {"oversubscription", "overlapping-affinity"}
    assert vllm["fix"]["pid"] == 5300 and vllm["plan"] == []
    ranks = [SEVERITIES.index(f["severity"]) for f in found]
    assert ranks == sorted(ranks, reverse=True)
    llama = next(f for f in found if f["kind"] == "cross-node" and f["pids"] == [4121])
    assert llama["severity"] == "critical" and llama["since"] == 4.0
    # node 0, where its memory is, is full: it moves to node 3 with its memory
    assert llama["fix"]["pid"] == 4121 and llama["fix"]["cpulist"] == "48-63,112-127"
    assert llama["fix"]["move_memory"] is True and llama["fix"]["cpus"][:2] == [48, 49]
    assert "node-memory-pressure" in {s["kind"] for s in llama["symptoms"]}
    assert isinstance(llama["fix"]["start_time"], float) and llama["fix"]["target"]
    wander = next(f for f in found if f["kind"] == "wandering")
    assert wander["pids"] == [6100] and 0 < wander["since"] <= 12
    assert any(f["fix"] is None for f in found)


def test_raise_after_and_clear_after_reach_the_diagnoser() -> None:
    r = run("--simulated", "--duration", "12", "--raise-after", "20", "--json")
    assert r.returncode == 0, r.stderr  # nothing held 20 s in a 12 s run
    assert json.loads(r.stdout)["findings"] == []
    assert r.stderr.startswith("numaview: warning: findings need at least 22 s to be raised")
    r = run("--simulated", "--duration", "2", "--raise-after", "0", "--clear-after", "0", "--json")
    assert r.returncode == 1, r.stderr
    assert min(f["since"] for f in json.loads(r.stdout)["findings"]) == 1.0  # the 1st rate frame


def test_short_duration_warns_but_runs() -> None:
    r = run("--simulated", "--duration", "3")
    assert r.returncode == 0
    assert r.stderr.splitlines() == [
        "numaview: warning: findings need at least 5 s to be raised"
        " (--raise-after 3 + 2 intervals); --duration 3 may report none"
    ]
    assert "No findings." in r.stdout


# -- this machine and fake trees ------------------------------------------------------


@pytest.mark.real
def test_json_on_real_machine() -> None:
    r = run("--duration", "2", "--interval", "0.5", "--json")
    assert r.returncode in (0, 1)
    assert "numaview: error:" not in r.stderr
    d = json.loads(r.stdout)
    check_shape(d)
    assert r.returncode == (1 if d["findings"] else 0)
    assert d["frames"] == 5 and d["duration_s"] == pytest.approx(2.0, abs=0.3)


def test_static_fake_tree_has_no_findings(tmp_path: Path) -> None:
    static_tree(tmp_path)
    r = run("--root", str(tmp_path), "--duration", "0.3", "--interval", "0.1", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    check_shape(d)
    assert d["findings"] == [] and d["errors"] == []
    assert d["host"] == "fakehost" and d["frames"] == 4
    assert r.stderr.startswith("numaview: warning:")  # 0.3 s is too short to raise anything
    r = run("--root", str(tmp_path), "--duration", "0.2", "--interval", "0.1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["host fakehost: 0.2 s, 3 frames", "No findings."]


def test_bad_root_is_one_line_error(tmp_path: Path) -> None:
    r = run("--root", str(tmp_path / "nope"))
    assert r.returncode == 1  # like a finding: only stderr tells them apart
    assert r.stderr.splitlines() == [
        f"numaview: error: --root {tmp_path / 'nope'}: not a directory"
    ]
    assert r.stdout == ""
    r = run("--root", str(tmp_path))  # a directory without sys/
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("numaview: error:")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--duration", "0"),
        ("--duration", "-1"),
        ("--duration", "3601"),
        ("--duration", "nan"),
        ("--duration", "abc"),
        ("--interval", "0"),
        ("--interval", "61"),
        ("--raise-after", "-1"),
        ("--clear-after", "inf"),
    ],
)
def test_bad_numbers_exit_2(option: str, value: str) -> None:
    r = run("--simulated", option, value)
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"numaview: error: {option} {value}: must be")
    assert r.stdout == ""


def test_help_documents_exit_codes_and_simulated() -> None:
    r = run("--help")
    assert r.returncode == 0
    assert '"numaview: error:"' in r.stdout and "bad arguments" in r.stdout
    assert "try the detectors without a leaky machine" in r.stdout


def test_ctrl_c_reports_what_was_found_so_far(tmp_path: Path) -> None:
    static_tree(tmp_path)
    args = ["--root", str(tmp_path), "--duration", "60", "--interval", "0.1"]
    p = subprocess.Popen(
        [sys.executable, "-m", "numaview", "diagnose", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell's background jobs ignore SIGINT, and Python keeps that: undo it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(1.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert "(interrupted: what was found so far)" in out.splitlines()[0]
    assert "No findings." in out
    assert err.startswith("numaview: interrupted at ")


def test_diagnose_does_not_load_textual(tmp_path: Path) -> None:
    static_tree(tmp_path)
    code = (
        "import sys, contextlib, io\n"
        "from numaview.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['diagnose', '--simulated', '--duration', '12']) == 1\n"
        f"    assert main(['diagnose', '--root', {str(tmp_path)!r}, '--duration', '0.2',"
        " '--interval', '0.1', '--json']) == 0\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'plotext')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


# -- the report on made-up runs ---------------------------------------------------------


def frame(mono: float, errors: tuple[str, ...] = ()) -> Frame:
    cpus = CpuTable.build([], [], {m: [] for m in CPU_METRICS})
    procs = (
        ProcessSample(
            pid=42,
            start_time=1.0,
            ppid=1,
            user="u",
            name="solver",
            cmdline="./solver",
            state="R",
            cpu_pct=100.0,
            threads=1,
            affinity=(40,),
            last_cpus=(40,),
            nodes_running=(2,),
            rss_bytes=1 << 20,
        ),
    )
    return Frame(1.7e9 + mono, mono, 1.0, cpus, (), SystemSample(), procs, errors)


def finding(key: str, severity: str, fix: PinPlan | None = None) -> Finding:
    return Finding(
        kind=key.split(":")[0],
        severity=severity,
        key=key,
        evidence=f"{key} evidence " + "word " * 30,
        explanation="why it costs " * 12,
        pids=(42,),
        fix=fix,
    )


def test_cleared_and_still_raised_findings() -> None:
    topo = simulated_topology()
    gone = finding("wandering:42", "critical", PinPlan(42, 1.0, (40, 41, 42), False, "3 CPUs"))
    held = finding("idle-cores:42", "warning")
    log = RunLog()
    log.add(frame(100.0), [])
    log.add(frame(101.0, ("node 0 memory: cannot read x",)), [gone])
    log.add(frame(102.0, ("node 0 memory: cannot read x",)), [gone, held])
    log.add(frame(103.0), [held])
    ever = {gone.key: gone, held.key: held}
    text = render_text(log, ever, topo, "box")
    lines = text.splitlines()
    assert lines[:2] == [
        "host box: 3 s, 4 frames",
        "2 findings: 1 critical, 1 warning; 1 still raised at the end",
    ]
    assert "  was raised at 1 s, cleared later (at 3 s)" in lines
    assert "  raised at 2 s, still raised at the end" in lines
    assert "  fix: move pid 42 (solver) to CPUs 40-42 (3 CPUs), memory stays" in lines
    assert "  fix: none" in lines
    assert lines[-2:] == ["Errors while sampling (1):", "  node 0 memory: cannot read x"]
    assert text.index("[critical] wandering") < text.index("[warning] idle-cores")
    assert max(len(line) for line in lines) <= 100
    d = to_json(log, ever, "box")
    assert [f["since"] for f in d["findings"]] == [1.0, 2.0]
    assert d["errors"] == ["node 0 memory: cannot read x"] and d["frames"] == 4


def test_fix_names_topology_targets() -> None:
    topo = simulated_topology()
    node0 = tuple(c.id for c in topo.cpus if c.node == 0)
    l3 = topo.l3[5].cpus
    everything = tuple(c.id for c in topo.cpus)
    names = {7: "db"}
    assert fix_text(PinPlan(7, 1.0, node0, True, "node 0, memory moved there"), topo, names) == (
        "fix: move pid 7 (db) to node 0 (CPUs 0-15,64-79), memory moves with it"
    )
    assert fix_text(PinPlan(7, 1.0, l3, False, "16 CPUs"), topo, {}) == (
        "fix: move pid 7 to L3 5 (CPUs 40-47,104-111), memory stays"
    )
    assert fix_text(PinPlan(7, 1.0, everything), topo, names).startswith(
        "fix: move pid 7 (db) to all CPUs (0-127)"
    )
    assert fix_text(None, topo, names) == "fix: none"


def test_ticks_end_at_the_duration() -> None:
    assert ticks(2, 0.5) == [0.5, 1.0, 1.5, 2.0]
    assert ticks(2.5, 1) == [1, 2, 2.5]
    assert ticks(0.3, 1) == [0.3]
    assert len(ticks(3600, 0.1)) == 36000
