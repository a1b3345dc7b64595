"""The two ways reading a process can fail, and the one place OS errors become them.

Like psutil's ``wrap_exceptions``: a vanished process shows as ENOENT (its
/proc directory went), ESRCH (a descriptor kept open on it) or psutil's
NoSuchProcess, a refused read as EACCES, EPERM or psutil's AccessDenied.
Callers want the meaning, not the errno: pinning turns ``ProcessGone`` into
"process N is gone" and ``AccessDenied`` into "permission denied", the undo
store keeps a file whose process it cannot check. The sampler's per-tick
reads do not come through here: they take None (``FsRoot.read``) and skip.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_GONE = {errno.ENOENT, errno.ESRCH}
_DENIED = {errno.EACCES, errno.EPERM}


class ProcError(Exception):
    """A /proc read about one process that failed; the message is one line."""

    def __init__(self, pid: int, what: str, message: str) -> None:
        super().__init__(message)
        self.pid = pid
        self.what = what  # the file under /proc/PID ("stat", "task"), or what was asked


class ProcessGone(ProcError):
    """The process exited (or never was): its /proc entry is not there any more."""

    def __init__(self, pid: int, what: str = "") -> None:
        super().__init__(pid, what, f"process {pid} is gone")


class AccessDenied(ProcError):
    """The process is there, but this user may not read ``what`` of it."""

    def __init__(self, pid: int, what: str) -> None:
        super().__init__(pid, what, f"cannot read /proc/{pid}/{what}: permission denied")


@contextmanager
def wrap_exceptions(pid: int, what: str) -> Iterator[None]:
    """Turn the OS's and psutil's errors about ``pid`` into ProcessGone / AccessDenied.

    Any other OSError becomes a plain ProcError with the kernel's words, so a
    caller that catches ProcError never lets a traceback through.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno in _GONE:
            raise ProcessGone(pid, what) from None
        if exc.errno in _DENIED:
            raise AccessDenied(pid, what) from None
        raise ProcError(
            pid, what, f"cannot read /proc/{pid}/{what}: {exc.strerror or exc}"
        ) from None
    except Exception as exc:
        # psutil is imported only by the few readers that use it (it costs 20 ms
        # at start-up): if it is not loaded, none of its errors can be here.
        ps = sys.modules.get("psutil")
        if ps is not None and isinstance(exc, ps.NoSuchProcess):  # zombies too
            raise ProcessGone(pid, what) from None
        if ps is not None and isinstance(exc, ps.AccessDenied):
            raise AccessDenied(pid, what) from None
        raise
