"""The load test's sources on the command line: arguments, config file, diagnose, record."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from numaview.cli.parser import build_parser, main
from numaview.linux.fsroot import FsRoot
from numaview.record.reader import Reader
from numaview.workload.hub import Poller, SourceSpec
from tests.test_workload_real import CUSTOM, Load, Server, start_server


@pytest.fixture
def server() -> Iterator[Server]:
    s = start_server(work_ms=2.0)
    yield s
    s.proc.kill()
    s.proc.wait()


def specs(argv: list[str]) -> list[SourceSpec]:
    from numaview.cli.workload_args import workload_specs

    return workload_specs(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--metrics", "ftp://host/metrics"], "not an http:// or https:// URL"),
        (["--metrics", "http://host:99999/metrics"], "bad port"),
        (["--metrics-timeout", "0", "--metrics", "http://h/m"], "--metrics-timeout 0"),
        (["--throughput", "x_total"], "--throughput and --latency name metrics"),
        (["pin", "1", "--cpus", "0", "--measure", "5"], "--measure needs --metrics"),
        (["pin", "1", "--cpus", "0", "--metrics", "http://h/m"], "needs --measure S"),
    ],
)
def test_bad_workload_arguments_are_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_config_file_sources_add_to_the_command_lines(tmp_path: Path) -> None:
    conf = tmp_path / "config.toml"
    conf.write_text(
        'metrics = ["http://127.0.0.1:8000/metrics"]\n'
        "[[workload]]\n"
        'metrics = "http://127.0.0.1:9000/metrics"\n'
        'throughput = "app_requests_total"\n'
        'latency = "app_ms"\nlatency_unit = "ms"\ntimeout = 0.5\n'
        "[[workload]]\n"
        'k6 = "/tmp/k6.json"\n'
    )
    got = specs(["--config", str(conf), "--locust", "/tmp/run"])
    assert [(s.kind, s.target) for s in got] == [
        ("metrics", "http://127.0.0.1:8000/metrics"),
        ("metrics", "http://127.0.0.1:9000/metrics"),
        ("k6", "/tmp/k6.json"),
        ("locust", "/tmp/run"),
    ]
    custom = got[1].custom
    assert custom is not None and custom.latency == "app_ms" and custom.latency_unit == "ms"
    assert got[1].timeout_s == 0.5 and got[0].custom is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics = [", "not valid TOML"),
        ("[[workload]]\nmetrics = 3\n", "names one of metrics, k6 or locust"),
        ('[[workload]]\nk6 = "f"\ntimeout = -1\n', "timeout must be"),
        ('[[workload]]\nmetrics = "http://h/m"\nlatency = "x"\nlatency_unit = "h"\n', "unit"),
    ],
)
def test_a_bad_config_file_is_one_line(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "config.toml"
    conf.write_text(text)
    assert main(["diagnose", "--config", str(conf), "--duration", "0.2"]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_the_xdg_config_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "numaview").mkdir()
    (tmp_path / "numaview" / "config.toml").write_text('metrics = ["http://127.0.0.1:1/m"]\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert [s.target for s in specs([])] == ["http://127.0.0.1:1/m"]


@pytest.mark.real
def test_a_poller_goes_stale_warns_once_and_says_when_it_answers_again(server: Server) -> None:
    now = [100.0]
    spec = SourceSpec("metrics", server.url, CUSTOM, timeout_s=1.0)
    p = Poller(spec, FsRoot("/"), 1.0, clock=lambda: now[0])
    first = p.poll()
    assert first.error is None and first.server == "custom" and first.pid == server.proc.pid
    assert not p.latest(now[0] + 1).stale
    assert p.latest(now[0] + 10).stale  # no read for 10 s: the figures are old
    p.spec = SourceSpec("metrics", f"http://127.0.0.1:{server.port}/fail", CUSTOM, 1.0)
    for _ in range(3):
        now[0] += 1
        bad = p.poll()
    assert bad.error == "HTTP 500 Internal Server Error"
    assert bad.counters == first.counters  # the last good totals, with the error said
    p.spec = spec
    now[0] += 1
    assert p.poll().error is None
    said = p.warnings()
    assert [s for s, _ in said] == ["warning", "information"]
    assert "HTTP 500" in said[0][1] and "answers again" in said[1][1]


@pytest.mark.real
def test_diagnose_reports_the_load_tests_figures(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    load = Load([server], per_server=2)
    try:
        argv = ["diagnose", "--duration", "3", "--interval", "0.5", "--metrics", server.url]
        argv += ["--throughput", "app_requests_total", "--latency", "app_request_seconds"]
        main([*argv, "--json"])
        data = json.loads(capsys.readouterr().out)
        main(argv)
        text = capsys.readouterr().out
    finally:
        load.close()
    (w,) = data["workload"]
    assert w["source"] == server.url and w["server"] == "custom"
    assert w["pid"] == server.proc.pid
    assert w["figures"]["req_s"] > 5
    assert w["figures"]["e2e_p99_s"] is not None
    assert "Load test:" in text and f"custom ({server.url}), pid {server.proc.pid}" in text
    assert "req/s" in text


@pytest.mark.real
def test_record_keeps_the_samples_and_export_prints_them(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.numaview"
    load = Load([server], per_server=2)
    try:
        argv = ["record", "-o", str(out), "--duration", "3", "--interval", "0.5"]
        argv += ["--metrics", server.url, "--throughput", "app_requests_total"]
        assert main(argv) == 0
    finally:
        load.close()
    with Reader(out) as r:
        frames = list(r)
    rates = [w.figures.get("req_s") for f in frames for w in f.workload]
    assert any(v is not None and v > 5 for v in rates), rates
    assert all(w.source == server.url for f in frames for w in f.workload)
    capsys.readouterr()
    assert main(["export", str(out), "--what", "workload"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("time,seq,source,server,pid") and len(lines) > 3


def test_a_k6_file_is_followed_through_the_same_poller(tmp_path: Path) -> None:
    path = tmp_path / "k6.json"
    now = [50.0]
    p = Poller(SourceSpec("k6", str(path)), FsRoot("/"), 1.0, clock=lambda: now[0])
    missing = p.poll()
    assert missing.error is not None and "k6.json" in missing.error

    def points(n: int, ms: float) -> str:
        t = "2026-12-02T10:00:00.000000+00:00"
        reqs = {"type": "Point", "metric": "http_reqs", "data": {"time": t, "value": 1}}
        took = {"type": "Point", "metric": "http_req_duration", "data": {"time": t, "value": ms}}
        return (json.dumps(reqs) + "\n" + json.dumps(took) + "\n") * n

    path.write_text(points(10, 40.0))
    assert p.poll().error is None
    for _ in range(5):  # 20 requests a second for 5 s
        now[0] += 1
        with path.open("a") as f:
            f.write(points(20, 40.0))
        s = p.poll()
    assert s.server == "k6" and s.pid is None
    assert s.figures["req_s"] == pytest.approx(20.0)
    assert s.figures["e2e_p99_s"] == pytest.approx(0.04, rel=0.25)
    assert [w for w, _ in p.warnings()] == ["warning", "information"]
