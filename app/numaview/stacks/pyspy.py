"""Take one stack dump of a live process with py-spy.

py-spy reads the target's memory with ptrace and stops it meanwhile, so a dump
is on demand only (never per tick) and its duration is returned to be shown.
Its failures are turned into one-line StacksErrors with a ``reason``, because
the fix differs: install py-spy, ask for ptrace rights, or accept that the
process is not Python (then only its native threads are shown).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from numaview.linux.fsroot import FsRoot
from numaview.linux.proc import pid_exists, sysctl
from numaview.stacks.types import PyThread, StackDump, StackFrame, StacksError

PTRACE_SCOPE = "kernel/yama/ptrace_scope"  # under /proc/sys
LIVE = FsRoot("/")  # py-spy traces this machine's processes, never a fake tree's


def find_pyspy() -> str | None:
    """Next to sys.executable first: a venv's py-spy is found even when the venv is not on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), "py-spy")
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which("py-spy")


def _alive(pid: int) -> bool:
    """A process now (psutil: a thread id, which kill(tid, 0) accepts, is not one)."""
    return pid_exists(LIVE, pid)


def _permission_hint() -> str:
    scope = sysctl(LIVE, PTRACE_SCOPE)
    yama = (
        f"kernel.yama.ptrace_scope is {scope} (0 lets a user trace their own processes)"
        if scope is not None
        else "no Yama ptrace_scope here"
    )
    return (
        f"py-spy needs ptrace rights: run as the process's user ({yama}),"
        " or as root / with CAP_SYS_PTRACE (containers: --cap-add SYS_PTRACE)"
    )


def _classify(pid: int, text: str) -> StacksError:
    low = text.lower()
    last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "no output")
    if not _alive(pid):
        return StacksError(f"pid {pid}: no such process (it exited)", "gone")
    if "permission denied" in low or "operation not permitted" in low or "os error 1)" in low:
        return StacksError(f"pid {pid}: permission denied; {_permission_hint()}", "permission")
    if "python version" in low or "python interpreter" in low or "not a python" in low:
        return StacksError(f"pid {pid}: not a Python process (native threads only)", "not-python")
    return StacksError(f"pid {pid}: py-spy failed: {last}", "failed")


def parse(pid: int, data: Any, elapsed_s: float) -> StackDump:
    """py-spy's --json (a list of threads, innermost frame first) as a StackDump."""
    if not isinstance(data, list):
        raise StacksError(f"pid {pid}: py-spy printed unexpected JSON", "failed")
    threads = []
    for t in data:
        frames = tuple(
            StackFrame(
                str(f.get("name", "?")),
                str(f.get("short_filename") or f.get("filename") or "?"),
                f.get("line") if isinstance(f.get("line"), int) else None,
            )
            for f in t.get("frames") or ()
        )
        tid = t.get("os_thread_id")
        threads.append(
            PyThread(
                tid=int(tid) if tid is not None else -1,
                name=t.get("thread_name"),
                active=bool(t.get("active")),
                owns_gil=bool(t.get("owns_gil")),
                frames=frames,
            )
        )
    return StackDump(pid, tuple(threads), elapsed_s)


def dump(pid: int, timeout_s: float = 5.0) -> StackDump:
    exe = find_pyspy()
    if exe is None:
        raise StacksError("py-spy not found (pip install py-spy)", "no-pyspy")
    if not _alive(pid):
        raise StacksError(f"pid {pid}: no such process (it exited)", "gone")
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    start = time.perf_counter()
    try:
        r = subprocess.run(
            [exe, "dump", "--pid", str(pid), "--json"],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise StacksError(f"pid {pid}: py-spy took over {timeout_s:g} s", "timeout") from None
    except OSError as exc:
        raise StacksError(f"py-spy could not run: {exc.strerror or exc}", "no-pyspy") from None
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise _classify(pid, r.stderr + "\n" + r.stdout)
    try:
        data = json.loads(r.stdout)
    except ValueError:
        raise StacksError(f"pid {pid}: py-spy printed no JSON", "failed") from None
    return parse(pid, data, elapsed)
