"""The sampler's shortcuts for idle processes: what it skips, and that skipping loses nothing.

A one-thread process's schedstat stands in for its stat while it does not
run; /proc is listed only when /proc/stat's fork count moved; an idle
process's status with the same text is not parsed. Each test counts the
reads and checks that what the user sees is still right.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from numaview.linux.fsroot import FsRoot
from numaview.linux.keptfiles import ProcFiles, raise_nofile_limit
from numaview.sampler.process_reader import ProcessReader, SamplerOptions
from tests.fakefs import FakeProcess, FakeThread
from tests.test_sampler import Rig


class Reads:
    """Counts the per-process reads a ProcessReader makes."""

    def __init__(self, reader: ProcessReader) -> None:
        self.n: Counter[str] = Counter()
        self.paths: list[str] = []
        self.reader = reader
        self._wrap(reader.stat_files, "pid stat")
        if reader.sched_files is not None:
            self._wrap(reader.sched_files, "pid schedstat")
        listdir = reader.fs.listdir
        read = reader.fs.read

        def counted_listdir(rel: str) -> list[str] | None:
            self.n["listdir " + rel] += 1
            return listdir(rel)

        def counted_read(rel: str, limit: int = 65536) -> str | None:
            self.n[rel.rsplit("/", 1)[-1]] += 1
            self.paths.append(rel)
            return read(rel, limit)

        read_or_raise = reader.fs.read_or_raise

        def counted_read_or_raise(rel: str, limit: int = 65536) -> str:
            # The one-off reads of linux/proc.py (cmdline, numa_maps) come this way.
            self.n[rel.rsplit("/", 1)[-1]] += 1
            self.paths.append(rel)
            return read_or_raise(rel, limit)

        reader.fs.listdir = counted_listdir  # type: ignore[method-assign]
        reader.fs.read = counted_read  # type: ignore[method-assign]
        reader.fs.read_or_raise = counted_read_or_raise  # type: ignore[method-assign]

    def _wrap(self, files: ProcFiles, label: str) -> None:
        read = files.read

        def counted(pid: str) -> bytes | None:
            self.n[label] += 1
            return read(pid)

        files.read = counted  # type: ignore[method-assign]


def idle_rig(tmp_path: Path, n: int = 50, **opts: object) -> tuple[Rig, list[FakeProcess]]:
    rig = Rig(tmp_path, **opts)  # type: ignore[arg-type]
    procs = [rig.fp.add(FakeProcess(pid=3000 + i, name=f"idle{i}")) for i in range(n)]
    rig.tick()
    rig.tick()  # the warm-up: every status read twice, for the first rates
    return rig, procs


def test_idle_one_thread_processes_are_read_through_schedstat_only(tmp_path: Path) -> None:
    rig, _ = idle_rig(tmp_path, refresh_every=10)
    reads = Reads(rig.sampler.processes)
    per_tick = []
    for _ in range(10):
        reads.n.clear()
        f = rig.tick()
        per_tick.append((reads.n["pid schedstat"], reads.n["pid stat"], reads.n["status"]))
        assert {p.pid for p in f.processes} >= set(range(3000, 3050))
        assert all(p.cpu_pct == 0.0 for p in f.processes if p.pid >= 3000)
    assert [s for s, _, _ in per_tick] == [50] * 10
    # Only the tenth whose turn it is has stat and status read: 5 a tick.
    assert [st for _, st, _ in per_tick] == [5] * 10
    assert [su for _, _, su in per_tick] == [5] * 10


def test_a_process_that_runs_is_read_and_its_cpu_counted(tmp_path: Path) -> None:
    rig, procs = idle_rig(tmp_path, refresh_every=1000)
    procs[7].threads[0].ticks += 30
    procs[7].threads[0].cpu = 5
    f = rig.tick()
    s = f.process(3007)
    assert s is not None and s.cpu_pct == 30.0 and s.last_cpus == (5,)
    f = rig.tick()  # asleep again
    s = f.process(3007)
    assert s is not None and s.cpu_pct == 0.0


def test_a_run_too_short_for_a_clock_tick_still_counts_its_switches(tmp_path: Path) -> None:
    rig, procs = idle_rig(tmp_path, refresh_every=1000)
    procs[3].voluntary += 4  # woke 4 times, no measurable CPU: stat does not change
    reads = Reads(rig.sampler.processes)
    f = rig.tick()
    s = f.process(3003)
    assert s is not None and s.ctx_voluntary_per_s == 4.0 and s.cpu_pct == 0.0
    assert reads.n["pid stat"] == 1 and reads.n["status"] == 1


def test_memory_that_changes_while_asleep_shows_on_its_turn(tmp_path: Path) -> None:
    rig, procs = idle_rig(tmp_path, refresh_every=5)
    procs[0].rss_pages *= 10  # reclaimed or faulted in by another task: schedstat stands
    seen_at = None
    for k in range(1, 6):
        s = rig.tick().process(3000)
        assert s is not None
        if s.rss_bytes == procs[0].rss_pages * 4096:
            seen_at = k
            break
    assert seen_at is not None  # within refresh_every ticks


def test_affinity_changed_from_outside_shows_on_its_turn(tmp_path: Path) -> None:
    rig, procs = idle_rig(tmp_path, refresh_every=5)
    procs[1].affinity = [2, 3]  # `taskset -p` from another shell: status only
    got = []
    for _ in range(5):
        s = rig.tick().process(3001)
        assert s is not None
        got.append(s.affinity)
    assert got[-1] == (2, 3) and got[0] in ((0,), (2, 3))


def test_busy_worker_of_an_idle_main_thread_is_counted(tmp_path: Path) -> None:
    rig = Rig(tmp_path, refresh_every=1000)
    p = rig.fp.add(
        FakeProcess(pid=4000, threads=[FakeThread(4000, cpu=0), FakeThread(4001, cpu=3)])
    )
    rig.tick()
    rig.tick()
    p.threads[1].ticks += 80  # schedstat (the main thread's) does not move
    s = rig.tick().process(4000)
    assert s is not None and s.cpu_pct == 80.0


def test_one_thread_process_that_starts_a_thread_is_seen(tmp_path: Path) -> None:
    rig, procs = idle_rig(tmp_path, n=3, refresh_every=1000)
    p = procs[2]
    p.threads[0].ticks += 2  # it ran to clone
    p.threads.append(FakeThread(3100, cpu=4, ticks=10))
    rig.fp.forks += 1
    s = rig.tick().process(3002)
    assert s is not None and s.threads == 2
    p.threads[1].ticks += 50  # now only the new thread runs
    s = rig.tick().process(3002)
    assert s is not None and s.cpu_pct == 50.0


@pytest.mark.parametrize("mode", ["off", "zero"])
def test_without_schedstat_every_stat_is_read(tmp_path: Path, mode: str) -> None:
    rig = Rig(tmp_path, refresh_every=1000)
    rig.fp.schedstat = mode
    procs = [rig.fp.add(FakeProcess(pid=3000 + i)) for i in range(20)]
    rig.tick()
    assert rig.sampler.processes.sched_files is None
    reads = Reads(rig.sampler.processes)
    rig.tick()
    assert reads.n["pid stat"] == 20 and reads.n["pid schedstat"] == 0
    procs[4].threads[0].ticks += 25
    s = rig.tick().process(3004)
    assert s is not None and s.cpu_pct == 25.0


def test_proc_is_listed_only_when_the_fork_count_moves(tmp_path: Path) -> None:
    rig, _ = idle_rig(tmp_path, n=5)
    reads = Reads(rig.sampler.processes)
    rig.tick()
    rig.tick()
    assert reads.n["listdir proc"] == 0
    rig.fp.remove(3002)  # an exit needs no listing: its read fails
    f = rig.tick()
    assert f.process(3002) is None and f.process(3001) is not None
    assert reads.n["listdir proc"] == 0
    rig.fp.add(FakeProcess(pid=3500, name="new"))  # a fork: listed again
    f = rig.tick()
    assert f.process(3500) is not None
    assert reads.n["listdir proc"] == 1


def test_unreadable_fork_count_lists_proc_every_tick(tmp_path: Path) -> None:
    rig, _ = idle_rig(tmp_path, n=2)
    (rig.m.root / "proc/stat").unlink()
    reads = Reads(rig.sampler.processes)
    rig.sampler.sample()
    rig.sampler.sample()
    assert reads.n["listdir proc"] == 2


# -- the descriptor cache on the live /proc ------------------------------------------


@pytest.mark.real
def test_kept_descriptor_of_an_exited_process_reads_none_and_is_dropped() -> None:
    files = ProcFiles(FsRoot("/"), "schedstat")
    assert files.live and files.capacity > 0
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        pid = str(child.pid)
        first = files.read(pid)
        assert first is not None and len(first.split()) == 3 and pid in files.fds
    finally:
        child.kill()
        child.wait()
    assert files.read(pid) is None  # reaped: ESRCH on the kept descriptor, then no file
    assert pid not in files.fds
    files.close()


@pytest.mark.real
def test_schedstat_of_a_sleeper_stands_still_and_of_a_spinner_moves() -> None:
    files = ProcFiles(FsRoot("/"), "schedstat")
    sleeper = subprocess.Popen(["sleep", "60"])
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        import time

        time.sleep(0.3)
        a = (files.read(str(sleeper.pid)), files.read(str(spinner.pid)))
        time.sleep(0.3)
        b = (files.read(str(sleeper.pid)), files.read(str(spinner.pid)))
    finally:
        for p in (sleeper, spinner):
            p.kill()
            p.wait()
        files.close()
    assert a[0] == b[0] and a[0] is not None
    assert a[1] != b[1]


def test_raising_the_open_file_limit_never_lowers_it() -> None:
    import resource

    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    got = raise_nofile_limit(16)  # below any usual soft limit: left alone
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == before
    assert got >= 16 and got == before[0]
    assert os.sysconf("SC_OPEN_MAX") == before[0]


def test_idle_threads_of_a_busy_process_are_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from numaview.linux import procparse

    rig = Rig(tmp_path, refresh_every=1000)
    threads = [FakeThread(5000 + k, cpu=k) for k in range(10)]
    p = rig.fp.add(FakeProcess(pid=5000, threads=threads))
    rig.tick()
    rig.tick()
    parsed: list[int] = []
    real = procparse.parse_pid_stat

    def counted(text: str) -> procparse.PidStat | None:
        st = real(text)
        parsed.append(st.pid if st else -1)
        return st

    monkeypatch.setattr(procparse, "parse_pid_stat", counted)
    p.threads[3].ticks += 40
    p.threads[3].cpu = 9
    s = rig.tick().process(5000)
    assert s is not None and s.cpu_pct == 40.0 and 9 in s.last_cpus
    assert s.thread_samples is not None
    row = {t.tid: t for t in s.thread_samples}
    assert row[5003].cpu_pct == 40.0 and row[5003].last_cpu == 9
    assert row[5004].cpu_pct == 0.0 and row[5004].last_cpu == 4
    # The process's stat and the one thread that ran; nine idle threads reused.
    assert sorted(parsed) == [5000, 5003]


def test_reread_shows_an_idle_process_new_affinity_next_tick(tmp_path: Path) -> None:
    rig, procs = idle_rig(tmp_path, refresh_every=1000)
    procs[5].affinity = [6, 7]
    s = rig.tick().process(3005)
    assert s is not None and s.affinity == (0,)  # asleep and not its turn: not read
    rig.sampler.reread(3005)
    s = rig.tick().process(3005)
    assert s is not None and s.affinity == (6, 7)
    rig.sampler.reread(99999)  # gone or never seen: nothing to do, no error
    assert rig.tick().errors == ()


@pytest.mark.real
def test_reread_on_the_live_machine_after_setting_affinity() -> None:
    from numaview.sampler.sampler import Sampler

    cpus = sorted(os.sched_getaffinity(0))
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        sampler = Sampler("/", options=SamplerOptions(refresh_every=1000))
        sampler.sample()
        sampler.sample()
        os.sched_setaffinity(sleeper.pid, {cpus[-1]})
        sampler.reread(sleeper.pid)
        s = sampler.sample().process(sleeper.pid)
        assert s is not None and s.affinity == (cpus[-1],)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_switch_rates_drop_to_zero_the_tick_a_process_stops_running(tmp_path: Path) -> None:
    rig, procs = idle_rig(tmp_path, refresh_every=1000)
    procs[9].voluntary += 30
    procs[9].involuntary += 6
    procs[9].threads[0].ticks += 20
    s = rig.tick().process(3009)
    assert s is not None and (s.ctx_voluntary_per_s, s.ctx_involuntary_per_s) == (30.0, 6.0)
    s = rig.tick().process(3009)  # asleep all second: schedstat's run count stood still
    assert s is not None and s.cpu_pct == 0.0
    assert (s.ctx_voluntary_per_s, s.ctx_involuntary_per_s) == (0.0, 0.0)


@pytest.mark.real
def test_live_idle_turns_ask_the_kernel_for_the_mask_instead_of_reading_status() -> None:
    from numaview.sampler.sampler import Sampler

    cpus = sorted(os.sched_getaffinity(0))
    sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(5)]
    mine = [f"proc/{p.pid}/status" for p in sleepers]
    try:
        sampler = Sampler("/", options=SamplerOptions(refresh_every=1))  # every tick a turn
        sampler.sample()
        sampler.sample()
        reads = Reads(sampler.processes)
        f = sampler.sample()
        assert not set(mine) & set(reads.paths)  # asleep, mask unchanged: no status read
        assert all(f.process(p.pid) is not None for p in sleepers)
        os.sched_setaffinity(sleepers[0].pid, {cpus[-1]})
        f = sampler.sample()
        assert mine[0] in reads.paths and mine[1] not in reads.paths
        s0, s1 = f.process(sleepers[0].pid), f.process(sleepers[1].pid)
        assert s0 is not None and s0.affinity == (cpus[-1],)  # a changed mask: status read
        assert s1 is not None and s1.affinity == tuple(cpus) and s1.ctx_voluntary_per_s == 0.0
    finally:
        for p in sleepers:
            p.kill()
            p.wait()


def test_one_missing_schedstat_does_not_give_schedstat_up(tmp_path: Path) -> None:
    rig, procs = idle_rig(tmp_path, n=20, refresh_every=1000)
    procs[4].threads[0].ticks += 10
    rig.clock.advance(1.0)
    rig.fp.write()
    (rig.m.root / "proc/3004/schedstat").unlink()  # say, a pid reused between two reads
    s = rig.sampler.sample().process(3004)
    assert s is not None and s.cpu_pct == 10.0  # read through stat
    assert rig.sampler.processes.sched_files is not None
    procs[4].threads[0].ticks += 5
    s = rig.tick().process(3004)
    assert s is not None and s.cpu_pct == 5.0


def test_restrict_reads_one_process_and_never_lists_proc(tmp_path: Path) -> None:
    """``numaview stacks PID``: that process's threads, not every thread of the machine."""
    rig = Rig(tmp_path, top_n=0, refresh_every=1, threads_top=1_000_000)
    threads = [FakeThread(700, ticks=5), FakeThread(701, ticks=9, cpu=2)]
    rig.fp.add(FakeProcess(pid=700, name="target", threads=threads))
    for pid in range(800, 850):
        rig.fp.add(FakeProcess(pid=pid))
    rig.sampler.processes.restrict([700])
    reads = Reads(rig.sampler.processes)
    rig.tick()
    threads[1].ticks += 50
    f = rig.tick()
    assert [p.pid for p in f.processes] == [700] and f.system.processes_total == 1
    p = f.process(700)
    assert p is not None and p.thread_samples is not None
    assert [t.tid for t in p.thread_samples] == [700, 701]
    assert reads.n["listdir proc"] == 0 and reads.n["cmdline"] == 1
    assert not [r for r in reads.paths if r.startswith("proc/8")]
    assert reads.n["pid stat"] == 2
