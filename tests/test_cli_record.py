"""`numaview record` and `numaview export`: the real commands in subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from numaview.cli.record import parse_duration
from numaview.record.reader import Reader
from tests.test_record import record, scripted_frames

TRACEBACK = "Traceback"


def start(out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "numaview", "record", "-o", str(out), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "numaview", *args], capture_output=True, text=True, timeout=60
    )


def wait_for_frames(out: Path, n: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with Reader(out) as r:
                if len(r) >= n:
                    return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{out}: fewer than {n} frames after {timeout} s")


def test_sigkill_loses_at_most_the_last_frame(tmp_path: Path) -> None:
    out = tmp_path / "killed.nvr"
    proc = start(out, "--interval", "0.5")
    wait_for_frames(out, 3)
    time.sleep(1.0)
    proc.kill()
    killed_at = time.time()
    proc.wait(10)
    with Reader(out) as r:
        frames = list(r)  # no RecordingError: every committed frame replays
    assert len(frames) >= 2
    assert killed_at - frames[-1].time < 1.5
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_cleanly_with_a_complete_file(tmp_path: Path, sig: signal.Signals) -> None:
    out = tmp_path / f"{sig.name}.nvr"
    proc = start(out, "--interval", "0.3", "--top", "20")
    wait_for_frames(out, 2)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 0, stderr
    assert stdout == "" and TRACEBACK not in stderr  # a pipe: no progress line
    assert not Path(f"{out}-wal").exists()  # closed: one self-contained file
    assert (out.stat().st_mode & 0o777) == 0o600
    with Reader(out) as r:
        assert len(list(r)) == len(r) >= 2
        assert json.loads(r.meta["options"])["top_n"] == 20


def test_duration_and_refusing_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "short.nvr"
    r = run("record", "-o", str(out), "--interval", "0.2", "--duration", "0.5s")
    assert r.returncode == 0 and r.stdout == "", r.stderr
    with Reader(out) as rec:
        assert 3 <= len(rec) <= 5
    again = run("record", "-o", str(out), "--duration", "1")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    forced = run("record", "-o", str(out), "--force", "--interval", "0.2", "--duration", "0.2")
    assert forced.returncode == 0, forced.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--duration", "5x"],
        ["--duration", "0"],
        ["--interval", "0"],
        ["--top", "-1"],
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    r = run("record", "-o", str(tmp_path / "x.nvr"), *args)
    assert r.returncode == 2 and r.stderr.startswith("numaview: error:"), r.stderr
    assert not (tmp_path / "x.nvr").exists()


def test_cannot_write_exit_1(tmp_path: Path) -> None:
    r = run("record", "-o", str(tmp_path / "no" / "such" / "dir.nvr"), "--duration", "1")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert TRACEBACK not in r.stderr


def test_parse_duration() -> None:
    assert [parse_duration(t) for t in ("90", "90s", "5m", "1.5h", "1d")] == [
        90,
        90,
        300,
        5400,
        86400,
    ]
    for bad in ("", "m", "-1", "1 hour", "0s"):
        with pytest.raises(ValueError):
            parse_duration(bad)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    rig, frames = scripted_frames(tmp, 3)
    return record(tmp / "r.nvr", rig, frames, page_size=4096)


def test_export_csv_shapes(recording: Path) -> None:
    r = run("export", str(recording), "--what", "cpus")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0][:5] == ["time", "seq", "cpu", "online", "busy_pct"]
    assert len(rows) == 1 + 3 * 32
    r = run("export", str(recording), "--what", "processes")
    drows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(drows[0]) == [
        "time",
        "seq",
        "pid",
        "name",
        "cpu_pct",
        "rss_bytes",
        "threads",
        "affinity",
        "nodes_running",
    ]
    assert {row["affinity"] for row in drows if row["pid"] == "500"} == {"0-7"}
    r = run("export", str(recording), "--what", "nodes")
    assert r.stdout.splitlines()[0].startswith("time,seq,node,busy_pct,mem_total_bytes")
    r = run("export", str(recording), "--what", "events")
    assert r.stdout.splitlines() == ["time,mono,kind,data", r.stdout.splitlines()[1]]
    assert r.stdout.splitlines()[1].endswith(',mark,"{""text"":""end""}"')


def test_export_json_lines(recording: Path) -> None:
    r = run("export", str(recording), "--format", "json", "--what", "processes")
    objs = [json.loads(line) for line in r.stdout.splitlines()]
    assert {o["seq"] for o in objs} == {1, 2, 3} and all("pid" in o for o in objs)
    r = run("export", str(recording), "--format", "json", "--what", "events")
    assert json.loads(r.stdout)["data"] == {"text": "end"}


def test_export_damaged_or_foreign_file_one_line(recording: Path, tmp_path: Path) -> None:
    data = recording.read_bytes()
    cut = tmp_path / "cut.nvr"
    cut.write_bytes(data[: len(data) * 2 // 3])
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a recording\n" * 50)
    for path, words in ((cut, "damaged"), (foreign, "not a numaview recording")):
        r = run("export", str(path))
        assert r.returncode == 1 and TRACEBACK not in r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], r.stderr
    assert os.path.exists(recording)


def test_record_never_loads_textual(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from numaview.cli import main\n"
        f"assert main(['record', '-o', {str(tmp_path / 'x.nvr')!r}, '--duration', '0.1']) == 0\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'plotext')]\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
