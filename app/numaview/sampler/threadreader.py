"""Per-thread reads of one process: task/TID/stat each, and task/TID/status for masks.

A thread whose stat text is the same as last time is not parsed again (an
idle thread of a busy pool); a one-thread process needs no task/ reads.
"""

from __future__ import annotations

from collections.abc import Callable

from numaview.linux import procparse
from numaview.linux.fsroot import FsRoot
from numaview.model.frame import ThreadSample, ThreadTable
from numaview.sampler.process_state import CLK_TCK, Interner, ProcState


def read_threads(
    fs: FsRoot,
    intern: Interner,
    num: Callable[[float | None], float | None],
    proc: ProcState,
    st: procparse.PidStat,
    base: str,
    mono: float,
    refresh: bool,
    main_status: str | None = None,
) -> tuple[float | None, float | None] | None:
    """Every thread's CPU %, last CPU and own mask; the switch rates of all threads.

    A thread's status (mask, switch counts) is read when it is new, when it ran
    (its stat changed) or on ``refresh``. The process's status counts only its
    main thread's switches, which in a thread pool often sleeps while the
    workers are preempted; so for a process with several threads the rates
    returned are summed over its threads (None until there is a baseline).
    ``main_status`` is /proc/PID/status just read: the main thread's own, so
    its task/PID/status is not read again.
    """
    if st.num_threads == 1:
        # One thread: the process's own stat and status already say it all.
        tids: list[str] | None = [str(st.pid)]
        stats = {st.pid: st}
    else:
        tids = fs.listdir(f"{base}/task")
        stats = {}
    if tids is None:
        return None
    elapsed = mono - proc.threads_mono if proc.threads_mono is not None else None
    pool = len(tids) > 1
    had_counts = bool(proc.thread_ctx)
    samples = []
    ticks: dict[int, int] = {}
    parsed: dict[int, tuple[int, procparse.PidStat]] = {}
    counts: dict[int, tuple[int, int]] = {}
    switched = [0, 0]  # voluntary, involuntary, over all threads since the last read
    for name in sorted((t for t in tids if t.isdigit()), key=int):
        tid = int(name)
        tst = stats.get(tid)
        ran = False
        if tst is None:
            text = fs.read(f"{base}/task/{name}/stat")
            if not text:
                continue  # the thread exited
            digest = hash(text)
            old = proc.thread_stats.get(tid)
            # An idle thread of a busy pool: the same text, parsed last time.
            ran = old is None or old[0] != digest
            tst = procparse.parse_pid_stat(text) if ran else old[1]  # type: ignore[index]
            if tst is None:
                continue
            parsed[tid] = (digest, tst)
        t = tst.utime + tst.stime
        ticks[tid] = t
        before = proc.thread_ticks.get(tid)
        pct = None
        if elapsed is not None and elapsed > 0 and before is not None:
            pct = num(max(t - before, 0) / CLK_TCK / elapsed * 100)
        if pool and (refresh or ran or tid not in proc.thread_affinity):
            text = main_status if tid == st.pid and main_status else None
            text = text or fs.read(f"{base}/task/{name}/status")
            mask, vol, invol = procparse.parse_task_status(text) if text else (None, None, None)
            proc.thread_affinity[tid] = intern(mask)  # type: ignore[assignment]
            if vol is not None and invol is not None:
                now = (vol, invol)
                last = proc.thread_ctx.get(tid)
                if last is not None:
                    switched[0] += max(now[0] - last[0], 0)
                    switched[1] += max(now[1] - last[1], 0)
                counts[tid] = now
        elif tid in proc.thread_ctx:
            counts[tid] = proc.thread_ctx[tid]  # did not run: the same counts
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
    proc.thread_ticks, proc.thread_stats, proc.thread_ctx = ticks, parsed, counts
    proc.threads_mono = mono
    proc.thread_affinity = {t: a for t, a in proc.thread_affinity.items() if t in ticks}
    fresh = ThreadTable(samples, intern)
    if proc.thread_samples is None or fresh != proc.thread_samples:
        proc.thread_samples = fresh
    if not pool or not had_counts or elapsed is None or elapsed <= 0:
        return None
    return num(switched[0] / elapsed), num(switched[1] / elapsed)
