"""Per-thread reads of one process: task/TID/stat each, and task/TID/status for masks.

A thread whose stat text is the same as last time is not parsed again (an
idle thread of a busy pool); a one-thread process needs no task/ reads.
"""

from __future__ import annotations

from collections.abc import Callable

from numaview.model.frame import ThreadSample, ThreadTable
from numaview.sampler import procfs
from numaview.sampler.fsroot import FsRoot
from numaview.sampler.procstate import CLK_TCK, Interner, ProcState


def read_threads(
    fs: FsRoot,
    intern: Interner,
    num: Callable[[float | None], float | None],
    proc: ProcState,
    st: procfs.PidStat,
    base: str,
    dt: float | None,
    refresh: bool,
) -> None:
    """Every thread's CPU %, last CPU and (on ``refresh`` or when new) its own mask."""
    if st.num_threads == 1:
        # One thread: the process's own stat and status already say it all.
        tids: list[str] | None = [str(st.pid)]
        stats = {st.pid: st}
    else:
        tids = fs.listdir(f"{base}/task")
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
            text = fs.read(f"{base}/task/{name}/stat")
            if not text:
                continue  # the thread exited
            digest = hash(text)
            old = proc.thread_stats.get(tid)
            # An idle thread of a busy pool: the same text, parsed last time.
            tst = old[1] if old is not None and old[0] == digest else procfs.parse_pid_stat(text)
            if tst is None:
                continue
            parsed[tid] = (digest, tst)
        t = tst.utime + tst.stime
        ticks[tid] = t
        before = proc.thread_ticks.get(tid)
        pct = None
        if dt is not None and before is not None:
            pct = num(max(t - before, 0) / CLK_TCK / dt * 100)
        if len(tids) > 1 and (refresh or tid not in proc.thread_affinity):
            status = fs.read(f"{base}/task/{name}/status")
            aff = procfs.parse_pid_status(status).cpus_allowed if status else None
            proc.thread_affinity[tid] = intern(aff)  # type: ignore[assignment]
        aff = proc.thread_affinity.get(tid)
        sample = ThreadSample(
            tid=tid,  # kept as an array entry, no object per frame
            name=intern(tst.comm),  # type: ignore[arg-type]
            state=tst.state,
            last_cpu=tst.processor,
            cpu_pct=pct,
            affinity=None if aff is None or aff is proc.affinity or aff == proc.affinity else aff,
        )
        samples.append(sample)
    proc.thread_ticks, proc.thread_stats = ticks, parsed
    proc.thread_affinity = {t: a for t, a in proc.thread_affinity.items() if t in ticks}
    fresh = ThreadTable(samples, intern)
    if proc.thread_samples is None or fresh != proc.thread_samples:
        proc.thread_samples = fresh
