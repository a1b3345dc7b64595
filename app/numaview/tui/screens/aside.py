"""Work that reads the OS, off the UI thread: the dialogs' dry runs and checks.

The UI thread never does I/O (docs/ARCHITECTURE.md). A dialog's question to
the pinner (a dry run, a cgroup cpuset, who owns a process) runs in a Textual
thread worker, one per group with the newest winning, and its answer comes
back on the UI thread. With an inline Monitor (the tests) it runs at once, so
a test sees the answer without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from textual.screen import Screen

T = TypeVar("T")


def aside(
    screen: Screen[Any],
    threaded: bool,
    work: Callable[[], T],
    done: Callable[[T], None],
    group: str,
) -> None:
    """``work`` in a worker thread, then ``done`` with its answer on the UI thread."""
    if not threaded:  # tests: deterministic, at once
        done(work())
        return

    def run() -> None:
        result = work()
        screen.app.call_from_thread(done, result)

    screen.run_worker(run, thread=True, exclusive=True, group=group, exit_on_error=False)
