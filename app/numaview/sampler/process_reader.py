"""Per-process sampling: the expensive half of a tick, so every read here earns its place.

- Who ran: a one-thread process's /proc/PID/schedstat (its run time in ns and
  its number of runs, ~40 bytes; the kernel writes it in a quarter of the
  time of stat) changes whenever it ran at all, so when it did not, stat is
  not read and the previous row stands. Processes with several threads (their
  schedstat covers the main thread only) and those whose schedstat changed
  have /proc/PID/stat read; when its text did not change it is not parsed.
  Both files are read through descriptors kept open (procfiles.py). Every
  ``refresh_every`` ticks, spread by pid, each process's stat is read anyway:
  RSS, parent and nice can change while a process sleeps.
- status (affinity, context switches) is read for processes that ran since
  the last tick; an idle one's turn on the rotation asks the kernel for its
  mask instead (sched_getaffinity; status only when it changed). Threads
  (threadreader.py) are read for the busiest ``threads_top`` that ran, and
  on the rotation: a process whose CPU time did not move had no thread run,
  so its threads' last CPUs are still right. One-thread processes need no
  task/ reads at all. ``reread(pid)`` reads one process in full next tick.
  Thread files are the bulk of a tick on a big machine (120 pools of 250
  threads: 30,000 files, ~200 ms), so a tick reads at most ``thread_files``
  of them (pools.py): the busiest, and in turn those that waited a rotation;
  a pool left out keeps its last thread table until its turn.
- numa_maps of the largest processes, within a CPU budget: numareader.py.
- Values that repeat (CPU lists, names, percentages) are shared objects, and
  unchanged rows are the previous frame's objects: an hour of frames fits.
"""

from __future__ import annotations

import os
from operator import attrgetter

from numaview.linux import proc as proc_files
from numaview.linux import procparse
from numaview.linux.errors import ProcError
from numaview.linux.fsroot import FsRoot
from numaview.linux.keptfiles import ProcFiles
from numaview.linux.users import UserNames
from numaview.model.frame import ProcessSample
from numaview.sampler.numa_budget import NumaReader
from numaview.sampler.pools import Pool, PoolReader
from numaview.sampler.process_state import (
    CLK_TCK,
    PAGE_SIZE,
    Interner,
    Key,
    ProcState,
    SamplerOptions,
    rate,
)
from numaview.sampler.threadreader import read_threads

__all__ = ["CLK_TCK", "PAGE_SIZE", "ProcessReader", "SamplerOptions", "rate"]

_ORDER = attrgetter("order")
SCHED_MISSES = 8  # processes with stat but no schedstat before schedstat is given up


class ProcessReader:
    def __init__(self, fs: FsRoot, cpu_node: dict[int, int], options: SamplerOptions) -> None:
        self.fs = fs
        self.cpu_node = cpu_node
        self.options = options
        self.stat_files = ProcFiles(fs, "stat")
        self.sched_files: ProcFiles | None = ProcFiles(fs, "schedstat")
        self.intern = Interner()
        self.pools = PoolReader(fs, self.intern, self._num, options)  # thread reads
        self.procs: dict[Key, ProcState] = {}
        self.by_pid: dict[str, ProcState] = {}  # the newest process of each pid
        self.users = UserNames(fs, self.stat_files.live)
        self.tick = 0
        self.uptime: float | None = None
        self.numa = NumaReader(fs, options)
        self.zero_rates: tuple[float | None, float | None] = (self._num(0.0), self._num(0.0))
        self.forks: int | None = None  # /proc/stat's fork count when /proc was last listed
        self.names: list[str] | None = None  # the pids read last tick
        self.wanted: set[int] = set()  # pids to read in full next tick
        self.only: list[str] | None = None  # restrict(): these pids, /proc never listed
        self.sched_misses = 0

    # -- the tick ----------------------------------------------------------------------

    def read(
        self, dt: float | None, mono: float, forks: int | None = None
    ) -> tuple[tuple[ProcessSample, ...], int, list[str]]:
        """This tick's process rows; ``forks`` is /proc/stat's ``processes`` (see _names)."""
        self.tick += 1
        tick = self.tick
        self._force_rereads()
        before = self.names
        names = self._names(forks)
        if names is None:
            return (), 0, [f"processes: cannot list {self.fs.path('proc')}"]
        up_text = self.fs.read("proc/uptime")
        prev_uptime, self.uptime = self.uptime, procparse.parse_uptime(up_text) if up_text else None
        seen: list[ProcState] = []
        alive: list[str] = []
        by_pid = self.by_pid
        every = max(self.options.refresh_every, 1)
        idle_pct = None if dt is None else 0.0
        zero = self.zero_rates
        # The hot loop (every process, every tick): locals, not attribute lookups.
        sched_read = self.sched_files.read if self.sched_files is not None else None
        stat_read = self.stat_files.read
        for name in names:
            proc = by_pid.get(name)
            sched = None
            if sched_read is not None and (proc is None or proc.single):
                # Read before stat, so a run between the two reads shows next tick.
                sched = sched_read(name)
                if (
                    proc is not None
                    and sched == proc.sched_raw
                    and sched is not None
                    and (tick + proc.key[0]) % every
                ):
                    # Did not run, and not its turn for a full read: as it was.
                    proc.rested(tick, idle_pct, zero)
                    seen.append(proc)
                    alive.append(name)
                    continue
                if sched is not None and sched.startswith(b"0 0 0"):
                    self._no_schedstat()  # a kernel without sched_info
                    sched_read = sched = None
            raw = stat_read(name)
            if not raw:
                continue  # exited between listdir and read: not an error
            if sched is None and sched_read is not None and (proc is None or proc.single):
                # stat but no schedstat: a kernel without it (or, once in a blue
                # moon, a pid reused between the two reads: so not on one miss).
                self.sched_misses += 1
                if self.sched_misses >= SCHED_MISSES:
                    self._no_schedstat()
                    sched_read = None
            if proc is not None and proc.stat_raw == raw:
                # Byte-identical, so the same process (same start time), no CPU
                # time, nothing to parse.
                # If schedstat moved it ran, too briefly for a clock tick: its
                # switches are read (status) though its CPU % is 0.
                ran = sched is not None and proc.sched_raw is not None and sched != proc.sched_raw
                # Quiet: schedstat proves no run at all; or, with several threads,
                # no clock tick of CPU among them all: too little to be preempted.
                quiet = (sched is not None and sched == proc.sched_raw) or not proc.single
                proc.rested(tick, idle_pct, zero if quiet else None)
                proc.same_text, proc.active_now = not ran, ran
                proc.sched_raw = sched
            else:
                proc = self._stat(raw, dt, prev_uptime)
                if proc is None:
                    continue
                by_pid[name] = proc
                proc.sched_raw = sched if proc.single else None
            seen.append(proc)
            alive.append(name)
        self.names = alive
        # Last tick's pids again, all alive, one state each: nothing to close or drop
        # (most ticks of a quiet machine; these walks cost ~0.1 ms a tick at 370 pids).
        if names is not before or len(alive) != len(names) or len(self.procs) != len(seen):
            alive_set = set(alive)
            self.stat_files.forget(alive_set)
            if self.sched_files is not None:
                self.sched_files.forget(alive_set)
            for key in [k for k, s in self.procs.items() if s.last_seen != tick]:
                gone = self.procs.pop(key)
                self.pools.drop(gone)
                if by_pid.get(str(key[0])) is gone:
                    del by_pid[str(key[0])]
        seen.sort(key=_ORDER)
        top = seen if self.options.top_n <= 0 else seen[: self.options.top_n]
        self.numa.read(top, mono)
        out: list[ProcessSample | ProcState] = []
        pools: list[Pool] = []
        for rank, proc in enumerate(top):
            if (
                proc.same_text
                and (tick + proc.key[0]) % every
                and proc.status_reads != 1
                and (row := proc.standing_row()) is not None
            ):
                out.append(row)  # nothing moved and not its turn: last tick's row
                continue
            sample = self._process(proc, rank, mono, pools)
            if sample is not None:
                out.append(sample)
        if pools:
            self.pools.read(pools, tick, mono)
            out = [self._row(p, p.st, p.cpu_now) if isinstance(p, ProcState) else p for p in out]  # type: ignore[arg-type]
        self.pools.settle(tick)
        return tuple(out), len(seen), []  # type: ignore[arg-type]

    def reread(self, pid: int) -> None:
        """Read this process in full next tick (say, just re-pinned while asleep).

        Called from any thread: a set's add is atomic, and read() swaps the set.
        """
        self.wanted.add(pid)

    def restrict(self, pids: list[int]) -> None:
        """Read only these processes (``numaview stacks PID``: one process, not the machine)."""
        self.only = [str(p) for p in pids]

    def _force_rereads(self) -> None:
        wanted, self.wanted = self.wanted, set()
        for pid in wanted:
            proc = self.by_pid.get(str(pid))
            if proc is not None:
                # Forget what the shortcuts compare against: stat, status and
                # threads are all read and parsed this tick.
                proc.sched_raw, proc.stat_raw, proc.status_hash = None, b"", 0
                proc.forced = True

    def _names(self, forks: int | None) -> list[str] | None:
        """The pids to read: last tick's, when no process or thread was created since.

        /proc/stat's ``processes`` counts every fork and clone since boot, so
        while it stands still no new pid can exist and listing /proc (0.6 ms
        with ~370 processes at 1 Hz, more than reading all their schedstat)
        is skipped; processes that exited fail their read and drop out.
        """
        if self.only is not None:
            return self.only
        if forks is not None and forks == self.forks and self.names is not None:
            return self.names
        self.forks = forks
        entries = self.fs.listdir("proc")
        if entries is None:
            self.names = None
            return None
        return [n for n in entries if n.isdigit()]

    def _no_schedstat(self) -> None:
        if self.sched_files is not None:
            self.sched_files.close()
            self.sched_files = None

    def _stat(self, raw: bytes, dt: float | None, prev_uptime: float | None) -> ProcState | None:
        text = raw.decode("utf-8", "replace")
        key = procparse.stat_key(text)
        if key is None:
            return None
        proc = self.procs.get(key)
        if proc is not None and proc.stat_raw == raw:
            st = proc.st  # nothing changed: no parse
        else:
            st = procparse.parse_pid_stat(text)
            if st is None:
                return None
        assert st is not None
        ticks = st.utime + st.stime
        cpu_pct: float | None = None
        if dt is not None:
            if proc is not None:
                cpu_pct = max(ticks - proc.ticks, 0) / CLK_TCK / dt * 100
            elif prev_uptime is not None and st.starttime / CLK_TCK >= prev_uptime:
                cpu_pct = ticks / CLK_TCK / dt * 100  # born during this tick
        active = proc is None or ticks != proc.ticks
        if proc is None:
            proc = self.procs[key] = ProcState(ticks=ticks, last_seen=self.tick, key=key)
        proc.same_text = proc.stat_raw == raw
        proc.ticks, proc.last_seen, proc.stat_raw, proc.st = ticks, self.tick, raw, st
        proc.single, proc.quiet = st.num_threads == 1, False
        proc.cpu_now, proc.active_now = cpu_pct, active
        proc.rest_order = (0.0, -st.rss_pages, key[0])
        proc.order = (-cpu_pct, -st.rss_pages, key[0]) if cpu_pct else proc.rest_order
        return proc

    def _process(
        self, proc: ProcState, rank: int, mono: float, pools: list[Pool]
    ) -> ProcessSample | ProcState | None:
        """Its row; or itself, put on ``pools``, when its threads are to be read first."""
        cpu_pct, active = proc.cpu_now, proc.active_now
        st = proc.st
        assert st is not None
        pid = st.pid
        base = f"proc/{pid}"
        first = proc.sample is None
        every = max(self.options.refresh_every, 1)
        forced = proc.forced
        due = (self.tick + pid) % every == 0 or proc.status_reads == 1 or forced
        proc.forced = False
        if first:
            proc.kernel = bool(st.flags & procparse.PF_KTHREAD)
            try:
                proc.cmdline = proc_files.cmdline(self.fs, pid)
            except ProcError:
                proc.cmdline = None  # gone meanwhile: its status read says so next
        if first or active or due:
            idle = not first and not active and proc.same_text
            if idle and proc.quiet and self.stat_files.live and _same_affinity(pid, proc.affinity):
                return self._idle_turn(proc, st, cpu_pct, mono)  # no file read at all
            text = self.fs.read(f"{base}/status")
            if text is None:
                return None  # gone mid-read
            digest = hash(text)
            if idle and digest == proc.status_hash and (proc.single or proc.status_reads > 1):
                return self._idle_turn(proc, st, cpu_pct, mono)
            proc.status_hash = digest
            status = procparse.parse_pid_status(text)
            if status.uid is not None and proc.user is None:
                proc.user = self.users(status.uid)
            if status.kthread is not None:
                proc.kernel = status.kthread
            ctx = (status.voluntary_ctxt, status.nonvoluntary_ctxt)
            pool_rates = proc.ctx_rates  # a pool's: summed over its threads when they were read
            elapsed = mono - proc.status_mono if proc.status_reads else None
            if elapsed is not None and elapsed > 0:
                proc.ctx_rates = (
                    self._num(rate(proc.ctx[0], ctx[0], elapsed)),
                    self._num(rate(proc.ctx[1], ctx[1], elapsed)),
                )
            affinity = self.intern(status.cpus_allowed)
            affinity_changed = affinity is not proc.affinity
            proc.ctx, proc.affinity = ctx, affinity  # type: ignore[assignment]
            proc.status_mono = mono
            proc.status_reads += 1
            threads_now = active and rank < self.options.threads_top
            if self.options.threads and not proc.kernel and (first or due or threads_now):
                refresh = first or due or affinity_changed
                if st.num_threads > 1:
                    pools.append((proc, rank, refresh, text, first or forced, pool_rates))
                    return proc  # its row once its threads are read (or wait their turn)
                read_threads(self.fs, self.intern, self._num, proc, st, mono, refresh, text)
        return self._row(proc, st, cpu_pct)

    def _idle_turn(
        self, proc: ProcState, st: procparse.PidStat, cpu_pct: float | None, mono: float
    ) -> ProcessSample:
        """An idle process's turn, and its status as it was: the same switch counts
        (rates 0), affinity and owner. No parse, and its threads did not run either."""
        proc.status_mono, proc.status_reads = mono, proc.status_reads + 1
        proc.ctx_rates = self.zero_rates
        row = proc.standing_row()  # stat and mask as they were: it cannot differ
        if row is not None:
            return row
        return self._row(proc, st, cpu_pct)

    def _row(self, proc: ProcState, st: procparse.PidStat, cpu_pct: float | None) -> ProcessSample:
        """The process's row from what is known of it; the last row when nothing differs."""
        pid = st.pid
        threads = proc.thread_samples
        prev = proc.sample
        last: tuple[int, ...]
        nodes: tuple[int, ...]
        if threads and prev is not None and prev.thread_samples is threads:
            last, nodes = prev.last_cpus, prev.nodes_running  # the same threads: as they were
        else:
            own = (st.processor,) if st.processor is not None else ()
            last = self.intern(threads.last_cpus if threads else own)  # type: ignore[assignment]
            node_of = self.cpu_node
            nodes = self.intern(tuple(sorted({node_of[c] for c in last if c in node_of})))  # type: ignore[assignment]
        sample = ProcessSample(
            pid=self.intern(pid),  # type: ignore[arg-type]
            start_time=self.intern(round(st.starttime / CLK_TCK, 2)),  # type: ignore[arg-type]
            ppid=self.intern(st.ppid),  # type: ignore[arg-type]
            user=proc.user,
            name=self.intern(st.comm),  # type: ignore[arg-type]
            cmdline=proc.cmdline,
            state=st.state,
            cpu_pct=self._num(cpu_pct),
            threads=self.intern(st.num_threads),  # type: ignore[arg-type]
            affinity=proc.affinity,
            last_cpus=last,
            nodes_running=nodes,
            rss_bytes=st.rss_pages * PAGE_SIZE,
            ctx_voluntary_per_s=proc.ctx_rates[0],
            ctx_involuntary_per_s=proc.ctx_rates[1],
            mem_policy=proc.numa_policy,
            mem_by_node_bytes=proc.numa,
            mem_by_node_mono=proc.numa_mono if proc.numa is not None else None,
            thread_samples=threads,
            kernel_thread=proc.kernel,
        )
        if proc.sample is not None and proc.sample == sample:
            return proc.sample  # unchanged: share the object with the last frame
        proc.sample = sample
        return sample

    def _num(self, v: float | None) -> float | None:
        return None if v is None else self.intern(round(v, 1))  # type: ignore[return-value]


def _same_affinity(pid: int, affinity: tuple[int, ...] | None) -> bool:
    """Whether the live process's mask is still ``affinity``: one syscall (2 µs) where
    its status file costs 24 µs, measured cold at 1 Hz. For a process that did not
    run, the mask is the one thing in status that someone else can change."""
    if affinity is None:
        return False
    try:
        now = os.sched_getaffinity(pid)
    except OSError:
        return False  # gone, or not allowed: the status read decides
    return len(now) == len(affinity) and now.issuperset(affinity)
