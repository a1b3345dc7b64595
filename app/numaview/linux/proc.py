"""One reader per /proc file for everything off the sampler's per-tick path.

Pinning (identity, threads, memory), the undo store (is that process still
the one?), stacks (is it alive? may we trace it?) and the sampler's one-off
reads (a new process's cmdline, numa_maps) all read /proc here, through
``FsRoot`` (so a fake tree works), parse with ``procparse`` (the sampler's
parsers: one parser per format), and fail with ``ProcessGone`` or
``AccessDenied`` (errors.py), never with a bare OSError or a traceback.

The per-tick reads (stat, schedstat, status, task/TID/*) stay in the sampler,
on ``FsRoot.read`` and descriptors kept open (keptfiles.py): they take None
and move on, and the tick pays for no extra call or exception.

psutil is used where it is the better tool and only on this machine's own
/proc (``fs.live``): it reads ``psutil.PROCFS_PATH``, a process-wide global
that a fake tree must not change under the live dashboard. See
docs/decisions.md for where it is not the better tool (the per-tick reads,
the thread list, the undo key) and why.
"""

from __future__ import annotations

import os
from typing import Any

from numaview.linux import procparse
from numaview.linux.errors import ProcError, ProcessGone, wrap_exceptions
from numaview.linux.fsroot import FsRoot
from numaview.linux.numa_maps import parse_numa_maps

try:
    PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
except (ValueError, OSError, AttributeError):  # pragma: no cover - non-Linux
    PAGE_KB = 4

NUMA_MAPS_LIMIT = 64 << 20  # bytes: ~500,000 mappings


def _psutil() -> Any:
    """psutil, imported on first use: 20 ms that the sampler and most commands never pay."""
    import psutil  # type: ignore[import-untyped]  # no stubs in the dev tools

    return psutil


def _text(fs: FsRoot, pid: int, name: str, limit: int = 65536) -> str:
    with wrap_exceptions(pid, name):
        return fs.read_or_raise(f"proc/{pid}/{name}", limit)


def _malformed(pid: int, name: str) -> ProcError:
    return ProcError(pid, name, f"cannot read /proc/{pid}/{name}: malformed")


def pid_stat(fs: FsRoot, pid: int) -> procparse.PidStat:
    """/proc/PID/stat parsed; ProcessGone, AccessDenied, or ProcError if malformed."""
    st = procparse.parse_pid_stat(_text(fs, pid, "stat"))
    if st is None:
        raise _malformed(pid, "stat")
    return st


def start_text(st: procparse.PidStat) -> str:
    """The start time as the undo files name it: stat field 22 in clock ticks, as text.

    Kept in ticks, not psutil's create_time (float seconds since the epoch,
    derived from it and the boot time): undo files written by earlier runs
    carry this text in their names and contents.
    """
    return str(st.starttime)


def pid_status(fs: FsRoot, pid: int) -> procparse.PidStatus:
    """The fields of /proc/PID/status numaview uses (masks, switches, uid, kthread)."""
    return procparse.parse_pid_status(_text(fs, pid, "status"))


def owner_uid(fs: FsRoot, pid: int) -> int:
    """The process's effective uid: whose it is to the kernel's permission checks.

    Live: psutil's ``uids()``. A fake tree: the ``Uid:`` line of its status, the
    same line psutil reads (tests check the two agree on every live process).
    """
    if fs.live:
        with wrap_exceptions(pid, "status"):
            return int(_psutil().Process(pid).uids().effective)
    uids = procparse.parse_status_uids(_text(fs, pid, "status"))
    if uids is None:
        raise _malformed(pid, "status")
    return uids[1]


def task_ids(fs: FsRoot, pid: int) -> list[int]:
    """The process's thread ids, sorted (the main thread is the pid itself).

    A directory listing: psutil's ``threads()`` would also read every thread's
    stat for its CPU times, which pinning does not need.
    """
    with wrap_exceptions(pid, "task"):
        names = fs.listdir_or_raise(f"proc/{pid}/task")
    return sorted(int(t) for t in names if t.isdigit())


def numa_maps(fs: FsRoot, pid: int, page_kb: int = PAGE_KB) -> tuple[dict[int, int], str | None]:
    """Resident bytes per node and the dominant policy (walks the target's page tables)."""
    return parse_numa_maps(_text(fs, pid, "numa_maps", NUMA_MAPS_LIMIT), page_kb)


def cmdline(fs: FsRoot, pid: int) -> str | None:
    """The command line as one line; None for a kernel thread (it has none)."""
    return procparse.parse_cmdline(_text(fs, pid, "cmdline", 8192))


def pid_exists(fs: FsRoot, pid: int) -> bool:
    """Whether ``pid`` is a process now (a thread id is not; a zombie still is).

    Live: psutil, which also refuses a thread id that ``kill(tid, 0)`` accepts.
    """
    if pid <= 0:
        return False
    if fs.live:
        return bool(_psutil().pid_exists(pid))
    try:
        pid_stat(fs, pid)
    except ProcessGone:
        return False
    except ProcError:
        return True  # there, but not readable
    return True


def sysctl(fs: FsRoot, name: str) -> str | None:
    """/proc/sys/NAME stripped (``kernel/random/boot_id``), or None when it cannot be read."""
    text = fs.read(f"proc/sys/{name}")
    return None if text is None else text.strip()
