"""Per-thread reads of one process: task/TID/stat each, and task/TID/status for masks.

A thread whose stat bytes are the same as last time is neither decoded nor
parsed again (an idle thread of a busy pool); a one-thread process needs no
task/ reads. A pool's files are opened relative to its task/ directory
(linux/taskdir.py): one path walk per process, not one per thread file.
"""

from __future__ import annotations

from collections.abc import Callable

from numaview.linux import procparse
from numaview.linux.fsroot import FsRoot
from numaview.linux.taskdir import TaskDir, forget
from numaview.model.frame import ThreadSample, ThreadTable
from numaview.sampler.process_state import CLK_TCK, Interner, ProcState


def read_threads(
    fs: FsRoot,
    intern: Interner,
    num: Callable[[float | None], float | None],
    proc: ProcState,
    st: procparse.PidStat,
    mono: float,
    refresh: bool,
    main_status: str | None = None,
    room: list[int] | None = None,
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
        return _threads(None, [str(st.pid)], {st.pid: st}, intern, num, proc, st, mono, refresh)
    task = TaskDir(fs, st.pid)
    try:
        tids = task.names()
        if tids is None:
            return None
        got = _threads(task, tids, {}, intern, num, proc, st, mono, refresh, main_status, room)
        if proc.thread_fds and room is not None:
            forget(proc.thread_fds, room, tids)  # threads that exited
        return got
    finally:
        task.close()


def _threads(
    task: TaskDir | None,
    tids: list[str],
    stats: dict[int, procparse.PidStat],
    intern: Interner,
    num: Callable[[float | None], float | None],
    proc: ProcState,
    st: procparse.PidStat,
    mono: float,
    refresh: bool,
    main_status: str | None = None,
    room: list[int] | None = None,
) -> tuple[float | None, float | None] | None:
    """read_threads' loop; ``task`` is None for a one-thread process (nothing to read).

    With ``room`` (descriptors the sampler may still keep), the stat files are
    read through descriptors kept in ``proc.thread_fds``.
    """
    elapsed = mono - proc.threads_mono if proc.threads_mono is not None else None
    span = elapsed if elapsed is not None and elapsed > 0 else None  # None: no rates yet
    pool = len(tids) > 1
    had_counts = bool(proc.thread_ctx)
    samples = []
    ticks: dict[int, int] = {}
    parsed: dict[int, tuple[int, procparse.PidStat]] = {}
    counts: dict[int, tuple[int, int]] = {}
    switched = [0, 0]  # voluntary, involuntary, over all threads since the last read
    files = 0  # thread files read: what the tick's budget is charged
    kept, live = proc.thread_fds, task is not None and task.live
    # The loop runs for every thread of the busiest pools every tick: locals, not lookups.
    old_stats, old_ticks, old_ctx = proc.thread_stats, proc.thread_ticks, proc.thread_ctx
    affinities, proc_aff = proc.thread_affinity, proc.affinity
    parse_stat, parse_status = procparse.parse_pid_stat, procparse.parse_task_status
    idle_pct = num(0.0) if span is not None else None  # what a thread that did not run gets
    for name in sorted((t for t in tids if t.isdigit()), key=int):
        tid = int(name)
        tst = stats.get(tid)
        ran = False
        if tst is None:
            if task is None:
                raw = None
            elif room is not None:
                raw = task.read_stat(name, kept, room, live)
            else:
                raw = task.read(name + "/stat")
            files += 1
            if not raw:
                continue  # the thread exited
            digest = hash(raw)
            old = old_stats.get(tid)
            if old is not None and old[0] == digest:
                tst = old[1]  # an idle thread of a busy pool: the same bytes, parsed last time
            else:
                ran = True
                tst = parse_stat(raw.decode("utf-8", "replace"))
                if tst is None:
                    continue
            parsed[tid] = (digest, tst)
        t = tst.utime + tst.stime
        ticks[tid] = t
        before = old_ticks.get(tid)
        pct = None
        if span is not None and before is not None:
            pct = idle_pct if t == before else num(max(t - before, 0) / CLK_TCK / span * 100)
        if pool and (refresh or ran or tid not in affinities):
            text = main_status if tid == st.pid and main_status else None
            if not text and task is not None:
                raw = task.read(name + "/status")
                files += 1
                text = raw.decode("utf-8", "replace") if raw else None
            mask, vol, invol = parse_status(text) if text else (None, None, None)
            affinities[tid] = intern(mask)  # type: ignore[assignment]
            if vol is not None and invol is not None:
                now = (vol, invol)
                last = old_ctx.get(tid)
                if last is not None:
                    switched[0] += max(now[0] - last[0], 0)
                    switched[1] += max(now[1] - last[1], 0)
                counts[tid] = now
        elif tid in old_ctx:
            counts[tid] = old_ctx[tid]  # did not run: the same counts
        aff = affinities.get(tid)
        sample = ThreadSample(
            tid=tid,  # kept as an array entry, no object per frame
            name=intern(tst.comm),  # type: ignore[arg-type]
            state=tst.state,
            last_cpu=tst.processor,
            cpu_pct=pct,
            affinity=None if aff is None or aff is proc_aff or aff == proc_aff else aff,
        )
        samples.append(sample)
    proc.thread_ticks, proc.thread_stats, proc.thread_ctx = ticks, parsed, counts
    proc.threads_mono, proc.thread_files = mono, files
    proc.thread_affinity = {t: a for t, a in affinities.items() if t in ticks}
    fresh = ThreadTable(samples, intern)
    if proc.thread_samples is None or fresh != proc.thread_samples:
        proc.thread_samples = fresh
    if not pool or not had_counts or span is None:
        return None
    return num(switched[0] / span), num(switched[1] / span)
