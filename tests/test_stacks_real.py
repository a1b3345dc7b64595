"""py-spy against real processes: named, pinned, busy Python threads; a native one; a gone one."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from numaview.cli import main
from numaview.cli.stacks import _sample
from numaview.stacks.join import StackRow, join
from numaview.stacks.pyspy import dump, find_pyspy
from numaview.stacks.types import StacksError

pytestmark = [
    pytest.mark.real,
    pytest.mark.skipif(find_pyspy() is None, reason="py-spy is not installed"),
]

THREADS = """
import hashlib, os, sys, threading, time
ready = threading.Barrier(4)
def pinned():
    os.sched_setaffinity(threading.get_native_id(), {1})
    ready.wait()
    while True:
        time.sleep(0.001)
def arith():  # busy, but in C without the GIL most of the time (hashlib releases it)
    buf = bytes(1 << 20)
    ready.wait()
    while True:
        hashlib.sha256(buf).digest()
def hog():
    ready.wait()
    while True:
        sum(range(10000))
threading.Thread(target=pinned, name="pinned-one", daemon=True).start()
threading.Thread(target=arith, name="arith-busy", daemon=True).start()
threading.Thread(target=hog, name="gil-hog", daemon=True).start()
ready.wait()
sys.stdout.write("ready\\n"); sys.stdout.flush()
time.sleep(120)
"""


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def target() -> Iterator[subprocess.Popen[str]]:
    p = subprocess.Popen([sys.executable, "-c", THREADS], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline() == "ready\n"
    yield p
    p.kill()
    p.wait()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[str]]:
    p = subprocess.Popen(["sleep", "60"], text=True)
    time.sleep(0.1)
    yield p
    p.kill()
    p.wait()


def _rows(pid: int) -> list[StackRow]:
    process = _sample(pid)
    assert process is not None
    return join(process, dump(pid), {0: 0, 1: 0})


def test_named_threads_with_cpu_and_gil(target: subprocess.Popen[str]) -> None:
    gil_seen = False
    for _ in range(5):
        rows = _rows(target.pid)
        by_name = {r.name: r for r in rows}
        assert {"MainThread", "pinned-one", "arith-busy", "gil-hog"} <= set(by_name)
        assert all(r.python for r in rows)
        pinned = by_name["pinned-one"]
        assert pinned.last_cpu == 1 and pinned.affinity == (1,)
        assert sum(r.owns_gil for r in rows) <= 1
        assert by_name["gil-hog"].top and by_name["gil-hog"].stack[0].startswith("hog")
        gil_seen = by_name["gil-hog"].owns_gil
        if gil_seen:
            break
    assert gil_seen


def test_dump_reports_its_duration(target: subprocess.Popen[str]) -> None:
    d = dump(target.pid)
    assert 0 < d.elapsed_s < 5
    assert len(d.threads) == 4


def test_not_python_shows_native_threads(sleeper: subprocess.Popen[str]) -> None:
    with pytest.raises(StacksError) as exc:
        dump(sleeper.pid)
    assert exc.value.reason == "not-python"
    code, out, _ = _cli("stacks", str(sleeper.pid))
    assert code == 0
    assert "TOP FRAME" in out and "(native)" in out and "not a Python process" in out


def test_gone_process() -> None:
    p = subprocess.Popen(["true"])
    p.wait()
    with pytest.raises(StacksError) as exc:
        dump(p.pid)
    assert exc.value.reason == "gone"
    code, out, err = _cli("stacks", str(p.pid))
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1


def test_cli_json_shape(target: subprocess.Popen[str], sleeper: subprocess.Popen[str]) -> None:
    code, out, _ = _cli("stacks", str(target.pid), "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"pid", "elapsed_s", "python", "threads", "error"}
    assert doc["pid"] == target.pid and doc["python"] is True and doc["error"] is None
    names = {t["name"] for t in doc["threads"]}
    assert {"pinned-one", "arith-busy", "gil-hog"} <= names
    t = doc["threads"][0]
    assert {"tid", "name", "last_cpu", "node", "cpu_pct", "owns_gil", "python", "stack"} <= set(t)
    code, out, _ = _cli("stacks", str(sleeper.pid), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["python"] is False and doc["elapsed_s"] is None
    assert "not a Python process" in doc["error"] and doc["threads"][0]["python"] is False
