"""Stacks for the demo's simulated processes, which do not exist: the UI needs a dump to show.

Plausible, fixed stacks for the simulated Python services (vLLM, an ETL job);
the simulated llama-server is C++, so it gets the same "not a Python process"
error a real one would, and the view shows its native threads only.
"""

from __future__ import annotations

from collections.abc import Callable

from numaview.model.frame import ProcessSample
from numaview.stacks.types import PyThread, StackDump, StackFrame, StacksError

PYTHON_NAMES = ("vllm-a", "vllm-b", "batch-etl")
SIM_ELAPSED_S = 0.012

_MAIN = (
    StackFrame("select", "selectors.py", 468),
    StackFrame("BaseEventLoop._run_once", "base_events.py", 1898),
    StackFrame("BaseEventLoop.run_forever", "base_events.py", 608),
    StackFrame("run", "runners.py", 118),
    StackFrame("<module>", "api_server.py", 203),
)
_WORKER = (
    StackFrame("forward", "linear.py", 116),
    StackFrame("Module._call_impl", "module.py", 1527),
    StackFrame("LlamaMLP.forward", "llama.py", 89),
    StackFrame("ModelRunner.execute_model", "model_runner.py", 1451),
    StackFrame("Worker.execute_model", "worker.py", 272),
    StackFrame("Thread.run", "threading.py", 982),
)
_ETL = (
    StackFrame("decode_row", "codec.py", 54),
    StackFrame("transform", "etl.py", 131),
    StackFrame("run_shard", "etl.py", 77),
    StackFrame("Thread.run", "threading.py", 982),
)


def simulated_dumper(
    lookup: Callable[[int], ProcessSample | None],
) -> Callable[[int], StackDump]:
    """``lookup``: the newest frame's process by pid (the demo's processes live only there)."""

    def dump(pid: int) -> StackDump:
        p = lookup(pid)
        if p is None:
            raise StacksError(f"pid {pid}: no such process (it exited)", "gone")
        if p.name not in PYTHON_NAMES:
            raise StacksError(
                f"pid {pid}: not a Python process (native threads only)", "not-python"
            )
        threads = []
        frames: tuple[StackFrame, ...]
        for i, t in enumerate(p.thread_samples or ()):
            if t.tid == pid:
                frames, name = _MAIN, "MainThread"
            else:
                frames = _ETL if p.name == "batch-etl" else _WORKER
                name = t.name
            threads.append(PyThread(t.tid, name, t.state == "R", i == 1, frames))
        return StackDump(pid, tuple(threads), SIM_ELAPSED_S)

    return dump


def unavailable_dumper(pid: int) -> StackDump:
    """A replay's processes are not this machine's now: a dump would show some other process."""
    raise StacksError("stacks are not available in a replay", "unavailable")
