"""Reading the OS through an FSROOT, so tests and demos can point at a fake tree.

Like hwloc's HWLOC_FSROOT: every path numaview reads under /sys or /proc is
taken relative to ``root`` (default ``/``), so a copy of another machine's
/sys and /proc can be inspected here. Reads are raw ``os.open``/``os.read``:
topology discovery opens thousands of small files on a 1024-CPU machine and
the text-IO layer of ``open()`` is most of the cost.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable

from numaview.model.cpuset import CpuList, format_cpulist

_PAGE = 4096
_SEQ_SLACK = 512  # longer than a record of the seq files read through here


class FsRoot:
    """A directory that stands for ``/``."""

    def __init__(self, root: str | os.PathLike[str] = "/") -> None:
        self.root = os.fspath(root)
        self._prefix = self.root.rstrip("/") + "/"
        # This machine's own /proc and /sys: kernel calls (sched_getaffinity) and
        # psutil (which reads psutil.PROCFS_PATH, always /proc) agree with it.
        self.live = os.path.realpath(self.root) == "/"

    def path(self, rel: str) -> str:
        return self._prefix + rel.lstrip("/")

    def read(self, rel: str, limit: int = 65536) -> str | None:
        """The file's text (at most ``limit`` bytes), or None if it cannot be read.

        Missing, unreadable and vanished files all come back as None: the
        caller decides whether that deserves a warning.
        """
        try:
            fd = os.open(self._prefix + rel, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            data = os.read(fd, min(limit, _PAGE))
            if len(data) > _PAGE - _SEQ_SLACK and limit > _PAGE:
                # Small sysfs files arrive in one read; only big ones need a loop. A
                # seq file (/proc/vmstat, /proc/net/tcp, maps) hands out whole records
                # only, so its first read may fall short of the page by up to a record.
                chunks = [data]
                left = limit - len(data)
                while left > 0:
                    b = os.read(fd, min(left, 65536))
                    if not b:
                        break
                    chunks.append(b)
                    left -= len(b)
                data = b"".join(chunks)
        except OSError:
            return None
        finally:
            os.close(fd)
        return data.decode("utf-8", errors="replace")

    def read_or_raise(self, rel: str, limit: int = 65536) -> str:
        """Like ``read``, but a failure raises the OSError, so "gone" can be told from "denied".

        For the readers off the sampler's hot path (pinning, undo, stacks), which
        wrap it in ``errors.wrap_exceptions``. ``read`` does not call this: the
        sampler makes thousands of reads a tick and pays for no extra call.
        """
        fd = os.open(self._prefix + rel, os.O_RDONLY | os.O_CLOEXEC)
        try:
            chunks = []
            left = limit
            while left > 0:
                b = os.read(fd, min(left, 65536))
                if not b:
                    break
                chunks.append(b)
                left -= len(b)
        finally:
            os.close(fd)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def listdir_or_raise(self, rel: str) -> list[str]:
        return os.listdir(self._prefix + rel.lstrip("/"))

    def listdir(self, rel: str) -> list[str] | None:
        try:
            return os.listdir(self.path(rel))
        except OSError:
            return None

    def exists(self, rel: str) -> bool:
        return os.path.exists(self.path(rel))


class Warnings:
    """Collects degradation notes; per-CPU ones fold into one line with a cpu list.

    On a 1024-CPU machine a missing file is usually missing on every CPU, and
    the user wants one line ("CPUs 0-1023: ..."), not a thousand.
    """

    def __init__(self) -> None:
        self._plain: list[str] = []
        self._per_cpu: defaultdict[str, set[int]] = defaultdict(set)

    def add(self, message: str) -> None:
        if message not in self._plain:
            self._plain.append(message)

    def add_cpu(self, cpu: int, message: str) -> None:
        self._per_cpu[message].add(cpu)

    def add_cpus(self, cpus: Iterable[int], message: str) -> None:
        self._per_cpu[message].update(cpus)

    def lines(self) -> tuple[str, ...]:
        out = list(self._plain)
        for message, cpus in self._per_cpu.items():
            ids: CpuList = tuple(sorted(cpus))
            label = "CPU" if len(ids) == 1 else "CPUs"
            out.append(f"{label} {format_cpulist(ids)}: {message}")
        return tuple(out)
