"""Parsers of the /proc and node files the sampler reads, one function a format.

Pure text → numbers; no file access here (the Sampler reads through FsRoot),
so every parser is tested on literal strings. Unknown or malformed fields
become None or are left out, never 0.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from numaview.linux.numa_maps import parse_numa_maps
from numaview.model.cpuset import CpuList, parse_cpulist

__all__ = ["parse_numa_maps"]  # its home is the model: pinning reads numa_maps too

# /proc/stat cpu columns, in order (guest and guest_nice are already inside user/nice).
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
PF_KTHREAD = 0x00200000


@dataclass(frozen=True, slots=True)
class ProcStat:
    cpus: dict[int, tuple[int, ...]]  # cpu id -> STAT_FIELDS counters (USER_HZ ticks)
    ctxt: int | None
    procs_running: int | None
    procs_blocked: int | None
    btime: int | None
    forks: int | None = None  # "processes": forks and clones since boot


def parse_proc_stat(text: str) -> ProcStat:
    """Per-CPU lines by their ``cpuN`` label: offline CPUs are simply absent."""
    cpus: dict[int, tuple[int, ...]] = {}
    ctxt = running = blocked = btime = forks = None
    for line in text.splitlines():
        if line.startswith("cpu"):
            label, _, rest = line.partition(" ")
            if label == "cpu" or not label[3:].isdigit():
                continue
            values = rest.split()
            # C-speed checks, no generator: a 1024-CPU machine has 1024 such lines a tick.
            if len(values) < 4 or not "".join(values).isdigit():
                continue
            nums = list(map(int, values[: len(STAT_FIELDS)]))
            nums += [0] * (len(STAT_FIELDS) - len(nums))  # very old kernels: no steal
            cpus[int(label[3:])] = tuple(nums)
        elif line.startswith("ctxt "):
            ctxt = _int(line[5:])
        elif line.startswith("procs_running "):
            running = _int(line[14:])
        elif line.startswith("procs_blocked "):
            blocked = _int(line[14:])
        elif line.startswith("btime "):
            btime = _int(line[6:])
        elif line.startswith("processes "):
            forks = _int(line[10:])
    return ProcStat(cpus, ctxt, running, blocked, btime, forks)


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def parse_meminfo(text: str) -> dict[str, int]:
    """``MemTotal: 123 kB`` or a node's ``Node 0 MemTotal: 123 kB`` → bytes by key."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if not sep:
            continue
        key = key.split()[-1] if key.startswith("Node ") else key.strip()
        parts = rest.split()
        if not parts or not parts[0].isdigit():
            continue
        scale = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
        out[key] = int(parts[0]) * scale
    return out


def parse_counters(text: str) -> dict[str, int]:
    """``name value`` lines (node numastat, /proc/vmstat)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def pick_counters(text: str, keys: Iterable[str]) -> dict[str, int]:
    """``parse_counters`` for these keys only, each found with str.find.

    The sampler reads three of /proc/vmstat's ~180 lines every tick: splitting
    them all cost 100 µs a tick, finding three costs 3 µs. The kernel writes
    each name once, followed by one space.
    """
    lines = "\n" + text
    out: dict[str, int] = {}
    for key in keys:
        at = lines.find(f"\n{key} ")
        if at < 0:
            continue
        end = lines.find("\n", at + 1)
        parts = lines[at + 1 : end if end >= 0 else None].split()
        if len(parts) == 2 and parts[1].isdigit():
            out[key] = int(parts[1])
    return out


def pick_meminfo(text: str, keys: Iterable[str]) -> dict[str, int]:
    """``parse_meminfo`` for these keys only (a node's meminfo has ~30 lines, the
    sampler wants four of them, every node, every tick)."""
    lines = "\n" + text
    out: dict[str, int] = {}
    for key in keys:
        at = lines.find(f" {key}:")  # a node's "Node 0 MemTotal:"
        if at < 0:
            at = lines.find(f"\n{key}:")  # /proc/meminfo's "MemTotal:"
        if at < 0:
            continue
        start = at + len(key) + 2
        end = lines.find("\n", start)
        parts = lines[start : end if end >= 0 else None].split()
        if parts and parts[0].isdigit():
            scale = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
            out[key] = int(parts[0]) * scale
    return out


def parse_loadavg(text: str) -> tuple[float, float, float] | None:
    parts = text.split()
    try:
        return float(parts[0]), float(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        return None


def parse_psi(text: str) -> dict[str, float]:
    """PSI ``some avg10=1.00 ...`` / ``full ...`` → {"some": avg10, "full": avg10}."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        kind, _, rest = line.partition(" ")
        for item in rest.split():
            name, _, value = item.partition("=")
            if name == "avg10":
                with contextlib.suppress(ValueError):
                    out[kind] = float(value)
    return out


def parse_uptime(text: str) -> float | None:
    try:
        return float(text.split()[0])
    except (IndexError, ValueError):
        return None


class PidStat(NamedTuple):
    """The fields of /proc/PID/stat (or task/TID/stat) numaview uses.

    A NamedTuple, not a frozen dataclass: as immutable, and built in a third
    of the time (a frozen dataclass sets each field through object.__setattr__),
    which counts at thousands of thread stats a tick.
    """

    pid: int
    comm: str
    state: str
    ppid: int
    flags: int
    utime: int
    stime: int
    num_threads: int
    starttime: int  # clock ticks after boot
    rss_pages: int
    processor: int | None  # the CPU it last ran on


def parse_pid_stat(text: str) -> PidStat | None:
    """Parse one stat line; the comm may hold spaces and parentheses, so split at the last ')'."""
    open_ = text.find("(")
    close = text.rfind(")")
    if open_ < 0 or close < open_:
        return None
    rest = text[close + 2 :].split()
    # rest[0] is field 3 (state); field N is rest[N - 3]
    if len(rest) < 22:
        return None
    try:
        return PidStat(  # positional: the fields in order (keywords cost more, here)
            int(text[:open_]),  # pid
            text[open_ + 1 : close],  # comm
            rest[0],  # state
            int(rest[1]),  # ppid
            int(rest[6]),  # flags
            int(rest[11]),  # utime
            int(rest[12]),  # stime
            int(rest[17]),  # num_threads
            int(rest[19]),  # starttime
            int(rest[21]),  # rss_pages
            int(rest[36]) if len(rest) > 36 else None,  # processor
        )
    except ValueError:
        return None


def stat_key(text: str) -> tuple[int, int] | None:
    """(pid, start time in clock ticks) of a stat line: who it is, without parsing the rest.

    The sampler's key for a process (a pid alone may be reused); it asks this of
    every stat text that changed, so only the first 22 fields are split.
    """
    close = text.rfind(")")
    pid_text = text[: text.find(" ")]
    if close < 0 or not pid_text.isdigit():
        return None
    fields = text[close + 2 :].split(" ", 20)  # field 22 (starttime) is index 19
    if len(fields) < 21 or not fields[19].isdigit():
        return None
    return int(pid_text), int(fields[19])


class PidStatus(NamedTuple):
    """The fields of /proc/PID/status numaview uses (a NamedTuple, as PidStat)."""

    uid: int | None = None
    cpus_allowed: CpuList | None = None
    mems_allowed: CpuList | None = None
    voluntary_ctxt: int | None = None
    nonvoluntary_ctxt: int | None = None
    kthread: bool | None = None


def _field(text: str, key: str) -> str | None:
    """The value of ``key:`` in a status file, found with str.find (C speed, no split)."""
    at = text.find(key)
    if at < 0:
        return None
    start = at + len(key)
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)].strip()


_LISTS: dict[str, CpuList] = {}  # the few distinct masks a machine has, parsed once


def _cpulist(text: str) -> CpuList:
    """parse_cpulist, remembered: "0-1023" is 1024 ints, and every thread's status has it."""
    got = _LISTS.get(text)
    if got is None:
        if len(_LISTS) >= 4096:
            _LISTS.clear()
        got = _LISTS[text] = parse_cpulist(text)
    return got


def _list_field(text: str, key: str) -> CpuList | None:
    try:
        value = _field(text, key)
        return _cpulist(value) if value is not None else None
    except ValueError:
        return None


def _int_field(text: str, key: str) -> int | None:
    value = _field(text, key)
    return int(value) if value and value.isdigit() else None


def parse_pid_status(text: str) -> PidStatus:
    """The six fields numaview uses out of ~55; read for hundreds of processes a tick."""
    uid_s = _field(text, "\nUid:")
    uid = int(uid_s.split()[0]) if uid_s and uid_s.split()[0].isdigit() else None
    kthread_s = _field(text, "\nKthread:")
    return PidStatus(
        uid=uid,
        cpus_allowed=_list_field(text, "\nCpus_allowed_list:"),
        mems_allowed=_list_field(text, "\nMems_allowed_list:"),
        voluntary_ctxt=_int_field(text, "\nvoluntary_ctxt_switches:"),
        nonvoluntary_ctxt=_int_field(text, "\nnonvoluntary_ctxt_switches:"),
        kthread=None if kthread_s is None else kthread_s == "1",
    )


def parse_status_uids(text: str) -> tuple[int, int] | None:
    """The real and effective uid of a status file (``Uid:`` real, effective, saved, fs).

    The effective uid is who owns the process for the kernel's permission
    checks (sched_setaffinity, ptrace); the sampler's user column shows the real one.
    """
    value = _field(text, "\nUid:")
    parts = value.split() if value else []
    if len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        return None
    return int(parts[0]), int(parts[1])


def parse_cmdline(raw: str) -> str | None:
    """NUL-separated arguments as one line; None when empty (kernel threads, zombies)."""
    return raw.replace("\x00", " ").strip() or None


def parse_task_status(text: str) -> tuple[CpuList | None, int | None, int | None]:
    """A thread's mask and its voluntary and involuntary switches: three of ~55 fields,
    read for every thread of a busy pool that ran this tick."""
    return (
        _list_field(text, "\nCpus_allowed_list:"),
        _int_field(text, "\nvoluntary_ctxt_switches:"),
        _int_field(text, "\nnonvoluntary_ctxt_switches:"),
    )
