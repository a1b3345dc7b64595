"""Recordings: Writer → Reader on scripted frames, damage, versions, permissions, redaction."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from numaview.model.frame import Frame
from numaview.record.format import RecordingError, decompress
from numaview.record.reader import Reader
from numaview.record.writer import Writer
from tests.fakefs import FakeProcess, FakeThread
from tests.test_sampler import Rig

SECRET = "--password hunter2-swordfish"


def scripted_frames(root: Path, n: int = 12) -> tuple[Rig, list[Frame]]:
    rig = Rig(root / "machine")
    for i in range(4):
        threads = [FakeThread(tid=500 + i * 10 + k, name=f"w{k}", cpu=k) for k in range(3)]
        rig.fp.add(
            FakeProcess(
                pid=500 + i * 10,
                name=f"svc{i}",
                cmdline=["/opt/svc", SECRET, f"--id={i}"],
                threads=threads,
                affinity=list(range(8)),
            )
        )
    frames = []
    for t in range(n):
        busy = rig.fp.processes[500].threads[t % 3]
        busy.ticks += 40 + t  # one process changes each tick, the others do not
        rig.fp.cpus[t % 32]["user"] += 50
        rig.fp.cpus[t % 32]["idle"] += 50
        frames.append(rig.tick())
    return rig, frames


def record(path: Path, rig: Rig, frames: list[Frame], **kw: object) -> Path:
    with Writer(path, rig.topo, 1.0, {"top_n": 300}, **kw) as w:  # type: ignore[arg-type]
        for f in frames:
            w.add_frame(f)
        w.add_event("mark", frames[-1].mono, {"text": "end"}, when=frames[-1].time)
    return path


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, list[Frame]]:
    rig, frames = scripted_frames(tmp_path, 40)
    # 4 KB pages: a small test file spans many pages, so cuts and flips hit frames
    return record(tmp_path / "r.nvr", rig, frames, keyframe_every=7, page_size=4096), frames


def test_round_trip_gives_identical_frames(made: tuple[Path, list[Frame]]) -> None:
    path, frames = made
    with Reader(path) as r:
        got = list(r)
        assert len(r) == len(frames) == len(got)
        assert [g.to_dict() for g in got] == [f.to_dict() for f in frames]
        assert got == frames
        assert r.first_time == frames[0].time and r.last_time == frames[-1].time
        assert r.meta["format_version"] == "2.1" and r.interval_s == 1.0
        assert r.topology == topology_of(path)
        assert [e.data for e in r.events()] == [{"text": "end"}]


def topology_of(path: Path) -> object:
    import json

    from numaview.model.topology import Topology

    con = sqlite3.connect(path)
    (text,) = con.execute("SELECT value FROM meta WHERE key = 'topology'").fetchone()
    con.close()
    return Topology.from_dict(json.loads(text))


def test_unchanged_rows_are_stored_once(made: tuple[Path, list[Frame]]) -> None:
    path, _frames = made
    con = sqlite3.connect(path)
    blobs = [decompress(b) for (b,) in con.execute("SELECT data FROM frames ORDER BY seq")]
    con.close()
    assert blobs[3].count(b'"name":"svc2"') == 0  # a reference, not a copy
    assert blobs[7].count(b'"name":"svc2"') == 1  # key frame (every 7): stored in full


def test_seek_by_time_and_seq(made: tuple[Path, list[Frame]]) -> None:
    path, frames = made
    with Reader(path) as r:
        for i in (0, 5, 13, 39, 22, 6, 7):  # out of order: no reliance on the last decoded frame
            assert r.frame_at(frames[i].time + 0.5) == frames[i]
            assert r.frame_by_seq(i + 1) == frames[i]
        assert r.frame_at(frames[0].time - 100) == frames[0]
        between = list(r.frames_between(frames[10].time, frames[14].time))
        assert between == frames[10:15]
        with pytest.raises(IndexError):
            r.frame_by_seq(999)


def test_file_is_0600_and_never_overwritten(made: tuple[Path, list[Frame]], tmp_path: Path) -> None:
    path, _ = made
    assert (path.stat().st_mode & 0o777) == 0o600
    rig = Rig(tmp_path / "m2")
    with pytest.raises(RecordingError, match="already exists"):
        Writer(path, rig.topo, 1.0)


def test_redact_leaves_no_command_line_or_user(tmp_path: Path) -> None:
    rig, frames = scripted_frames(tmp_path, 5)
    assert SECRET in (frames[0].process(500) or frames[0].processes[0]).cmdline  # type: ignore[operator]
    path = record(tmp_path / "red.nvr", rig, frames, redact=True)
    raw = path.read_bytes()
    con = sqlite3.connect(path)
    raw += b"".join(decompress(b) for (b,) in con.execute("SELECT data FROM frames"))
    con.close()
    assert b"hunter2" not in raw and b"--id=" not in raw and b'"user":"root"' not in raw
    with Reader(path) as r:
        p = next(iter(r)).process(500)
        assert p is not None and p.cmdline is not None and p.cmdline.startswith("/opt/svc #")
        assert r.meta["redacted"] == "1"


def full_read(path: Path) -> int:
    with Reader(path) as r:
        return sum(1 for _ in r)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_truncated_file_says_where_it_stopped(
    made: tuple[Path, list[Frame]], tmp_path: Path, keep: float
) -> None:
    path, _ = made
    cut = tmp_path / f"cut{keep}.nvr"
    data = path.read_bytes()
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(RecordingError) as exc:
        full_read(cut)
    msg = str(exc.value)
    assert "\n" not in msg and str(cut) in msg
    assert "damaged" in msg or "not a numaview recording" in msg or "header" in msg


def test_flipped_bytes_stop_with_one_line(tmp_path: Path) -> None:
    rig, frames = scripted_frames(tmp_path, 200)
    path = record(tmp_path / "r.nvr", rig, frames, page_size=4096)
    data = bytearray(path.read_bytes())
    mid = len(data) * 2 // 3
    for i in range(mid, mid + 3000):
        data[i] ^= 0x5A
    bad = tmp_path / "flipped.nvr"
    bad.write_bytes(bytes(data))
    with pytest.raises(RecordingError) as exc:
        full_read(bad)
    msg = str(exc.value)
    assert "\n" not in msg and "damaged" in msg
    if "after frame" in msg:
        assert "frames before it are readable" in msg


def set_version(path: Path, version: str) -> None:
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'format_version'", (version,))
    con.close()


def test_newer_major_refused_newer_minor_read(made: tuple[Path, list[Frame]]) -> None:
    path, frames = made
    set_version(path, "2.9")
    assert full_read(path) == len(frames)
    set_version(path, "3.0")
    with pytest.raises(RecordingError, match=r"format 3\.0 is newer"):
        Reader(path)


@pytest.mark.parametrize("content", [b"", b"hello, not sqlite at all\n" * 100, None])
def test_not_a_recording(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "x.nvr"
    if content is None:  # an SQLite file, just not ours
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (x)")
        con.close()
    else:
        path.write_bytes(content)
    with pytest.raises(RecordingError, match="not a numaview recording"):
        Reader(path)
    with pytest.raises(RecordingError, match="no such file"):
        Reader(tmp_path / "missing.nvr")


def test_event_kinds_are_checked(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "m")
    with Writer(tmp_path / "e.nvr", rig.topo, 1.0) as w:
        w.add_event("pin", 1.0, {"pid": 5})
        with pytest.raises(ValueError):
            w.add_event("nonsense", 1.0, {})
    with Reader(tmp_path / "e.nvr") as r:
        assert [e.kind for e in r.events()] == ["pin"] and len(r) == 0
        assert r.frame_at(0.0) is None
    assert os.path.exists(tmp_path / "e.nvr")


def test_both_frame_codecs_decode() -> None:
    """Frames are LZMA2 behind a tag; the first recordings' untagged zlib blobs still read."""
    import zlib

    from numaview.record.format import decode_frame

    raw = b'{"version": 1, "cpus": [], "processes": []}'
    assert decompress(zlib.compress(raw, 6)) == raw
    assert decode_frame(zlib.compress(raw, 6))["version"] == 1


def test_large_frames_take_lzma_and_round_trip() -> None:
    import random

    from numaview.record.format import LZMA_TAG, decode_frame, encode_frame

    rng = random.Random(1)
    d = {
        "version": 1,
        "cpus": [
            {"id": i, "online": True, "busy_pct": round(rng.uniform(0, 100), 1)}
            for i in range(4096)
        ],
        "processes": [],
    }
    blob = encode_frame(d, [])
    assert blob[:1] == LZMA_TAG
    back = decode_frame(blob)
    assert back["cpus"] == d["cpus"] and back["version"] == 1
