"""Applying a pin to a running process: every thread, verified, all or nothing.

psutil's ``cpu_affinity()`` sets the main thread only; a process's other
threads keep their old masks (inference projects have had to fix that in
their own code). Here every thread in /proc/PID/task is set, the task list is
walked again for threads created meanwhile, and each mask is read back. If
any step fails, the threads already changed get their old masks back, and
the error says why in one line. Memory moves with ``migrate_pages(2)``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from numaview.linux import proc
from numaview.linux.allowed import cgroup_cpuset
from numaview.linux.errors import AccessDenied, ProcError, ProcessGone
from numaview.linux.fsroot import FsRoot
from numaview.linux.procparse import PF_KTHREAD
from numaview.model.cpuset import format_cpulist
from numaview.pinning.plan import PinError, Target
from numaview.pinning.undo_store import UndoStore

MAX_PASSES = 5  # task-list walks to catch threads created while pinning
SYS_MIGRATE_PAGES = {"x86_64": 256, "aarch64": 238, "ppc64le": 258, "s390x": 287}


@contextlib.contextmanager
def pin_errors() -> Iterator[None]:
    """/proc's errors as PinErrors: gone, permission, or failed (one line, never a traceback)."""
    try:
        yield
    except ProcessGone as exc:
        raise PinError(str(exc), "gone") from None
    except AccessDenied as exc:
        raise PinError(str(exc), "permission") from None
    except ProcError as exc:
        raise PinError(str(exc), "failed") from None


class Syscalls:
    """The kernel calls pinning makes, in one place so tests can stand in for them."""

    def getaffinity(self, tid: int) -> set[int]:
        return os.sched_getaffinity(tid)

    def setaffinity(self, tid: int, cpus: set[int]) -> None:
        os.sched_setaffinity(tid, cpus)

    def migrate_pages(self, pid: int, old_nodes: set[int], new_nodes: set[int]) -> int:
        """Pages that could not be moved (>= 0); raises OSError on failure."""
        import ctypes  # loaded by the first move of memory, not by every dashboard
        import platform

        nr = SYS_MIGRATE_PAGES.get(platform.machine())
        if nr is None:
            raise OSError(errno.ENOSYS, f"migrate_pages is not known on {platform.machine()}")
        maxnode = max(old_nodes | new_nodes) + 2
        words = (maxnode + 63) // 64
        mask_t = ctypes.c_ulong * words

        def mask(nodes: set[int]) -> Any:
            m = mask_t()
            for n in nodes:
                m[n // 64] |= 1 << (n % 64)
            return m

        libc = ctypes.CDLL(None, use_errno=True)
        old, new = mask(old_nodes), mask(new_nodes)
        res = libc.syscall(nr, ctypes.c_long(pid), ctypes.c_ulong(words * 64), old, new)
        if res < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return int(res)


@dataclass(frozen=True, slots=True)
class ThreadChange:
    tid: int
    before: tuple[int, ...]
    after: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class MemoryMove:
    from_nodes: tuple[int, ...]
    to_nodes: tuple[int, ...]
    bytes_before: dict[int, int] | None  # per node, from numa_maps (None: unreadable)
    bytes_after: dict[int, int] | None
    pages_not_moved: int | None  # migrate_pages' answer
    error: str | None = None

    @property
    def moved_bytes(self) -> int | None:
        if self.bytes_before is None or self.bytes_after is None:
            return None
        on_target = sum(self.bytes_after.get(n, 0) for n in self.to_nodes)
        return max(on_target - sum(self.bytes_before.get(n, 0) for n in self.to_nodes), 0)


@dataclass(frozen=True, slots=True)
class PinEvent:
    """What a pin (or its undo) changed: recorded, shown on the charts, kept for undo."""

    time: float
    pid: int
    name: str
    target: str
    cpus: tuple[int, ...]
    threads: tuple[ThreadChange, ...]
    memory: MemoryMove | None = None
    undo: bool = False
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        before = sorted({t.before for t in self.threads})
        return {
            "time": self.time,
            "pid": self.pid,
            "name": self.name,
            "target": self.target,
            "cpus": list(self.cpus),
            "cpulist": format_cpulist(self.cpus),
            "threads": len(self.threads),
            "before": [format_cpulist(b) for b in before],
            "undo": self.undo,
            "dry_run": self.dry_run,
            "thread_changes": [
                {"tid": t.tid, "before": format_cpulist(t.before), "after": format_cpulist(t.after)}
                for t in self.threads
            ],
            "memory": None
            if self.memory is None
            else {
                "from_nodes": list(self.memory.from_nodes),
                "to_nodes": list(self.memory.to_nodes),
                "moved_bytes": self.memory.moved_bytes,
                "pages_not_moved": self.memory.pages_not_moved,
                "error": self.memory.error,
            },
        }

    def summary(self) -> str:
        n = len(self.threads)
        threads = f"{n} thread{'' if n == 1 else 's'}"
        if self.undo:
            what = "would restore" if self.dry_run else "restored"
            text = f"{what} pid {self.pid} ({self.name}), {threads}, to their previous CPUs"
        else:
            what = "would move" if self.dry_run else "moved"
            text = f"{what} pid {self.pid} ({self.name}), {threads}, to {self.target}"
        m = self.memory
        if m is not None:
            if m.error:
                text += f"; memory not moved: {m.error}"
            elif not m.from_nodes and m.bytes_before is not None:  # not "0 MiB moved"
                text += f"; memory already on nodes {format_cpulist(m.to_nodes)}"
            elif self.dry_run:
                text += f"; would move memory from nodes {format_cpulist(m.from_nodes)}"
            elif m.moved_bytes is not None:
                text += f"; {m.moved_bytes / 2**20:.0f} MiB of memory moved to nodes {format_cpulist(m.to_nodes)}"
                if m.pages_not_moved:
                    text += f", {m.pages_not_moved} pages could not move"
        return text


@dataclass
class LivePinner:
    """Pins real processes under ``root`` (its /proc); never escalates privileges."""

    root: str = "/"
    sys: Syscalls = field(default_factory=Syscalls)
    clock: Callable[[], float] = time.time
    store: UndoStore | None = None  # undo kept on disk, for a later process (the CLI)
    events: list[PinEvent] = field(default_factory=list)
    _undo: dict[tuple[int, str], list[dict[int, tuple[int, ...]]]] = field(default_factory=dict)
    _fs: FsRoot = field(init=False, repr=False)  # root's /proc, read through linux/proc.py

    def __post_init__(self) -> None:
        self._fs = FsRoot(self.root)

    # -- facts about a process (for the checks and the UI's second confirmation) --------

    def identity(self, pid: int) -> tuple[str, str, int, bool]:
        """(start time as text, name, owner uid, kernel thread?) — a pid alone may be reused.

        The start time is stat's (the undo key); the owner is the effective uid
        (psutil on the live machine); a kernel thread is stat's PF_KTHREAD flag.
        """
        with pin_errors():
            st = proc.pid_stat(self._fs, pid)
            uid = proc.owner_uid(self._fs, pid)
        return proc.start_text(st), st.comm, uid, bool(st.flags & PF_KTHREAD)

    def threads(self, pid: int) -> list[int]:
        with pin_errors():
            return proc.task_ids(self._fs, pid)

    def can_undo(self, pid: int) -> bool:
        try:
            start = self.identity(pid)[0]
        except PinError:
            return False
        return self._undo_top((pid, start)) is not None

    def is_foreign(self, pid: int) -> bool:
        """Another user's process: the UI asks a second time before moving it."""
        return self.identity(pid)[2] != os.getuid()

    # -- the pin --------------------------------------------------------------------

    def apply(
        self, pid: int, target: Target, move_memory: bool = False, dry_run: bool = False
    ) -> PinEvent:
        start, name, _, kernel = self.identity(pid)
        if kernel:
            raise PinError(
                f"pid {pid} ({name}) is a kernel thread; numaview does not move kernel threads",
                "kernel",
            )
        key = (pid, start)
        if target.kind == "undo":
            masks = self._undo_top(key)
            if masks is None:
                raise PinError(f"nothing to undo for pid {pid} ({name})", "bad-target")
            event = self._set_all(
                pid, name, target.label, lambda tid: masks.get(tid), dry_run, undo=True
            )
            if not dry_run:
                if self.store is not None:
                    self.store.pop(pid, start, name)
                else:
                    self._undo[key].pop()
            return self._record(event, dry_run)
        wanted = tuple(target.cpus)
        event = self._set_all(pid, name, target.label, lambda tid: wanted, dry_run)
        if not dry_run:
            self._push_undo(key, name, event)
        if move_memory and target.nodes:
            event = PinEvent(
                event.time, pid, name, event.target, event.cpus, event.threads,
                memory=self._move_memory(pid, target.nodes, dry_run), dry_run=dry_run,
            )  # fmt: skip
        return self._record(event, dry_run)

    def _undo_top(self, key: tuple[int, str]) -> dict[int, tuple[int, ...]] | None:
        stack = self.store.load(*key) if self.store is not None else self._undo.get(key)
        return stack[-1] if stack else None

    def _push_undo(self, key: tuple[int, str], name: str, event: PinEvent) -> None:
        masks = {t.tid: t.before for t in event.threads}
        if self.store is None:
            self._undo.setdefault(key, []).append(masks)
            return
        try:
            self.store.push(key[0], key[1], name, masks)
        except PinError as exc:  # a pin that could not be undone later is not made
            self._rollback(list(event.threads))
            raise PinError(f"{exc}; the pin was rolled back", exc.reason) from None

    def _record(self, event: PinEvent, dry_run: bool) -> PinEvent:
        if not dry_run:
            self.events.append(event)
        return event

    def _set_all(
        self,
        pid: int,
        name: str,
        label: str,
        mask_for: Callable[[int], tuple[int, ...] | None],
        dry_run: bool,
        undo: bool = False,
    ) -> PinEvent:
        changed: list[ThreadChange] = []
        done: set[int] = set()
        try:
            for _ in range(MAX_PASSES):
                # The main thread last: its ESRCH is how an exit mid-pin shows (the
                # others' only says that thread ended), so it must come after them.
                todo = sorted((t for t in self.threads(pid) if t not in done), key=pid.__eq__)
                if not todo:
                    break
                for tid in todo:
                    done.add(tid)
                    try:
                        before = tuple(sorted(self.sys.getaffinity(tid)))
                    except ProcessLookupError:
                        continue  # the thread ended: nothing to pin
                    except OSError as exc:
                        raise PinError(
                            f"pid {pid} ({name}) thread {tid}: {exc.strerror or exc}", "failed"
                        ) from None
                    after = mask_for(tid)
                    if (
                        after is None
                    ):  # undo: a thread born after the pin takes the main thread's mask
                        after = mask_for(pid) or before
                    # Listed before the set: a set the read-back refuses is rolled back too.
                    changed.append(ThreadChange(tid, before, after))
                    if not dry_run:
                        self._set_one(pid, name, tid, after)
        except PinError:
            self._rollback(changed)
            raise
        if not changed:
            raise PinError(f"process {pid} is gone", "gone")
        return PinEvent(self.clock(), pid, name, label, tuple(sorted({c for t in changed for c in t.after})),
                        tuple(changed), undo=undo, dry_run=dry_run)  # fmt: skip

    def _set_one(self, pid: int, name: str, tid: int, cpus: tuple[int, ...]) -> None:
        try:
            self.sys.setaffinity(tid, set(cpus))
            got = tuple(sorted(self.sys.getaffinity(tid)))
        except ProcessLookupError:
            if tid == pid:
                raise PinError(
                    f"process {pid} ({name}) exited while it was being pinned", "gone"
                ) from None
            return  # a thread that ended meanwhile
        except PermissionError:
            raise PinError(
                f"permission denied for pid {pid} ({name}): another user's process needs"
                " CAP_SYS_NICE, and numaview does not escalate",
                "permission",
            ) from None
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise PinError(
                    f"CPUs {format_cpulist(cpus)} are not allowed for pid {pid} ({name}):"
                    " outside its cgroup cpuset or offline (EINVAL)",
                    "einval",
                ) from None
            raise PinError(f"pid {pid} ({name}): {exc.strerror or exc}", "failed") from None
        if got != cpus:
            raise PinError(
                f"pid {pid} ({name}) thread {tid} got CPUs {format_cpulist(got)} instead of"
                f" {format_cpulist(cpus)}: its cgroup cpuset does not allow them all",
                "einval",
            )

    def _rollback(self, changed: list[ThreadChange]) -> None:
        for t in reversed(changed):
            with contextlib.suppress(OSError):  # a thread gone meanwhile: nothing to restore
                self.sys.setaffinity(t.tid, set(t.before))

    # -- memory ------------------------------------------------------------------------

    def cpuset(self, pid: int) -> tuple[int, ...] | None:
        """The CPUs its cgroup allows (None: unknown or not limited): a plan checks it first."""
        return cgroup_cpuset(self._fs, pid)[0]

    def move_memory(self, pid: int, nodes: tuple[int, ...], dry_run: bool = False) -> MemoryMove:
        """Its pages to ``nodes`` (a plan moves memory once every CPU pin held)."""
        with pin_errors():
            return self._move_memory(pid, tuple(nodes), dry_run)

    def _numa_bytes(self, pid: int) -> dict[int, int] | None:
        try:
            return proc.numa_maps(self._fs, pid)[0]
        except ProcError:
            return None  # unreadable: the move is made, its size unknown

    def _move_memory(self, pid: int, to_nodes: tuple[int, ...], dry_run: bool) -> MemoryMove:
        before = self._numa_bytes(pid)
        with pin_errors():
            mems = proc.pid_status(self._fs, pid).mems_allowed
        allowed = set(mems) if mems else set(to_nodes)  # unknown: only the target's
        from_nodes = tuple(sorted((set(before or {}) | allowed) - set(to_nodes)))
        if not from_nodes:
            return MemoryMove((), to_nodes, before, before, 0)  # already all there: a no-op
        if dry_run:
            return MemoryMove(from_nodes, to_nodes, before, None, None)
        try:
            not_moved = self.sys.migrate_pages(pid, set(from_nodes), set(to_nodes))
        except OSError as exc:
            return MemoryMove(
                from_nodes, to_nodes, before, None, None, error=exc.strerror or str(exc)
            )
        return MemoryMove(from_nodes, to_nodes, before, self._numa_bytes(pid), not_moved)


class Pinner(Protocol):
    """What the UI and the CLI need from a pinner: live (LivePinner) or the demo's."""

    events: list[PinEvent]

    def identity(self, pid: int) -> tuple[str, str, int, bool]: ...

    def can_undo(self, pid: int) -> bool: ...

    def is_foreign(self, pid: int) -> bool: ...

    def apply(
        self, pid: int, target: Target, move_memory: bool = False, dry_run: bool = False
    ) -> PinEvent: ...

    def cpuset(self, pid: int) -> tuple[int, ...] | None: ...

    def move_memory(
        self, pid: int, nodes: tuple[int, ...], dry_run: bool = False
    ) -> MemoryMove: ...
