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
- status (affinity, context switches) and every thread's stat are read only
  for processes that ran since the last tick, limited to the busiest
  ``threads_top``, and for the rest on a slow rotation spread by pid. A
  process whose CPU time did not move had no thread run, so its threads' last
  CPUs are still right. One-thread processes need no task/ reads at all.
- numa_maps walks the target's page tables and can stall it (measured: 43 ms
  to read a 4 GiB process; its allocator stalled up to 47 ms), so it is read
  for the K largest processes only, each at most every ``numa_every_s``, and
  all of them together within a CPU budget (a token bucket).
- Values that repeat (CPU lists, names, percentages) are shared objects, and
  unchanged rows are the previous frame's objects: an hour of frames fits.
"""

from __future__ import annotations

import heapq
import os
import pwd
import time
from dataclasses import dataclass, field
from operator import attrgetter

from numaview.model.frame import ProcessSample, ThreadSample, ThreadTable
from numaview.sampler import procfs
from numaview.sampler.fsroot import FsRoot
from numaview.sampler.procfiles import ProcFiles

try:
    CLK_TCK = os.sysconf("SC_CLK_TCK")
    PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - non-Linux
    CLK_TCK, PAGE_SIZE = 100, 4096

Key = tuple[int, int]  # (pid, start time in clock ticks)
_ORDER = attrgetter("order")
_REST = attrgetter("rest_order")
SCHED_MISSES = 8  # processes with stat but no schedstat before schedstat is given up


@dataclass(frozen=True, slots=True)
class SamplerOptions:
    top_n: int = 300  # processes kept per frame (by CPU); 0 = all
    numa_k: int = 10  # largest processes whose numa_maps are read
    numa_every_s: float = 10.0  # each of them at most this often
    numa_per_tick: int = 2  # at most this many reads per tick
    numa_budget: float = 0.002  # and at most this share of one core on them
    refresh_every: int = 10  # idle processes' status/threads re-read every N ticks
    threads: bool = True  # read per-thread data
    threads_top: int = 32  # busiest processes whose threads are read every tick


class Interner:
    """One shared object per distinct value: CPU lists, names, rounded numbers."""

    def __init__(self, limit: int = 50_000) -> None:
        self._table: dict[object, object] = {}
        self._limit = limit

    def __call__(self, value: object) -> object:
        got = self._table.get(value)
        if got is None:
            if len(self._table) >= self._limit:
                self._table.clear()
            self._table[value] = got = value
        return got


@dataclass(slots=True)
class _Proc:
    """What the sampler remembers of one process between ticks."""

    ticks: int
    last_seen: int
    key: Key = (0, 0)
    cpu_now: float | None = None  # this tick's CPU % (None: unknown yet)
    active_now: bool = False  # its CPU time moved this tick (or it is new)
    order: tuple[float, int, int] = (0.0, 0, 0)  # this tick's rank: -CPU %, -RSS, pid
    rest_order: tuple[float, int, int] = (0.0, 0, 0)  # its rank when it did not run
    stat_raw: bytes = b""
    same_text: bool = False  # nothing moved this tick: stat byte-identical or not read
    single: bool = False  # one thread: schedstat says whether it ran
    sched_raw: bytes | None = None  # schedstat read just before the last stat read
    st: procfs.PidStat | None = None
    sample: ProcessSample | None = None
    user: str | None = None
    cmdline: str | None = None
    kernel: bool = False
    forced: bool = False  # read in full this tick (reread())
    quiet: bool = False  # schedstat proved it did not run at all this tick
    status_mono: float = 0.0
    status_reads: int = 0
    status_hash: int = 0  # of the last status text: an idle turn with the same text skips all
    ctx: tuple[int | None, int | None] = (None, None)
    ctx_rates: tuple[float | None, float | None] = (None, None)
    affinity: tuple[int, ...] | None = None
    thread_ticks: dict[int, int] = field(default_factory=dict)
    thread_affinity: dict[int, tuple[int, ...] | None] = field(default_factory=dict)
    thread_stats: dict[int, tuple[int, procfs.PidStat]] = field(
        default_factory=dict
    )  # by text hash
    thread_samples: ThreadTable | None = None
    numa: dict[int, int] | None = None
    numa_policy: str | None = None
    numa_mono: float | None = None

    def rested(
        self,
        tick: int,
        idle_pct: float | None,
        zero_rates: tuple[float | None, float | None] | None,
    ) -> None:
        """It did not run this tick; with ``zero_rates`` schedstat proves it never
        switched either (its run count stood still), so its switch rates are 0."""
        self.same_text, self.last_seen, self.active_now = True, tick, False
        self.cpu_now, self.order = idle_pct, self.rest_order
        self.quiet = zero_rates is not None
        if zero_rates is not None:
            self.ctx_rates = zero_rates


class ProcessReader:
    def __init__(self, fs: FsRoot, cpu_node: dict[int, int], options: SamplerOptions) -> None:
        self.fs = fs
        self.cpu_node = cpu_node
        self.options = options
        self.stat_files = ProcFiles(fs, "stat")
        self.sched_files: ProcFiles | None = ProcFiles(fs, "schedstat")
        self.intern = Interner()
        self.procs: dict[Key, _Proc] = {}
        self.by_pid: dict[str, _Proc] = {}  # the newest process of each pid
        self.users: dict[int, str] = {}
        self.tick = 0
        self.uptime: float | None = None
        self.numa_tokens = options.numa_budget * 5.0  # seconds of reading allowed
        self.numa_mono: float | None = None
        self.zero_rates: tuple[float | None, float | None] = (self._num(0.0), self._num(0.0))
        self.forks: int | None = None  # /proc/stat's fork count when /proc was last listed
        self.names: list[str] | None = None  # the pids read last tick
        self.wanted: set[int] = set()  # pids to read in full next tick
        self.sched_misses = 0

    # -- the tick ----------------------------------------------------------------------

    def read(
        self, dt: float | None, mono: float, forks: int | None = None
    ) -> tuple[tuple[ProcessSample, ...], int, list[str]]:
        """This tick's process rows; ``forks`` is /proc/stat's ``processes`` (see _names)."""
        self.tick += 1
        tick = self.tick
        self._force_rereads()
        names = self._names(forks)
        if names is None:
            return (), 0, [f"processes: cannot list {self.fs.path('proc')}"]
        up_text = self.fs.read("proc/uptime")
        prev_uptime, self.uptime = self.uptime, procfs.parse_uptime(up_text) if up_text else None
        seen: list[_Proc] = []
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
                quiet = sched is not None and sched == proc.sched_raw
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
        alive_set = set(alive)
        self.stat_files.forget(alive_set)
        if self.sched_files is not None:
            self.sched_files.forget(alive_set)
        for key in [k for k, s in self.procs.items() if s.last_seen != tick]:
            gone = self.procs.pop(key)
            if by_pid.get(str(key[0])) is gone:
                del by_pid[str(key[0])]
        seen.sort(key=_ORDER)
        top = seen if self.options.top_n <= 0 else seen[: self.options.top_n]
        self._numa(top, mono)
        out = []
        for rank, proc in enumerate(top):
            prev = proc.sample
            if (
                proc.same_text
                and (tick + proc.key[0]) % every
                and proc.status_reads != 1
                and prev is not None
                and prev.cpu_pct == 0.0
                and prev.mem_by_node_bytes is proc.numa
                and proc.ctx_rates == (prev.ctx_voluntary_per_s, prev.ctx_involuntary_per_s)
            ):
                out.append(prev)  # nothing moved and not its turn: last tick's row
                continue
            sample = self._process(proc, rank, mono, dt)
            if sample is not None:
                out.append(sample)
        return tuple(out), len(seen), []

    def reread(self, pid: int) -> None:
        """Read this process in full next tick (say, just re-pinned while asleep).

        Called from any thread: a set's add is atomic, and read() swaps the set.
        """
        self.wanted.add(pid)

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

    def _stat(self, raw: bytes, dt: float | None, prev_uptime: float | None) -> _Proc | None:
        text = raw.decode("utf-8", "replace")
        close = text.rfind(")")
        pid_text = text[: text.find(" ")]
        if close < 0 or not pid_text.isdigit():
            return None
        start_field = text[close + 2 :].split(" ", 20)  # field 22 (starttime) is index 19
        if len(start_field) < 21 or not start_field[19].isdigit():
            return None
        key = (int(pid_text), int(start_field[19]))
        proc = self.procs.get(key)
        if proc is not None and proc.stat_raw == raw:
            st = proc.st  # nothing changed: no parse
        else:
            st = procfs.parse_pid_stat(text)
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
            proc = self.procs[key] = _Proc(ticks=ticks, last_seen=self.tick, key=key)
        proc.same_text = proc.stat_raw == raw
        proc.ticks, proc.last_seen, proc.stat_raw, proc.st = ticks, self.tick, raw, st
        proc.single, proc.quiet = st.num_threads == 1, False
        proc.cpu_now, proc.active_now = cpu_pct, active
        proc.rest_order = (0.0, -st.rss_pages, key[0])
        proc.order = (-cpu_pct, -st.rss_pages, key[0]) if cpu_pct else proc.rest_order
        return proc

    def _process(
        self, proc: _Proc, rank: int, mono: float, dt: float | None
    ) -> ProcessSample | None:
        cpu_pct, active = proc.cpu_now, proc.active_now
        st = proc.st
        assert st is not None
        pid = st.pid
        base = f"proc/{pid}"
        first = proc.sample is None
        every = max(self.options.refresh_every, 1)
        due = (self.tick + pid) % every == 0 or proc.status_reads == 1 or proc.forced
        proc.forced = False
        if first:
            proc.kernel = bool(st.flags & procfs.PF_KTHREAD)
            raw = self.fs.read(f"{base}/cmdline", limit=8192)
            proc.cmdline = (raw.replace("\x00", " ").strip() or None) if raw else None
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
            status = procfs.parse_pid_status(text)
            if status.uid is not None and proc.user is None:
                proc.user = self._user(status.uid)
            if status.kthread is not None:
                proc.kernel = status.kthread
            ctx = (status.voluntary_ctxt, status.nonvoluntary_ctxt)
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
                self._threads(proc, st, base, dt, first or due or affinity_changed)
        return self._row(proc, st, cpu_pct)

    def _idle_turn(
        self, proc: _Proc, st: procfs.PidStat, cpu_pct: float | None, mono: float
    ) -> ProcessSample:
        """An idle process's turn, and its status as it was: the same switch counts
        (rates 0), affinity and owner. No parse, and its threads did not run either."""
        proc.status_mono, proc.status_reads = mono, proc.status_reads + 1
        proc.ctx_rates = self.zero_rates
        prev = proc.sample
        if (
            prev is not None
            and prev.cpu_pct == self._num(cpu_pct)
            and (prev.ctx_voluntary_per_s, prev.ctx_involuntary_per_s) == proc.ctx_rates
            and prev.mem_by_node_bytes is proc.numa
        ):
            return prev  # stat and mask as they were: the row cannot differ
        return self._row(proc, st, cpu_pct)

    def _row(self, proc: _Proc, st: procfs.PidStat, cpu_pct: float | None) -> ProcessSample:
        """The process's row from what is known of it; the last row when nothing differs."""
        pid = st.pid
        threads = proc.thread_samples
        own = (st.processor,) if st.processor is not None else ()
        last: tuple[int, ...] = self.intern(threads.last_cpus if threads else own)  # type: ignore[assignment]
        nodes = self.intern(tuple(sorted({self.cpu_node[c] for c in last if c in self.cpu_node})))
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
            nodes_running=nodes,  # type: ignore[arg-type]
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

    def _threads(
        self, proc: _Proc, st: procfs.PidStat, base: str, dt: float | None, refresh: bool
    ) -> None:
        if st.num_threads == 1:
            # One thread: the process's own stat and status already say it all.
            tids: list[str] | None = [str(st.pid)]
            stats = {st.pid: st}
        else:
            tids = self.fs.listdir(f"{base}/task")
            stats = {}
        if tids is None:
            return
        samples = []
        ticks: dict[int, int] = {}
        parsed: dict[int, tuple[int, procfs.PidStat]] = {}
        for name in sorted((t for t in tids if t.isdigit()), key=int):
            tid = int(name)
            tst = stats.get(tid)
            if tst is None:
                text = self.fs.read(f"{base}/task/{name}/stat")
                if not text:
                    continue  # the thread exited
                digest = hash(text)
                old = proc.thread_stats.get(tid)
                # An idle thread of a busy pool: the same text, parsed last time.
                tst = (
                    old[1] if old is not None and old[0] == digest else procfs.parse_pid_stat(text)
                )
                if tst is None:
                    continue
                parsed[tid] = (digest, tst)
            t = tst.utime + tst.stime
            ticks[tid] = t
            before = proc.thread_ticks.get(tid)
            pct = None
            if dt is not None and before is not None:
                pct = self._num(max(t - before, 0) / CLK_TCK / dt * 100)
            if len(tids) > 1 and (refresh or tid not in proc.thread_affinity):
                status = self.fs.read(f"{base}/task/{name}/status")
                aff = procfs.parse_pid_status(status).cpus_allowed if status else None
                proc.thread_affinity[tid] = self.intern(aff)  # type: ignore[assignment]
            aff = proc.thread_affinity.get(tid)
            sample = ThreadSample(
                tid=tid,  # kept as an array entry, no object per frame
                name=self.intern(tst.comm),  # type: ignore[arg-type]
                state=tst.state,
                last_cpu=tst.processor,
                cpu_pct=pct,
                affinity=None
                if aff is None or aff is proc.affinity or aff == proc.affinity
                else aff,
            )
            samples.append(sample)
        proc.thread_ticks, proc.thread_stats = ticks, parsed
        proc.thread_affinity = {t: a for t, a in proc.thread_affinity.items() if t in ticks}
        fresh = ThreadTable(samples, self.intern)
        if proc.thread_samples is None or fresh != proc.thread_samples:
            proc.thread_samples = fresh

    def _numa(self, top: list[_Proc], mono: float) -> None:
        """numa_maps of the K largest processes: each not too often, all within a CPU budget."""
        opts = self.options
        if self.numa_mono is not None:
            self.numa_tokens = min(
                self.numa_tokens + (mono - self.numa_mono) * opts.numa_budget,
                opts.numa_budget * 30.0,
            )
        self.numa_mono = mono
        if opts.numa_k <= 0:
            return
        # rest_order is (0, -RSS, pid): the smallest are the largest in memory.
        largest = [p for p in heapq.nsmallest(opts.numa_k, top, key=_REST) if not p.kernel]
        due = [p for p in largest if p.numa_mono is None or mono - p.numa_mono >= opts.numa_every_s]
        due.sort(key=lambda p: p.numa_mono or -1.0)  # never read first
        for proc in due[: opts.numa_per_tick]:
            key = proc.key
            if self.numa_tokens <= 0:
                break
            proc.numa_mono = mono  # also on failure: do not retry every tick
            t0 = time.thread_time()
            text = self.fs.read(f"proc/{key[0]}/numa_maps", limit=64 << 20)
            if text is not None:
                by_node, policy = procfs.parse_numa_maps(text, PAGE_SIZE // 1024)
                proc.numa, proc.numa_policy = by_node, policy
            self.numa_tokens -= time.thread_time() - t0

    def _user(self, uid: int) -> str:
        name = self.users.get(uid)
        if name is None:
            name = self._user_names().get(uid, str(uid))
            self.users[uid] = name
        return name

    def _user_names(self) -> dict[int, str]:
        # The live machine asks NSS (LDAP users too); a fake or gathered tree has
        # its own etc/passwd, and local names would be wrong for it.
        if self.stat_files.live:
            return {p.pw_uid: p.pw_name for p in pwd.getpwall()}
        out: dict[int, str] = {}
        for line in (self.fs.read("etc/passwd", limit=1 << 20) or "").splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2].isdigit():
                out.setdefault(int(parts[2]), parts[0])
        return out


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


def rate(old: int | None, new: int | None, dt: float | None) -> float | None:
    if old is None or new is None or dt is None or dt <= 0:
        return None
    return round(max(new - old, 0) / dt, 1)
