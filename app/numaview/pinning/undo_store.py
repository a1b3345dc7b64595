"""Undo entries on disk, so ``numaview pin PID --undo`` works from a later process.

The in-memory undo stack of ``LivePinner`` dies with the process that pinned;
a CLI pin and its undo are two processes. Each pinned process gets one small
JSON file, ``undo-<pid>-<starttime>.json``: pid and start time together name
one process (a pid alone may be reused), and the boot id inside keeps a file
that outlived a reboot (``~/.cache`` does) from restoring masks onto a
stranger that got the same pid and start time. Files are 0600 in a 0700
directory owned by the user: a mask list is harmless, but another user must
not be able to plant one that we then apply as root.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from typing import Any

from numaview.linux.errors import ProcError, ProcessGone
from numaview.linux.fsroot import FsRoot
from numaview.linux.proc import pid_stat, start_text, sysctl
from numaview.model.cpuset import format_cpulist, parse_cpulist
from numaview.pinning.plan import PinError

FORMAT = 1
_NAME = re.compile(r"^undo-(\d+)-(\d+)\.json$")
_PLAN = re.compile(r"^plan-(\d+)\.json$")

Masks = dict[int, tuple[int, ...]]  # tid -> the CPUs it had before the pin


def default_directory() -> str:
    """$XDG_RUNTIME_DIR/numaview: a tmpfs that goes at logout, like the pins themselves."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "numaview")
    return os.path.join(os.path.expanduser("~"), ".cache", "numaview")


class UndoStore:
    """A stack of per-thread masks per process, one file each, pushed and popped like memory."""

    def __init__(self, directory: str | None = None, root: str = "/") -> None:
        self.directory = directory or default_directory()
        self.root = root  # whose /proc names the processes (boot id, pruning)
        self._fs = FsRoot(root)

    def path(self, pid: int, start: str) -> str:
        return os.path.join(self.directory, f"undo-{pid}-{start}.json")

    def _boot_id(self) -> str:
        # unknown: no reboot check rather than no undo
        return sysctl(self._fs, "kernel/random/boot_id") or ""

    def _private_dir(self) -> None:
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            st = os.lstat(self.directory)
        except OSError as exc:
            raise PinError(
                f"cannot create the undo directory {self.directory}: {exc.strerror or exc}",
                "failed",
            ) from None
        if not os.path.isdir(self.directory) or os.path.islink(self.directory):
            raise PinError(f"the undo directory {self.directory} is not a directory", "failed")
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            raise PinError(
                f"the undo directory {self.directory} is not private to this user"
                " (owner or group/other write); refusing to keep undo files there",
                "failed",
            )

    def load(self, pid: int, start: str) -> list[Masks]:
        """The stack, oldest first; [] when nothing was saved (or only before a reboot)."""
        path = self.path(pid, start)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise PinError(
                f"cannot read undo file {path}: {exc.strerror or exc}", "failed"
            ) from None
        try:
            with os.fdopen(fd) as f:
                data = json.load(f)
            stack = self._parse(data, pid, start)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise PinError(
                f"undo file {path} is damaged ({exc}); remove it to start over", "failed"
            ) from None
        boot = self._boot_id()
        if boot and data.get("boot_id") and data["boot_id"] != boot:
            with contextlib.suppress(OSError):
                os.unlink(path)  # from before a reboot: another process now
            return []
        return stack

    @staticmethod
    def _parse(data: Any, pid: int, start: str) -> list[Masks]:
        if data["format"] != FORMAT or data["pid"] != pid or data["starttime"] != start:
            raise ValueError("it is for another process or format")
        return [
            {int(tid): parse_cpulist(text) for tid, text in entry["masks"].items()}
            for entry in data["stack"]
        ]

    def _write(self, pid: int, start: str, name: str, stack: list[Masks]) -> None:
        path = self.path(pid, start)
        if not stack:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return
        self._private_dir()
        data = {
            "format": FORMAT,
            "pid": pid,
            "starttime": start,
            "name": name,
            "boot_id": self._boot_id(),
            "saved": time.time(),
            "stack": [
                {"masks": {str(t): format_cpulist(m) for t, m in sorted(masks.items())}}
                for masks in stack
            ],
        }
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
            os.replace(tmp, path)  # all or nothing: a crash never leaves half a file
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise PinError(
                f"cannot save undo file {path}: {exc.strerror or exc}", "failed"
            ) from None

    def push(self, pid: int, start: str, name: str, masks: Masks) -> None:
        self.prune()
        self._write(pid, start, name, [*self.load(pid, start), masks])

    def pop(self, pid: int, start: str, name: str) -> None:
        """Drop the newest entry; the file goes with the last one."""
        self._write(pid, start, name, self.load(pid, start)[:-1])

    def prune(self) -> None:
        """Remove the files of processes that are gone, so the directory does not grow."""
        try:
            names = os.listdir(self.directory)
        except OSError:
            return
        for fname in names:
            m = _NAME.match(fname)
            if m and not self._alive(int(m.group(1)), m.group(2)):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self.directory, fname))

    def _alive(self, pid: int, start: str) -> bool:
        """Whether the process the file was written for still runs (same pid and start)."""
        try:
            st = pid_stat(self._fs, pid)
        except ProcessGone:
            return False
        except ProcError:
            return True  # cannot tell: keep it
        return start_text(st) == start

    # -- plans: which processes one ``numaview plan --undo`` restores --------------------

    def push_plan(self, label: str, members: list[tuple[int, str, str, tuple[int, ...]]]) -> str:
        """Save a plan's members (pid, start, name, memory home); their masks are in their files."""
        self._private_dir()
        path = os.path.join(self.directory, f"plan-{time.time_ns()}.json")
        data = {
            "format": FORMAT,
            "boot_id": self._boot_id(),
            "saved": time.time(),
            "label": label,
            "members": [
                {"pid": pid, "starttime": start, "name": name, "memory_home": list(home)}
                for pid, start, name, home in members
            ],
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(data, f)
        except OSError as exc:
            raise PinError(
                f"cannot save plan file {path}: {exc.strerror or exc}", "failed"
            ) from None
        return path

    def last_plan(self) -> tuple[str, str, list[tuple[int, str, str, tuple[int, ...]]]] | None:
        """The newest saved plan: (its file, label, members), or None (none, or before a reboot)."""
        try:
            names = sorted(
                (n for n in os.listdir(self.directory) if _PLAN.match(n)),
                key=lambda n: int(_PLAN.match(n).group(1)),  # type: ignore[union-attr]
            )
        except OSError:
            return None
        boot = self._boot_id()
        for fname in reversed(names):
            path = os.path.join(self.directory, fname)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd) as f:
                    data = json.load(f)
                if data["format"] != FORMAT:
                    raise ValueError("another format")
                members = [
                    (int(m["pid"]), str(m["starttime"]), str(m["name"]),
                     tuple(int(n) for n in m["memory_home"]))
                    for m in data["members"]
                ]  # fmt: skip
            except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
                raise PinError(
                    f"plan file {path} is damaged ({exc}); remove it to start over", "failed"
                ) from None
            if boot and data.get("boot_id") and data["boot_id"] != boot:
                with contextlib.suppress(OSError):
                    os.unlink(path)  # from before a reboot: those processes are gone
                continue
            return path, str(data.get("label", "plan")), members
        return None

    def drop_plan(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
