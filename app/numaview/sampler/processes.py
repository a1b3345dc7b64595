"""Per-process sampling: the expensive half of a tick, so every read here earns its place.

- Every process's /proc/PID/stat is read each tick (it is how we know who
  ran); on the live /proc through file descriptors kept open (``pread`` costs
  about half of open+read+close) and, when the text did not change, the
  previous row is reused without parsing.
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

import os
import pwd
import resource
import time
from dataclasses import dataclass, field

from numaview.model.frame import ProcessSample, ThreadSample, ThreadTable
from numaview.sampler import procfs
from numaview.sampler.fsroot import FsRoot

try:
    CLK_TCK = os.sysconf("SC_CLK_TCK")
    PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # pragma: no cover - non-Linux
    CLK_TCK, PAGE_SIZE = 100, 4096

Key = tuple[int, int]  # (pid, start time in clock ticks)


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
    stat_text: str = ""
    same_text: bool = False  # this tick's stat is byte-identical to the last one
    st: procfs.PidStat | None = None
    sample: ProcessSample | None = None
    user: str | None = None
    cmdline: str | None = None
    kernel: bool = False
    status_tick: int = -(10**9)
    status_mono: float = 0.0
    status_reads: int = 0
    ctx: tuple[int | None, int | None] = (None, None)
    ctx_rates: tuple[float | None, float | None] = (None, None)
    affinity: tuple[int, ...] | None = None
    thread_ticks: dict[int, int] = field(default_factory=dict)
    thread_affinity: dict[int, tuple[int, ...] | None] = field(default_factory=dict)
    thread_samples: ThreadTable | None = None
    numa: dict[int, int] | None = None
    numa_policy: str | None = None
    numa_mono: float | None = None


class StatFiles:
    """/proc/PID/stat through descriptors kept open between ticks (live /proc only).

    A fake tree's files may be replaced under an open descriptor, so there it
    opens each time; on procfs a descriptor of an exited process fails with
    ESRCH and is reopened, so a reused pid is never read as the old one.
    """

    def __init__(self, fs: FsRoot) -> None:
        self.fs = fs
        self.live = os.path.realpath(fs.root) == "/"
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.capacity = max(0, min(soft // 2, 4096) - 64) if self.live else 0
        self.fds: dict[str, int] = {}

    def read(self, pid: str) -> str | None:
        fd = self.fds.get(pid)
        if fd is not None:
            try:
                return os.pread(fd, 4096, 0).decode("utf-8", "replace")
            except OSError:
                os.close(self.fds.pop(pid))
        if len(self.fds) >= self.capacity:
            return self.fs.read(f"proc/{pid}/stat", limit=4096)
        try:
            fd = os.open(self.fs.path(f"proc/{pid}/stat"), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
        except OSError:
            os.close(fd)
            return None
        self.fds[pid] = fd
        return text

    def forget(self, alive: set[str]) -> None:
        for pid in [p for p in self.fds if p not in alive]:
            os.close(self.fds.pop(pid))

    def close(self) -> None:
        self.forget(set())


class ProcessReader:
    def __init__(self, fs: FsRoot, cpu_node: dict[int, int], options: SamplerOptions) -> None:
        self.fs = fs
        self.cpu_node = cpu_node
        self.options = options
        self.stat_files = StatFiles(fs)
        self.intern = Interner()
        self.procs: dict[Key, _Proc] = {}
        self.by_pid: dict[str, _Proc] = {}  # the newest process of each pid
        self.users: dict[int, str] = {}
        self.tick = 0
        self.uptime: float | None = None
        self.numa_tokens = options.numa_budget * 5.0  # seconds of reading allowed
        self.numa_mono: float | None = None

    # -- the tick ----------------------------------------------------------------------

    def read(
        self, dt: float | None, mono: float
    ) -> tuple[tuple[ProcessSample, ...], int, list[str]]:
        self.tick += 1
        entries = self.fs.listdir("proc")
        if entries is None:
            return (), 0, [f"processes: cannot list {self.fs.path('proc')}"]
        up_text = self.fs.read("proc/uptime")
        prev_uptime, self.uptime = self.uptime, procfs.parse_uptime(up_text) if up_text else None
        seen: list[tuple[_Proc, Key, float | None, bool]] = []
        names = [n for n in entries if n.isdigit()]
        by_pid = self.by_pid
        for name in names:
            text = self.stat_files.read(name)
            if not text:
                continue  # exited between listdir and read: not an error
            proc = by_pid.get(name)
            if proc is not None and proc.stat_text == text:
                # The usual case for an idle process: byte-identical, so the same
                # process (same start time), no CPU time, nothing to parse.
                proc.same_text, proc.last_seen = True, self.tick
                seen.append((proc, proc.key, None if dt is None else 0.0, False))
                continue
            entry = self._stat(text, dt, prev_uptime)
            if entry is not None:
                by_pid[name] = entry[0]
                seen.append(entry)
        self.stat_files.forget(set(names))
        for key in [k for k, s in self.procs.items() if s.last_seen != self.tick]:
            gone = self.procs.pop(key)
            if by_pid.get(str(key[0])) is gone:
                del by_pid[str(key[0])]
        seen.sort(key=lambda s: (-(s[2] or 0.0), -s[0].st.rss_pages, s[1][0]))  # type: ignore[union-attr]
        top = seen if self.options.top_n <= 0 else seen[: self.options.top_n]
        self._numa(top, mono)
        out = []
        for rank, (proc, key, cpu_pct, active) in enumerate(top):
            sample = self._process(proc, key, cpu_pct, active, rank, mono, dt)
            if sample is not None:
                out.append(sample)
        return tuple(out), len(seen), []

    def _stat(
        self, text: str, dt: float | None, prev_uptime: float | None
    ) -> tuple[_Proc, Key, float | None, bool] | None:
        close = text.rfind(")")
        pid_text = text[: text.find(" ")]
        if close < 0 or not pid_text.isdigit():
            return None
        start_field = text[close + 2 :].split(" ", 20)  # field 22 (starttime) is index 19
        if len(start_field) < 21 or not start_field[19].isdigit():
            return None
        key = (int(pid_text), int(start_field[19]))
        proc = self.procs.get(key)
        if proc is not None and proc.stat_text == text:
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
        proc.same_text = proc.stat_text == text
        proc.ticks, proc.last_seen, proc.stat_text, proc.st = ticks, self.tick, text, st
        return proc, key, cpu_pct, active

    def _process(
        self,
        proc: _Proc,
        key: Key,
        cpu_pct: float | None,
        active: bool,
        rank: int,
        mono: float,
        dt: float | None,
    ) -> ProcessSample | None:
        st = proc.st
        assert st is not None
        pid = st.pid
        base = f"proc/{pid}"
        first = proc.sample is None
        every = max(self.options.refresh_every, 1)
        due = (self.tick + pid) % every == 0 or proc.status_reads == 1
        prev = proc.sample
        if (
            proc.same_text
            and not due
            and prev is not None
            and prev.cpu_pct == 0.0
            and prev.mem_by_node_bytes is proc.numa
        ):
            return prev  # nothing moved and not its turn: the same row as last tick
        if first:
            proc.kernel = bool(st.flags & procfs.PF_KTHREAD)
            raw = self.fs.read(f"{base}/cmdline", limit=8192)
            proc.cmdline = (raw.replace("\x00", " ").strip() or None) if raw else None
        if first or active or due:
            text = self.fs.read(f"{base}/status")
            if text is None:
                return None  # gone mid-read
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
        for name in sorted((t for t in tids if t.isdigit()), key=int):
            tid = int(name)
            tst = stats.get(tid)
            if tst is None:
                text = self.fs.read(f"{base}/task/{name}/stat")
                tst = procfs.parse_pid_stat(text) if text else None
            if tst is None:
                continue  # the thread exited
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
                affinity=None if aff is None or aff == proc.affinity else aff,
            )
            samples.append(sample)
        proc.thread_ticks = ticks
        proc.thread_affinity = {t: a for t, a in proc.thread_affinity.items() if t in ticks}
        fresh = ThreadTable(samples, self.intern)
        if proc.thread_samples is None or fresh != proc.thread_samples:
            proc.thread_samples = fresh

    def _numa(self, top: list[tuple[_Proc, Key, float | None, bool]], mono: float) -> None:
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
        largest = sorted(
            (s for s in top if not s[0].kernel and s[0].st is not None),
            key=lambda s: -s[0].st.rss_pages,  # type: ignore[union-attr]
        )[: opts.numa_k]
        due = [
            s
            for s in largest
            if s[0].numa_mono is None or mono - s[0].numa_mono >= opts.numa_every_s
        ]
        due.sort(key=lambda s: s[0].numa_mono or -1.0)  # never read first
        for proc, key, _, _ in due[: opts.numa_per_tick]:
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


def rate(old: int | None, new: int | None, dt: float | None) -> float | None:
    if old is None or new is None or dt is None or dt <= 0:
        return None
    return round(max(new - old, 0) / dt, 1)
