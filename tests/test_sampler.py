"""The Sampler on scripted fake trees: each metric against numbers chosen here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numaview.linux.sysfs import discover
from numaview.model.frame import Frame
from numaview.sampler.sampler import CLK_TCK, PAGE_SIZE, Sampler, SamplerOptions
from tests.fakefs import (
    FakeClock,
    FakeProc,
    FakeProcess,
    FakeThread,
    Machine,
    Shape,
    build_machine,
)


class Rig:
    """A fake 2-socket machine (32 CPUs, 4 nodes), its scripted /proc and a sampler."""

    def __init__(self, root: Path, shape: Shape | None = None, **opts: object) -> None:
        self.m: Machine = build_machine(root, shape or Shape())
        self.topo = discover(root)
        self.fp = FakeProc(root, self.m.cpus, self.m.node_ids)
        self.clock = FakeClock()
        self.sampler = Sampler(
            root,
            self.topo,
            SamplerOptions(**opts),  # type: ignore[arg-type]
            clock=self.clock,
            wall=lambda: 1764200000.0 + self.clock.now,
        )

    def tick(self, seconds: float = 1.0) -> Frame:
        self.clock.advance(seconds)
        self.fp.uptime += seconds
        self.fp.write()
        return self.sampler.sample()


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return Rig(tmp_path)


def test_first_frame_has_no_rates_but_has_memory(rig: Rig) -> None:
    f = rig.tick()
    assert f.seq == 1 and f.interval_s == 0.0
    assert all(c.busy_pct is None for c in f.cpus)
    assert f.nodes[0].mem_total_bytes == 16 << 30
    assert f.nodes[0].numa_hit_per_s is None
    assert f.system.ctx_switches_per_s is None
    assert f.errors == ()


def test_cpu_split_from_proc_stat_deltas(rig: Rig) -> None:
    rig.tick()
    c3 = rig.fp.cpus[3]
    c3["user"] += 60
    c3["nice"] += 5
    c3["system"] += 20
    c3["iowait"] += 5
    c3["irq"] += 2
    c3["softirq"] += 3
    c3["steal"] += 1
    c3["idle"] += 4
    rig.fp.cpus[4]["idle"] += 100
    f = rig.tick()
    row = f.cpus.row(f.cpus.index(3) or 0)
    assert row.busy_pct == 91.0  # everything but idle and iowait
    assert (row.user_pct, row.nice_pct, row.system_pct) == (60.0, 5.0, 20.0)
    assert (row.iowait_pct, row.irq_pct, row.steal_pct) == (5.0, 5.0, 1.0)
    assert f.cpus.value(4) == 0.0
    # node 0 holds CPUs 0-3,16-19: mean busy of its 8 online CPUs
    n0 = f.node(0)
    assert n0 is not None and n0.busy_pct == round(91.0 / 8, 1)


def test_offline_cpu_is_none_not_zero(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Shape(offline={5}))
    rig.fp.offline = {5}
    rig.tick()
    f = rig.tick()
    assert f.cpus.value(5) is None
    assert not f.cpus.online[f.cpus.index(5) or 0]
    assert f.to_dict()["cpus"][5] == {**f.to_dict()["cpus"][5], "online": False, "busy_pct": None}


def test_cpu_going_offline_between_ticks(rig: Rig) -> None:
    rig.tick()
    rig.fp.offline = {7}
    f = rig.tick()
    assert f.cpus.value(7) is None and f.errors == ()


def test_node_memory_and_numastat_rates(rig: Rig) -> None:
    rig.tick()
    rig.fp.numastat[1]["numa_hit"] += 1000
    rig.fp.numastat[1]["numa_miss"] += 50
    rig.fp.numastat[1]["other_node"] += 30
    rig.fp.numastat[1]["local_node"] += 970
    rig.fp.node_mem[1]["MemFree"] = 1 << 20  # kB
    f = rig.tick(seconds=2.0)
    n1 = f.node(1)
    assert n1 is not None
    assert (n1.numa_hit_per_s, n1.numa_miss_per_s) == (500.0, 25.0)
    assert (n1.other_node_per_s, n1.local_node_per_s) == (15.0, 485.0)
    assert n1.numa_foreign_per_s == 0.0
    assert n1.mem_free_bytes == 1 << 30
    assert (n1.file_bytes, n1.anon_bytes) == (1 << 30, 2 << 30)


def test_system_counters(rig: Rig) -> None:
    rig.tick()
    rig.fp.ctxt += 5000
    rig.fp.vmstat["numa_hint_faults"] += 300
    rig.fp.vmstat["numa_hint_faults_local"] += 200
    rig.fp.vmstat["numa_pages_migrated"] += 40
    rig.fp.procs_running, rig.fp.procs_blocked = 7, 2
    rig.fp.load = (3.5, 2.0, 1.0)
    f = rig.tick(seconds=0.5)
    s = f.system
    assert s.ctx_switches_per_s == 10000.0
    assert (s.numa_hint_faults_per_s, s.numa_hint_faults_local_per_s) == (600.0, 400.0)
    assert s.numa_pages_migrated_per_s == 80.0
    assert (s.procs_running, s.procs_blocked, s.load) == (7, 2, (3.5, 2.0, 1.0))
    assert (s.psi_cpu_some_avg10, s.psi_memory_some_avg10, s.psi_memory_full_avg10) == (
        1.5,
        0.5,
        0.25,
    )


def test_psi_absent_is_none(rig: Rig) -> None:
    rig.fp.psi = None
    rig.tick()
    f = rig.tick()
    assert f.system.psi_cpu_some_avg10 is None and f.errors == ()


def busy_process(rig: Rig) -> FakeProcess:
    return rig.fp.add(
        FakeProcess(
            pid=4121,
            name="llama-server",
            cmdline=["llama-server", "-m", "model.gguf"],
            uid=0,
            affinity=list(range(4, 8)) + list(range(20, 24)),
            rss_pages=10_000,
            numa_pages={0: 9000, 1: 1000},
            threads=[
                FakeThread(4121, "llama-server", cpu=4),
                FakeThread(4122, "worker-1", cpu=5),
                FakeThread(4123, "worker-2", cpu=20, affinity=[20]),
            ],
        )
    )


def test_process_cpu_threads_affinity_and_nodes(rig: Rig) -> None:
    p = busy_process(rig)
    p.voluntary, p.involuntary = 100, 10
    rig.tick()
    for th, extra in zip(p.threads, (50, 100, 0), strict=True):
        th.ticks += extra * CLK_TCK // 100
    p.threads[2].cpu = 21
    p.voluntary, p.involuntary = 300, 60
    f = rig.tick()
    s = f.process(4121)
    assert s is not None
    assert s.cpu_pct == 150.0  # 1.5 CPUs' worth over one second
    assert s.name == "llama-server" and s.cmdline == "llama-server -m model.gguf"
    assert s.user == "root" and s.threads == 3 and s.ppid == 1
    assert s.affinity == (4, 5, 6, 7, 20, 21, 22, 23)
    assert s.last_cpus == (4, 5, 21)
    assert s.nodes_running == (1,)  # CPUs 4-7 and 20-23 are node 1
    assert s.rss_bytes == 10_000 * PAGE_SIZE
    assert (s.ctx_voluntary_per_s, s.ctx_involuntary_per_s) == (200.0, 50.0)
    assert s.thread_samples is not None
    by_tid = {t.tid: t for t in s.thread_samples}
    assert by_tid[4122].cpu_pct == 100.0 and by_tid[4122].name == "worker-1"
    assert by_tid[4121].affinity is None  # same as the process
    assert by_tid[4123].affinity == (20,)  # differs: reported per thread
    assert s.thread_affinities_differ
    assert s.mem_by_node_bytes == {0: (9000 + 10 + 2) * 4096, 1: 1000 * 4096}
    assert s.mem_policy == "default"
    assert s.key == (4121, 10.0)


def test_threads_spread_over_nodes(rig: Rig) -> None:
    p = busy_process(rig)
    rig.tick()
    p.threads[0].cpu = 0  # node 0
    p.threads[0].ticks += 10
    f = rig.tick()
    s = f.process(4121)
    assert s is not None and s.nodes_running == (0, 1)


def test_top_n_by_cpu(tmp_path: Path) -> None:
    rig = Rig(tmp_path, top_n=3)
    for pid in range(100, 110):
        rig.fp.add(FakeProcess(pid=pid, name=f"p{pid}"))
    rig.tick()
    for pid, busy in ((105, 30), (107, 60), (101, 10), (109, 5)):
        rig.fp.processes[pid].threads[0].ticks += busy
    f = rig.tick()
    assert [p.pid for p in f.processes] == [107, 105, 101]
    assert f.system.processes_total == 10


def test_process_born_during_the_tick_gets_a_cpu_pct(rig: Rig) -> None:
    rig.tick()
    p = rig.fp.add(FakeProcess(pid=500, name="new", starttime=int((rig.fp.uptime + 0.5) * CLK_TCK)))
    p.threads[0].ticks = 40
    f = rig.tick()
    s = f.process(500)
    assert s is not None and s.cpu_pct == 40.0 * 100 / CLK_TCK


def test_process_seen_first_but_old_has_no_cpu_pct(rig: Rig) -> None:
    rig.tick()
    rig.fp.add(FakeProcess(pid=600, name="old", starttime=10))
    f = rig.tick()
    s = f.process(600)
    assert s is not None and s.cpu_pct is None


def test_pid_reuse_is_a_new_process(rig: Rig) -> None:
    p = rig.fp.add(FakeProcess(pid=700, name="first", starttime=100))
    p.threads[0].ticks = 500
    rig.tick()
    rig.fp.remove(700)
    q = rig.fp.add(FakeProcess(pid=700, name="second", starttime=200))
    q.threads[0].ticks = 5
    f = rig.tick()
    s = f.process(700)
    assert s is not None and s.name == "second" and s.start_time == 2.0
    assert s.cpu_pct is None  # not 500 ticks compared against another process


def test_vanished_processes_are_skipped_silently(rig: Rig) -> None:
    for pid in range(800, 805):
        rig.fp.add(FakeProcess(pid=pid))
    rig.tick()
    rig.fp.remove(801)
    rig.fp.processes[803].threads[0].ticks += 1  # it ran, so its status is read
    rig.fp.write()
    # 803 disappears between reading its stat and its status
    (rig.m.root / "proc/803/status").unlink()
    f = rig.sampler.sample()
    pids = {p.pid for p in f.processes}
    assert 801 not in pids and 803 not in pids and {800, 802, 804} <= pids
    assert f.errors == ()


def test_unreadable_numa_maps_is_none_not_error(rig: Rig) -> None:
    p = busy_process(rig)
    p.numa_pages = None
    rig.tick()
    f = rig.tick()
    s = f.process(4121)
    assert s is not None and s.mem_by_node_bytes is None and f.errors == ()


def test_kernel_threads_are_flagged(rig: Rig) -> None:
    rig.fp.add(FakeProcess(pid=2, name="kthreadd", kernel=True, ppid=0))
    rig.tick()
    f = rig.tick()
    s = f.process(2)
    assert s is not None and s.kernel_thread and s.cmdline is None
    assert s.mem_by_node_bytes is None


def test_unchanged_idle_process_row_is_shared_between_frames(rig: Rig) -> None:
    rig.fp.add(FakeProcess(pid=900, name="idle"))
    p = busy_process(rig)
    rig.tick()
    f2 = rig.tick()
    f3 = rig.tick()
    assert f3.process(900) is f2.process(900)
    p.threads[0].ticks += 5
    f4 = rig.tick()
    assert f4.process(4121) is not f3.process(4121)


def test_numa_maps_is_rate_limited(tmp_path: Path) -> None:
    rig = Rig(tmp_path, numa_k=2, numa_every_s=10.0, numa_per_tick=1)
    heavy = []
    for pid, rss in ((1000, 900), (1001, 800), (1002, 700)):
        heavy.append(rig.fp.add(FakeProcess(pid=pid, rss_pages=rss, numa_pages={0: rss})))
    f = rig.tick()
    known = {p.pid for p in f.processes if p.mem_by_node_bytes is not None}
    assert known == {1000}  # one read per tick, the heaviest first
    f = rig.tick()
    known = {p.pid for p in f.processes if p.mem_by_node_bytes is not None}
    assert known == {1000, 1001}  # only the K=2 heaviest, never 1002
    heavy[0].numa_pages = {1: 900}
    for _ in range(5):
        f = rig.tick()
    s = f.process(1000)
    assert s is not None and s.mem_by_node_bytes is not None
    assert set(s.mem_by_node_bytes) == {0}  # not re-read before 10 s
    assert f.mono - (s.mem_by_node_mono or 0.0) == 6.0
    for _ in range(5):
        f = rig.tick()
    s = f.process(1000)
    assert s is not None and s.mem_by_node_bytes is not None and 1 in s.mem_by_node_bytes
    assert f.process(1002).mem_by_node_bytes is None  # type: ignore[union-attr]


def test_missing_proc_files_are_frame_errors(rig: Rig) -> None:
    rig.tick()
    (rig.m.root / "proc/stat").unlink()
    (rig.m.root / "sys/devices/system/node/node2/meminfo").unlink()
    f = rig.sampler.sample()
    assert any("CPU usage: cannot read" in e for e in f.errors)
    assert any("node 2 memory: cannot read" in e for e in f.errors)
    assert all(c.busy_pct is None for c in f.cpus)
    assert f.node(2).mem_total_bytes is None  # type: ignore[union-attr]


def test_sampler_reports_its_own_cost(rig: Rig) -> None:
    rig.tick()
    f = rig.tick()
    assert f.cost.tick_cpu_s is not None and 0 <= f.cost.tick_cpu_s < 5
    assert f.cost.self_cpu_pct is not None


def test_frame_json_round_trip(rig: Rig) -> None:
    p = busy_process(rig)
    rig.tick()
    p.threads[1].ticks += 30
    f = rig.tick()
    d = json.loads(json.dumps(f.to_dict()))
    assert {
        "version",
        "time",
        "interval_s",
        "cpus",
        "nodes",
        "system",
        "processes",
        "errors",
    } <= set(d)
    proc = next(x for x in d["processes"] if x["pid"] == 4121)
    assert proc["mem_by_node_bytes"] == {"0": (9000 + 12) * 4096, "1": 1000 * 4096}
    assert proc["affinity"] == [4, 5, 6, 7, 20, 21, 22, 23]
    again = Frame.from_dict(d)
    assert again == f
    with pytest.raises(ValueError, match="newer"):
        Frame.from_dict({**d, "version": 99})
    with pytest.raises(ValueError, match="malformed"):
        Frame.from_dict({"version": 1})


def test_users_come_from_the_tree_passwd(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    (tmp_path / "etc/passwd").write_text(
        "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/h:/bin/sh\n"
    )
    rig.fp.add(FakeProcess(pid=1234, uid=1000))
    rig.fp.add(FakeProcess(pid=1235, uid=4242))
    f = rig.tick()
    assert f.process(1234).user == "alice"  # type: ignore[union-attr]
    assert f.process(1235).user == "4242"  # type: ignore[union-attr]


def test_idle_processes_get_ctx_rates_from_the_second_tick(rig: Rig) -> None:
    p = rig.fp.add(FakeProcess(pid=950, name="idle"))
    p.voluntary = 10
    rig.tick()
    p.voluntary = 12  # it slept and woke twice but used no measurable CPU
    f = rig.tick()
    s = f.process(950)
    assert s is not None and s.ctx_voluntary_per_s == 2.0


def test_idle_status_rereads_are_spread_over_ticks(tmp_path: Path) -> None:
    rig = Rig(tmp_path, refresh_every=10)
    for pid in range(2000, 2100):
        rig.fp.add(FakeProcess(pid=pid))
    rig.tick()
    rig.tick()
    reads = []
    for _ in range(10):
        before = {k: s.status_reads for k, s in rig.sampler.processes.procs.items()}
        rig.tick()
        reads.append(
            sum(s.status_reads - before[k] for k, s in rig.sampler.processes.procs.items())
        )
    assert reads == [10] * 10  # a tenth each tick, never all at once


def test_unreadable_proc_stat_keeps_the_topology_online_flags(tmp_path: Path) -> None:
    rig = Rig(tmp_path, Shape(offline={5}))
    rig.fp.offline = {5}
    rig.tick()
    (rig.m.root / "proc/stat").unlink()
    f = rig.sampler.sample()
    assert sum(f.cpus.online) == 31 and not f.cpus.online[5]
    assert all(c.busy_pct is None for c in f.cpus)


def test_numa_maps_reading_stays_within_its_cpu_budget(tmp_path: Path) -> None:
    rig = Rig(tmp_path, numa_k=10, numa_every_s=1.0, numa_per_tick=5, numa_budget=1e-9)
    for pid in range(1100, 1105):
        rig.fp.add(FakeProcess(pid=pid, rss_pages=1000 + pid, numa_pages={0: 10}))
    for _ in range(5):
        f = rig.tick()
    known = [p.pid for p in f.processes if p.mem_by_node_bytes is not None]
    assert len(known) == 1  # the first read spent the budget for a long while


def test_equal_affinities_are_one_shared_object(rig: Rig) -> None:
    for pid in (1200, 1201):
        rig.fp.add(FakeProcess(pid=pid, affinity=list(range(8))))
    rig.tick()
    f = rig.tick()
    a, b = f.process(1200), f.process(1201)
    assert a is not None and b is not None
    assert a.affinity == tuple(range(8)) and a.affinity is b.affinity


def test_only_the_busiest_processes_threads_are_read_every_tick(tmp_path: Path) -> None:
    rig = Rig(tmp_path, threads_top=1, refresh_every=1000)
    busy = [
        rig.fp.add(
            FakeProcess(pid=pid, threads=[FakeThread(pid, cpu=0), FakeThread(pid + 1, cpu=1)])
        )
        for pid in (1300, 1400)
    ]
    rig.tick()
    rig.tick()
    busy[0].threads[0].ticks += 50  # the busiest
    busy[1].threads[0].ticks += 10
    busy[0].threads[1].cpu = busy[1].threads[1].cpu = 20  # both moved a thread
    f = rig.tick()
    top, other = f.process(1300), f.process(1400)
    assert top is not None and other is not None
    assert top.last_cpus == (0, 20)  # read this tick
    assert other.last_cpus == (0, 1)  # not its turn: last known placement
